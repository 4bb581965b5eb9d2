package dev.mediagate.interop;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The real mediagate server (the Python gateway with its embedded X emulator) as a subprocess on
 * a free port, found through the repository's virtualenv, so the Java stubs are tested against
 * exactly what users run.
 */
final class GatewayServer implements AutoCloseable {
  private static final Pattern SERVING = Pattern.compile("serving gRPC on (\\S+)");

  final String target;
  final Path log;
  private final Process process;

  private GatewayServer(Process process, String target, Path log) {
    this.process = process;
    this.target = target;
    this.log = log;
  }

  static GatewayServer start() throws IOException, InterruptedException {
    Path python = python();
    Path log = Files.createTempFile("mediagate-java-interop-", ".log");
    ProcessBuilder builder =
        new ProcessBuilder(
                python.toString(), "-m", "mediagate", "serve",
                "--listen", "127.0.0.1:0",
                "--emulator-processing-seconds", "0.3",
                "--min-poll-interval-s", "0.05",
                "--log-format", "console")
            // Logs go to a file: an unread pipe would stall the server.
            .redirectError(log.toFile());
    // Its other listeners on free ports too, so it never collides with another server.
    builder.environment().put("MEDIAGATE_METRICS_LISTEN", "127.0.0.1:0");
    builder.environment().put("MEDIAGATE_ONEBOT_LISTEN", "127.0.0.1:0");
    Process process = builder.start();
    CompletableFuture<String> target = new CompletableFuture<>();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader out =
                  new BufferedReader(
                      new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = out.readLine()) != null) {
                  Matcher m = SERVING.matcher(line);
                  if (m.find()) {
                    target.complete(m.group(1));
                  }
                }
              } catch (IOException e) {
                target.completeExceptionally(e);
              }
              target.completeExceptionally(new IllegalStateException("server exited before serving"));
            },
            "mediagate-stdout");
    reader.setDaemon(true);
    reader.start();
    try {
      return new GatewayServer(process, target.get(60, TimeUnit.SECONDS), log);
    } catch (Exception e) {
      process.destroyForcibly();
      throw new IllegalStateException(
          "mediagate did not start: " + e + "\nserver log:\n" + Files.readString(log), e);
    }
  }

  /** MEDIAGATE_PYTHON, else the repository's .venv (made by `make venv`). */
  private static Path python() {
    String override = System.getenv("MEDIAGATE_PYTHON");
    if (override != null && !override.isEmpty()) {
      return Path.of(override);
    }
    Path repo = Path.of(System.getProperty("mediagate.repo", "../..")).toAbsolutePath().normalize();
    Path python = repo.resolve(".venv/bin/python");
    if (!Files.isExecutable(python)) {
      throw new IllegalStateException(
          "no Python virtualenv at " + python + ": run `make venv` in " + repo
              + " first (or set MEDIAGATE_PYTHON to a python that has mediagate installed)");
    }
    return python;
  }

  String serverLog() throws IOException {
    return Files.readString(log);
  }

  @Override
  public void close() throws Exception {
    process.destroy();
    if (!process.waitFor(15, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
    }
    Files.deleteIfExists(log);
  }
}
