package config

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-scheduler/berth/testenv"
)

// The parity tests run upstream kube-scheduler v1.37.2 --write-config-to on every file under
// testdata/parity: the files in accept/ must be written identically (after normalising key
// order) by berth, the files in refuse/ must be refused by both. "@KUBECONFIG@" in a file
// stands for a kubeconfig the test writes (upstream reads it before writing the configuration).

// writeConfigArgs are the flags both schedulers get: no serving, and an API server address so
// that upstream builds its client without a kubeconfig (it never connects).
var writeConfigArgs = []string{"--secure-port=0", "--master=https://127.0.0.1:1"}

// parityCase is one input file, ready to use.
type parityCase struct {
	name, path string
	accept     bool
}

// upstreamResult is what upstream did with one input.
type upstreamResult struct {
	ok     bool
	output []byte // the written configuration when ok, its stderr otherwise
}

var upstreamCache struct {
	sync.Mutex
	results map[string]upstreamResult
}

func TestParityWithUpstream(t *testing.T) {
	bin := upstreamScheduler(t)
	for _, tc := range parityCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			up := runUpstream(t, bin, tc)
			cfg, err := Load(tc.path)
			switch {
			case tc.accept && !up.ok:
				t.Fatalf("upstream refused an accept/ case:\n%s", up.output)
			case !tc.accept && up.ok:
				t.Fatalf("upstream accepted a refuse/ case")
			case tc.accept && err != nil:
				t.Fatalf("berth refused what upstream accepts: %v", err)
			case !tc.accept && err == nil:
				t.Fatalf("berth accepted what upstream refuses:\n%s", up.output)
			case !tc.accept:
				checkError(t, err, tc.path)
				return
			}
			compareWritten(t, written(t, cfg), up.output)
		})
	}
}

// TestParityBerthBinary runs the berth binary itself with --config and --write-config-to.
func TestParityBerthBinary(t *testing.T) {
	bin := upstreamScheduler(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	berth, err := testenv.BuildBerth(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range parityCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			up := runUpstream(t, bin, tc)
			ok, out := writeConfig(t, berth, tc.path)
			switch {
			case ok != tc.accept || up.ok != tc.accept:
				t.Fatalf("accepted: berth %v, upstream %v, want %v\nberth: %s\nupstream: %s", ok, up.ok, tc.accept, out, up.output)
			case !tc.accept:
				if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); !strings.Contains(lines[len(lines)-1], tc.path) {
					t.Errorf("berth's last line does not name the file:\n%s", out)
				}
				return
			}
			compareWritten(t, out, up.output)
		})
	}
}

func compareWritten(t *testing.T, got, want []byte) {
	t.Helper()
	if !reflect.DeepEqual(normalised(t, got), normalised(t, want)) {
		t.Errorf("berth wrote:\n%s\nupstream wrote:\n%s", got, want)
	}
}

// upstreamScheduler returns upstream kube-scheduler's path, building it if needed.
func upstreamScheduler(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs upstream kube-scheduler")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	bins, err := testenv.EnsureBinaries(ctx, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	return bins.Scheduler
}

// parityCases copies the testdata files into a temp dir with @KUBECONFIG@ replaced.
func parityCases(t *testing.T) []parityCase {
	t.Helper()
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(dummyKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	var cases []parityCase
	for _, kind := range []string{"accept", "refuse"} {
		files, err := filepath.Glob(filepath.Join("testdata", "parity", kind, "*"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no parity cases in testdata/parity/%s: %v", kind, err)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			name := kind + "/" + filepath.Base(f)
			path := filepath.Join(dir, kind+"-"+filepath.Base(f))
			data = bytes.ReplaceAll(data, []byte("@KUBECONFIG@"), []byte(kubeconfig))
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			cases = append(cases, parityCase{name: name, path: path, accept: kind == "accept"})
		}
	}
	return cases
}

// runUpstream runs upstream on tc once per test binary; later calls reuse the result.
func runUpstream(t *testing.T, bin string, tc parityCase) upstreamResult {
	t.Helper()
	upstreamCache.Lock()
	defer upstreamCache.Unlock()
	if r, ok := upstreamCache.results[tc.path]; ok {
		return r
	}
	ok, out := writeConfig(t, bin, tc.path)
	if upstreamCache.results == nil {
		upstreamCache.results = map[string]upstreamResult{}
	}
	upstreamCache.results[tc.path] = upstreamResult{ok: ok, output: out}
	return upstreamCache.results[tc.path]
}

// writeConfig runs bin --config path --write-config-to and returns whether it succeeded with
// the written file, or its output when it failed.
func writeConfig(t *testing.T, bin, path string) (bool, []byte) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "written.yaml")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--config", path, "--write-config-to", out}, writeConfigArgs...)...)
	combined, err := cmd.CombinedOutput()
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("%s: want exit 0 or 1, got %v\n%s", filepath.Base(bin), err, combined)
		}
		return false, combined
	}
	written, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("%s exited 0 without writing the configuration: %v\n%s", filepath.Base(bin), err, combined)
	}
	return true, written
}

const dummyKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u
  user: {token: unused}
contexts:
- name: c
  context: {cluster: c, user: u}
current-context: c
`
