// Package deploy_test checks the three ways operators run berth (container image, systemd unit,
// static pod) and the one build definition they share, from the files in this directory, the
// Dockerfile and the Makefile, and from the binary `make build` produces. The sd_notify exchange
// with systemd is tested end to end in deploy/systemd.
package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// repoRoot is the module root, relative to this package's directory (where go test runs).
const repoRoot = ".."

// The version and commit stamped into the release binary the tests build.
const (
	stampVersion = "v9.8.7-deploytest"
	stampCommit  = "0badc0de"
)

var release struct {
	once sync.Once
	dir  string
	path string
	out  string
	err  error
}

// releaseBinary builds berth once per test binary with `make build`, exactly as the README and
// the Dockerfile do, into a temp dir, and returns its path.
func releaseBinary(t *testing.T) string {
	t.Helper()
	release.once.Do(func() {
		release.dir, release.err = os.MkdirTemp("", "berth-release-")
		if release.err != nil {
			return
		}
		release.path = filepath.Join(release.dir, "berth")
		cmd := exec.Command("make", "--no-print-directory", "build",
			"BIN="+release.path, "VERSION="+stampVersion, "COMMIT="+stampCommit)
		cmd.Dir = repoRoot
		b, err := cmd.CombinedOutput()
		release.out, release.err = string(b), err
	})
	if release.err != nil {
		t.Fatalf("make build: %v\n%s", release.err, release.out)
	}
	return release.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if release.dir != "" {
		os.RemoveAll(release.dir)
	}
	os.Exit(code)
}

// readRepoFile returns a file of the repository as text.
func readRepoFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// goDirective returns the Go version go.mod declares, as major.minor ("1.26").
func goDirective(t *testing.T) string {
	t.Helper()
	for _, line := range strings.Split(readRepoFile(t, "go.mod"), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go "); ok {
			parts := strings.SplitN(v, ".", 3)
			if len(parts) >= 2 {
				return parts[0] + "." + parts[1]
			}
		}
	}
	t.Fatal("go.mod has no go directive")
	return ""
}
