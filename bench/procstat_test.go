package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    procStat
		wantErr string
	}{
		{name: "plain", in: "42 (etcd) S 7 42 42 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 12 0 1 2 3",
			want: procStat{Comm: "etcd", PPID: 7, CPUSeconds: 4}},
		{name: "name with spaces and parentheses", in: "9 (a b) (c)) R 1 9 9 0 -1 0 0 0 0 0 1 2 0 0",
			want: procStat{Comm: "a b) (c)", PPID: 1, CPUSeconds: 0.03}},
		{name: "no name", in: "9 etcd S 1", wantErr: "no command name"},
		{name: "too short", in: "9 (etcd) S 1 2 3", wantErr: "fields after the name"},
		{name: "not a number", in: "9 (etcd) S 1 9 9 0 -1 0 0 0 0 0 x 2 0 0", wantErr: "not a number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseProcStat([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Comm != tc.want.Comm || got.PPID != tc.want.PPID || abs(got.CPUSeconds-tc.want.CPUSeconds) > 1e-9 {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func TestParsePeakRSS(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int64
		wantErr string
	}{
		{name: "present", in: "Name:\tberth\nVmPeak:\t  900 kB\nVmHWM:\t   2048 kB\nVmRSS:\t 1000 kB\n", want: 2048 * 1024},
		{name: "missing", in: "Name:\tberth\n", wantErr: "no VmHWM"},
		{name: "odd unit", in: "VmHWM:\t 12 MB\n", wantErr: "want"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parsePeakRSS(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

// TestOwnProcess reads this test process from the real /proc.
func TestOwnProcess(t *testing.T) {
	st, err := readProcStat("/proc", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.PPID != os.Getppid() {
		t.Errorf("ppid %d, want %d", st.PPID, os.Getppid())
	}
	rss, err := readPeakRSS("/proc", os.Getpid())
	if err != nil || rss <= 0 {
		t.Errorf("peak RSS %d, %v", rss, err)
	}
}

func TestChildrenByName(t *testing.T) {
	root := t.TempDir()
	write := func(pid, stat string) {
		if err := os.MkdirAll(filepath.Join(root, pid), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, pid, "stat"), []byte(stat), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tail := " 0 0 0 -1 0 0 0 0 0 1 1 0 0"
	write("10", "10 (etcd) S 5"+tail)
	write("11", "11 (kube-apiserver) S 5"+tail)
	write("12", "12 (etcd) S 6"+tail)           // another parent's
	write("13", "13 (bash) S 5"+tail)           // not asked for
	write("14", "14 (kube-apiserver) S 5"+tail) // the newer of two
	if err := os.MkdirAll(filepath.Join(root, "self"), 0o755); err != nil {
		t.Fatal(err)
	}
	got := childrenByName(root, 5, "etcd", "kube-apiserver")
	if len(got) != 2 || got["etcd"] != 10 || got["kube-apiserver"] != 14 {
		t.Fatalf("got %v, want etcd 10 and kube-apiserver 14", got)
	}
}
