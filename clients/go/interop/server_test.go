// Package interop tests the generated Go stubs against the real mediagate server: the Python
// gateway with its embedded X emulator, started as a subprocess on a free port.
package interop

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

var serving = regexp.MustCompile(`serving gRPC on (\S+)`)

// conn is the channel every test uses; TestMain opens it to the server it started at target.
var (
	conn   *grpc.ClientConn
	target string
)

func TestMain(m *testing.M) {
	os.Exit(runWithServer(m))
}

func runWithServer(m *testing.M) int {
	python, err := venvPython()
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	logs, err := os.CreateTemp("", "mediagate-go-interop-*.log")
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	defer os.Remove(logs.Name())
	cmd := exec.Command(python, "-m", "mediagate", "serve",
		"--listen", "127.0.0.1:0",
		"--emulator-port", "0",
		"--emulator-processing-seconds", "0.3",
		"--min-poll-interval-s", "0.05",
		"--log-format", "console")
	cmd.Stderr = logs // logs go to a file: an unread pipe would stall the server
	// Its other listeners on free ports too, so it never collides with another server.
	cmd.Env = append(os.Environ(), "MEDIAGATE_METRICS_LISTEN=127.0.0.1:0", "MEDIAGATE_ONEBOT_LISTEN=127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "interop: starting the server:", err)
		return 1
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	target, err = waitServing(stdout, 60*time.Second)
	if err != nil {
		log, _ := os.ReadFile(logs.Name())
		fmt.Fprintf(os.Stderr, "interop: %v\nserver log:\n%s\n", err, log)
		return 1
	}
	conn, err = grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	defer conn.Close()
	code := m.Run()
	if code != 0 {
		log, _ := os.ReadFile(logs.Name())
		fmt.Fprintf(os.Stderr, "server log:\n%s\n", log)
	}
	return code
}

// venvPython finds the repository's virtualenv (made by `make venv`) from this directory, or
// takes MEDIAGATE_PYTHON.
func venvPython() (string, error) {
	if p := os.Getenv("MEDIAGATE_PYTHON"); p != "" {
		return p, nil
	}
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, ".venv", "bin", "python")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no Python virtualenv at %s: run `make venv` in %s first "+
			"(or set MEDIAGATE_PYTHON to a python that has mediagate installed)", p, root)
	}
	return p, nil
}

// waitServing reads the server's stdout until it prints the address it serves on.
func waitServing(stdout io.Reader, limit time.Duration) (string, error) {
	found := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			if m := serving.FindStringSubmatch(scanner.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		close(found)
		_, _ = io.Copy(io.Discard, stdout) // keep draining so the server never blocks on stdout
	}()
	select {
	case target, ok := <-found:
		if !ok {
			return "", fmt.Errorf("the server exited before serving")
		}
		return target, nil
	case <-time.After(limit):
		return "", fmt.Errorf("the server did not print %q within %s", "serving gRPC on", limit)
	}
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
