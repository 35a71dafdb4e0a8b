package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// versionFlag is how every build sets the one version variable.
const versionFlag = "-X github.com/skydeploy/skydeploy/internal/version.Version="

// TestVersionSetAtBuildTime builds the binary the way the Makefile and the Dockerfile do and
// checks that `skydeploy version` shows what the build set; both build files must use the flag.
func TestVersionSetAtBuildTime(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	root, _ := filepath.Abs("../..")
	for _, f := range []string{"Makefile", "Dockerfile"} {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), versionFlag) {
			t.Errorf("%s does not set the version with %q", f, versionFlag)
		}
	}
	bin := filepath.Join(t.TempDir(), "skydeploy")
	build := exec.Command("go", "build", "-ldflags", versionFlag+"v9.8.7-test", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "skydeploy v9.8.7-test" {
		t.Fatalf("skydeploy version = %q, %v", out, err)
	}
}
