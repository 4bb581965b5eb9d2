package interop

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExampleProgram builds cmd/upload and runs it as a user would, against the same server.
func TestExampleProgram(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "upload")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/upload").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	video := filepath.Join(dir, "clip.mp4")
	if err := os.WriteFile(video, sampleMP4(t, 1500*1024, 2000), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-target", target, "-category", "dm_video", video)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("upload: %v\nstderr:\n%s", err, stderr.String())
	}
	if !strings.HasPrefix(string(out), "success=true media_id=") || !strings.Contains(string(out), "processing=PROCESSING_STATE_SUCCEEDED") {
		t.Errorf("stdout %q", out)
	}
	for _, phase := range []string{"UPLOAD_PHASE_UPLOADING", "UPLOAD_PHASE_PROCESSING", "UPLOAD_PHASE_DONE"} {
		if !strings.Contains(stderr.String(), phase) {
			t.Errorf("no %s in the progress output:\n%s", phase, stderr.String())
		}
	}

	bad := exec.Command(bin, "-target", target, "-category", "amplify_video", "-account", "nobody", video)
	if err := bad.Run(); err == nil || bad.ProcessState.ExitCode() != 2 {
		t.Errorf("unknown account: exit %v, want 2", err)
	}
}
