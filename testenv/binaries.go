package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Pinned upstream versions. The tools modules under upstream/ require the same versions.
const (
	EtcdVersion       = "v3.6.16"
	KubernetesVersion = "v1.37.2"
)

// CacheEnv names the environment variable that overrides where built upstream binaries are kept.
const CacheEnv = "BERTH_UPSTREAM_CACHE"

// Binaries are the paths of the upstream programs the test control plane runs.
type Binaries struct {
	Etcd, APIServer, Scheduler string
	// ControllerManager is kube-controller-manager, started on demand by StartControllerManager.
	ControllerManager string
}

// CacheDir returns the directory holding built upstream binaries: $BERTH_UPSTREAM_CACHE, or
// berth/upstream under the user cache directory.
func CacheDir() (string, error) {
	if d := os.Getenv(CacheEnv); d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the user cache dir (set %s): %w", CacheEnv, err)
	}
	return filepath.Join(base, "berth", "upstream"), nil
}

// EnsureBinaries returns the upstream binaries, building any that are missing from the Go module
// proxy through the nested tools modules under upstream/ (several minutes on a cold build cache).
// Progress goes to progress. Concurrent callers, in this or other processes, build once: a file
// lock in the cache directory serialises them.
func EnsureBinaries(ctx context.Context, progress io.Writer) (Binaries, error) {
	dir, err := CacheDir()
	if err != nil {
		return Binaries{}, err
	}
	kdir := filepath.Join(dir, "kubernetes-"+KubernetesVersion)
	edir := filepath.Join(dir, "etcd-"+EtcdVersion)
	b := Binaries{
		Etcd:      filepath.Join(edir, "etcd"),
		APIServer: filepath.Join(kdir, "kube-apiserver"),
		Scheduler: filepath.Join(kdir, "kube-scheduler"),

		ControllerManager: filepath.Join(kdir, "kube-controller-manager"),
	}
	if b.present() {
		return b, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Binaries{}, fmt.Errorf("creating upstream cache dir: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, ".lock"), progress)
	if err != nil {
		return Binaries{}, err
	}
	defer unlock()
	if b.present() { // another process built them while we waited
		return b, nil
	}
	root, err := sourceRoot()
	if err != nil {
		return Binaries{}, err
	}
	builds := []struct{ module, pkg, out string }{
		{"upstream/etcd", "go.etcd.io/etcd/server/v3", b.Etcd},
		{"upstream/kube", "k8s.io/kubernetes/cmd/kube-apiserver", b.APIServer},
		{"upstream/kube", "k8s.io/kubernetes/cmd/kube-scheduler", b.Scheduler},
		{"upstream/kube", "k8s.io/kubernetes/cmd/kube-controller-manager", b.ControllerManager},
	}
	for _, bd := range builds {
		if _, err := os.Stat(bd.out); err == nil {
			continue
		}
		if err := buildInto(ctx, filepath.Join(root, bd.module), bd.pkg, bd.out, progress); err != nil {
			return Binaries{}, err
		}
	}
	if !b.present() {
		return Binaries{}, fmt.Errorf("upstream binaries still missing after the build in %s", dir)
	}
	return b, nil
}

func (b Binaries) present() bool {
	for _, p := range []string{b.Etcd, b.APIServer, b.Scheduler, b.ControllerManager} {
		if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// buildInto builds pkg of the module in modDir into a temporary file, then renames it to out, so
// a killed build never leaves a half-written binary behind.
func buildInto(ctx context.Context, modDir, pkg, out string, progress io.Writer) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Dir(out), err)
	}
	tmp := out + ".building"
	defer os.Remove(tmp)
	fmt.Fprintf(progress, "testenv: building %s from the Go module proxy (first time: minutes on 2 cores)...\n", pkg)
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", tmp, pkg)
	cmd.Dir = modDir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	cmd.Stdout, cmd.Stderr = progress, progress
	done := make(chan struct{})
	defer close(done)
	go func() { // a heartbeat so a newcomer knows the build is alive
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(progress, "testenv: still building (%s)...\n", time.Since(start).Round(time.Second))
			}
		}
	}()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s in %s: %w", pkg, modDir, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("installing %s: %w", out, err)
	}
	fmt.Fprintf(progress, "testenv: built %s in %s\n", filepath.Base(out), time.Since(start).Round(time.Second))
	return nil
}

// lockFile takes an exclusive flock on path, waiting (and saying so) while another process holds it.
func lockFile(ctx context.Context, path string, progress io.Writer) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening lock %s: %w", path, err)
	}
	said := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if !said {
			fmt.Fprintln(progress, "testenv: waiting for another process building the upstream binaries...")
			said = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// sourceRoot finds the berth source tree (the directory holding upstream/kube/go.mod) by walking up
// from the working directory, which go test sets to the package directory.
func sourceRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("getting working dir: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "upstream", "kube", "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("upstream binaries are missing and no berth source tree (upstream/kube/go.mod) is above the working directory to build them from")
		}
		dir = parent
	}
}
