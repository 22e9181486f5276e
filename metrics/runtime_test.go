package metrics

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// samples parses exposition text into values keyed by the sample name and
// labels exactly as written, failing on lines it cannot read.
func samples(t *testing.T, text string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for line := range strings.Lines(text) {
		line = strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("sample line without value: %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample line %q: %v", line, err)
		}
		if _, dup := out[line[:i]]; dup {
			t.Fatalf("sample %q written twice", line[:i])
		}
		out[line[:i]] = v
	}
	return out
}

func TestRuntimeMetrics(t *testing.T) {
	reg := NewRegistry()
	reads := 0
	reg.readMemStats = func(m *runtime.MemStats) { reads++; runtime.ReadMemStats(m) }
	if err := reg.RegisterRuntime(); err != nil {
		t.Fatal(err)
	}
	got := samples(t, exposition(t, reg))
	if reads != 1 {
		t.Errorf("runtime.ReadMemStats called %d times in one scrape, want 1", reads)
	}

	positive := func(v float64) bool { return v > 0 }
	nonNegative := func(v float64) bool { return v >= 0 }
	tests := []struct {
		sample string
		ok     func(float64) bool
	}{
		{"go_goroutines", positive},
		{"go_threads", positive},
		{`go_info{version="` + runtime.Version() + `"}`, func(v float64) bool { return v == 1 }},
		{`go_gc_duration_seconds{quantile="0"}`, nonNegative},
		{`go_gc_duration_seconds{quantile="0.5"}`, nonNegative},
		{`go_gc_duration_seconds{quantile="1"}`, nonNegative},
		{"go_gc_duration_seconds_sum", nonNegative},
		{"go_gc_duration_seconds_count", nonNegative},
		{"go_memstats_alloc_bytes", positive},
		{"go_memstats_alloc_bytes_total", positive},
		{"go_memstats_heap_alloc_bytes", positive},
		{"go_memstats_heap_inuse_bytes", positive},
		{"go_memstats_sys_bytes", positive},
		{"go_memstats_mspan_sys_bytes", positive},
		{"go_memstats_gc_sys_bytes", positive},
		{"go_memstats_other_sys_bytes", nonNegative},
		{"go_memstats_last_gc_time_seconds", nonNegative},
	}
	if runtime.GOOS == "linux" {
		now := float64(time.Now().Unix())
		tests = append(tests, []struct {
			sample string
			ok     func(float64) bool
		}{
			{"process_cpu_seconds_total", nonNegative},
			{"process_resident_memory_bytes", func(v float64) bool { return v > 1<<20 && v < got["process_virtual_memory_bytes"] }},
			{"process_virtual_memory_bytes", positive},
			{"process_start_time_seconds", func(v float64) bool { return v > now-24*3600 && v <= now+1 }},
			{"process_open_fds", func(v float64) bool { return v >= 3 && v <= got["process_max_fds"] }},
			{"process_max_fds", positive},
			{"process_virtual_memory_max_bytes", positive},
		}...)
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			v, ok := got[tt.sample]
			if !ok {
				t.Fatalf("sample %s missing", tt.sample)
			}
			if !tt.ok(v) {
				t.Errorf("%s = %v, implausible", tt.sample, v)
			}
		})
	}
}

// writeProcFixture lays out a fake procfs holding the given files.
func writeProcFixture(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, text := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const (
	// Fields 14, 15 (utime, stime) = 250, 50; 22 (starttime) = 1000;
	// 23 (vsize) = 8192000; 24 (rss pages) = 3.
	statFixture   = "42 (odd) name (x)) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 1000 8192000 3 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	limitsFixture = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 1048576              files
Max address space         unlimited            unlimited            bytes
`
	procStatFixture = "cpu  1 2 3 4\nintr 5\nbtime 1700000000\nprocesses 9\n"
	netDevFixture   = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 1000      10    0    0    0     0          0         0     2000      10    0    0    0     0       0          0
  eth0: 30000    300    0    0    0     0          0         0     4000      40    0    0    0     0       0          0
`
)

func TestProcessMetricsFromFixture(t *testing.T) {
	page := float64(os.Getpagesize())
	tests := []struct {
		name    string
		files   map[string]string
		want    map[string]float64
		missing []string
		wantErr string
	}{
		{
			name: "all files present",
			files: map[string]string{
				"self/stat": statFixture, "self/limits": limitsFixture, "stat": procStatFixture,
				"self/fd/0": "", "self/fd/1": "", "self/fd/7": "", "self/net/dev": netDevFixture,
			},
			want: map[string]float64{
				"process_cpu_seconds_total":            3,
				"process_resident_memory_bytes":        3 * page,
				"process_virtual_memory_bytes":         8192000,
				"process_start_time_seconds":           1700000010,
				"process_open_fds":                     3,
				"process_max_fds":                      1024,
				"process_virtual_memory_max_bytes":     unlimited,
				"process_network_receive_bytes_total":  31000,
				"process_network_transmit_bytes_total": 6000,
			},
		},
		{
			name: "network statistics missing",
			files: map[string]string{"self/stat": statFixture, "self/limits": limitsFixture, "stat": procStatFixture,
				"self/fd/0": ""},
			want:    map[string]float64{"process_cpu_seconds_total": 3},
			missing: []string{"process_network_receive_bytes_total", "process_network_transmit_bytes_total"},
			wantErr: "reading network statistics",
		},
		{
			name:    "stat missing: its metrics left out, error reported once",
			files:   map[string]string{"self/limits": limitsFixture, "stat": procStatFixture, "self/fd/0": ""},
			want:    map[string]float64{"process_open_fds": 1, "process_max_fds": 1024},
			missing: []string{"process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes", "process_start_time_seconds"},
			wantErr: "reading process stat",
		},
		{
			name:    "boot time missing",
			files:   map[string]string{"self/stat": statFixture, "self/limits": limitsFixture, "stat": "cpu 1\n", "self/fd/0": ""},
			want:    map[string]float64{"process_cpu_seconds_total": 3},
			missing: []string{"process_start_time_seconds"},
			wantErr: "no btime line",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := NewRegistry()
			reg.procRoot = writeProcFixture(t, tt.files)
			if err := reg.register(processFamilies()...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			err := reg.WritePrometheus(&b)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || strings.Count(err.Error(), tt.wantErr) != 1):
				t.Fatalf("error = %v, want %q exactly once", err, tt.wantErr)
			}
			got := samples(t, b.String())
			for name, want := range tt.want {
				if v, ok := got[name]; !ok || v != want {
					t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
				}
			}
			for _, name := range tt.missing {
				if _, ok := got[name]; ok {
					t.Errorf("%s written although it could not be read", name)
				}
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    procStat
		wantErr string
	}{
		{"command with spaces and parentheses", statFixture, procStat{cpuSeconds: 3, startTicks: 1000, virtualBytes: 8192000, residentBytes: 3 * 4096}, ""},
		{"no closing parenthesis", "42 (cmd S 1 2 3", procStat{}, "no ')'"},
		{"truncated", "42 (cmd) S 1 42 42 0 -1 4194560 100 0 0 0 250 50", procStat{}, "field 22: missing"},
		{"not a number", strings.Replace(statFixture, " 250 ", " x ", 1), procStat{}, "field 14"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat(tt.text, 4096)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    procLimits
		wantErr string
	}{
		{"soft limits", limitsFixture, procLimits{openFiles: 1024, addressSpace: unlimited}, ""},
		{"numeric address space", strings.Replace(limitsFixture, "Max address space         unlimited", "Max address space         4096", 1), procLimits{openFiles: 1024, addressSpace: 4096}, ""},
		{"unlimited open files", strings.Replace(limitsFixture, "1024 ", "unlimited ", 1), procLimits{openFiles: unlimited, addressSpace: unlimited}, ""},
		{"open files missing", "Max address space unlimited unlimited bytes\n", procLimits{}, "found 1"},
		{"garbage value", strings.Replace(limitsFixture, "1024", "lots", 1), procLimits{}, "Max open files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseLimits(tt.text)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRegisterProcessStartTime(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("process metrics are read from /proc")
	}
	reg := NewRegistry()
	if err := reg.RegisterProcessStartTime(); err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	if err := reg.WritePrometheus(&buf); err != nil {
		t.Fatal(err)
	}
	got := samples(t, buf.String())
	if len(got) != 1 || got["process_start_time_seconds"] <= 0 {
		t.Errorf("samples = %v, want process_start_time_seconds alone", got)
	}
	if err := reg.RegisterRuntime(); err == nil {
		t.Error("RegisterRuntime after RegisterProcessStartTime: no error for the taken name")
	}
}

func TestParseNetDev(t *testing.T) {
	header := "Inter-|   Receive  |  Transmit\n face |bytes packets|bytes packets\n"
	tests := []struct {
		name           string
		text           string
		wantRx, wantTx float64
		wantErr        string
	}{
		{"two interfaces summed", netDevFixture, 31000, 6000, ""},
		{"no interfaces", header, 0, 0, ""},
		{"no header", "lo: 1 2 3\n", 0, 0, "no header"},
		{"short line", header + "  eth0: 1 2 3\n", 0, 0, `line 3 ("eth0")`},
		{"not a number", header + "  eth0: x 0 0 0 0 0 0 0 5 0 0 0 0 0 0 0\n", 0, 0, "not numbers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rx, tx, err := parseNetDev(tt.text)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || rx != tt.wantRx || tx != tt.wantTx {
				t.Errorf("= %v, %v, %v; want %v, %v", rx, tx, err, tt.wantRx, tt.wantTx)
			}
		})
	}
}
