package dev.mediagate.example;

import com.google.protobuf.ByteString;
import dev.mediagate.v1.Account;
import dev.mediagate.v1.MediaCategory;
import dev.mediagate.v1.MediaUploadServiceGrpc;
import dev.mediagate.v1.ProcessingState;
import dev.mediagate.v1.UploadProgress;
import dev.mediagate.v1.UploadResult;
import dev.mediagate.v1.UploadSpec;
import dev.mediagate.v1.UploadWithProgressRequest;
import dev.mediagate.v1.UploadWithProgressResponse;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Uploads one file to a mediagate gateway and prints the server's progress events.
 *
 * <p>The smallest complete Java caller of {@code MediaUploadService.UploadWithProgress}: the
 * first request carries the {@link UploadSpec}, the next ones 512 KiB chunks read from disk (the
 * file is never held whole), and progress events arrive while the bytes still flow.
 *
 * <pre>mvn -q exec:java -Dexec.args="--category tweet_image photo.jpg"</pre>
 */
public final class UploadExample {
  private static final int CHUNK = 512 * 1024;

  private UploadExample() {}

  public static void main(String[] args) throws Exception {
    String target = System.getenv().getOrDefault("MEDIAGATE_TARGET", "127.0.0.1:50051");
    String account = "demo";
    String category = "tweet_image";
    String file = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--target" -> target = args[++i];
        case "--account" -> account = args[++i];
        case "--category" -> category = args[++i];
        default -> file = args[i];
      }
    }
    if (file == null) {
      System.err.println("usage: UploadExample [--target HOST:PORT] [--account NAME] [--category C] FILE");
      System.exit(2);
    }
    ManagedChannel channel =
        Grpc.newChannelBuilder(target, InsecureChannelCredentials.create()).build();
    try {
      UploadResult result =
          upload(channel, Path.of(file), parseCategory(category), account, UploadExample::print);
      System.out.printf(
          "success=%s media_id=%s media_type=%s%s%n",
          result.getSuccess(),
          result.getMediaIdString(),
          result.getMediaType(),
          result.getErrorMsg().isEmpty() ? "" : " error=" + result.getErrorMsg());
      System.exit(result.getSuccess() ? 0 : 1);
    } catch (ExecutionException e) {
      Status status = Status.fromThrowable(e.getCause());
      System.err.println("upload: " + status.getCode() + ": " + status.getDescription());
      System.exit(status.getCode() == Status.Code.INVALID_ARGUMENT ? 2 : 1);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** Maps "tweet_image" to MEDIA_CATEGORY_TWEET_IMAGE. */
  public static MediaCategory parseCategory(String name) {
    return MediaCategory.valueOf("MEDIA_CATEGORY_" + name.toUpperCase(Locale.ROOT));
  }

  private static void print(UploadProgress p) {
    StringBuilder line =
        new StringBuilder(
            String.format(
                "%-28s sent %d/%d  acknowledged %d  segments %d/%d",
                p.getPhase(),
                p.getBytesReceived(),
                p.getTotalBytes(),
                p.getBytesAcknowledged(),
                p.getSegmentsDone(),
                p.getSegmentsTotal()));
    if (p.getProcessingState() != ProcessingState.PROCESSING_STATE_UNSPECIFIED) {
      line.append(String.format("  %s %d%%", p.getProcessingState(), p.getProcessingPercent()));
    }
    System.err.println(line);
  }

  /** A callback for progress events. */
  @FunctionalInterface
  public interface ProgressListener {
    void onProgress(UploadProgress progress);
  }

  /**
   * Streams {@code path} as the account named {@code account} and returns the final result;
   * the future fails with the call's {@link io.grpc.StatusRuntimeException}.
   */
  public static UploadResult upload(
      ManagedChannel channel,
      Path path,
      MediaCategory category,
      String account,
      ProgressListener listener)
      throws IOException, InterruptedException, ExecutionException {
    CompletableFuture<UploadResult> done = new CompletableFuture<>();
    Object ready = new Object();
    StreamObserver<UploadWithProgressRequest> requests =
        MediaUploadServiceGrpc.newStub(channel)
            .withDeadlineAfter(10, TimeUnit.MINUTES)
            .uploadWithProgress(
                new ClientResponseObserver<UploadWithProgressRequest, UploadWithProgressResponse>() {
                  @Override
                  public void beforeStart(ClientCallStreamObserver<UploadWithProgressRequest> call) {
                    // Flow control: the sender waits for this instead of buffering the file.
                    call.setOnReadyHandler(
                        () -> {
                          synchronized (ready) {
                            ready.notifyAll();
                          }
                        });
                  }

                  @Override
                  public void onNext(UploadWithProgressResponse event) {
                    if (event.hasProgress()) {
                      listener.onProgress(event.getProgress());
                    } else {
                      done.complete(event.getResult());
                    }
                  }

                  @Override
                  public void onError(Throwable t) {
                    done.completeExceptionally(t);
                  }

                  @Override
                  public void onCompleted() {
                    done.completeExceptionally(new IllegalStateException("no result"));
                  }
                });
    ClientCallStreamObserver<UploadWithProgressRequest> call =
        (ClientCallStreamObserver<UploadWithProgressRequest>) requests;
    UploadSpec spec =
        UploadSpec.newBuilder()
            .setMediaCategory(category)
            .setTotalBytes(Files.size(path))
            .setAccount(Account.newBuilder().setName(account))
            .build();
    requests.onNext(UploadWithProgressRequest.newBuilder().setSpec(spec).build());
    try (InputStream in = Files.newInputStream(path)) {
      byte[] buf = new byte[CHUNK];
      int n;
      while (!done.isDone() && (n = in.readNBytes(buf, 0, CHUNK)) > 0) {
        synchronized (ready) {
          while (!call.isReady() && !done.isDone()) {
            ready.wait(100);
          }
        }
        requests.onNext(
            UploadWithProgressRequest.newBuilder().setChunk(ByteString.copyFrom(buf, 0, n)).build());
      }
    }
    requests.onCompleted();
    return done.get();
  }
}
