package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/berth-scheduler/berth/testenv"
)

// Machine describes where the benchmark ran.
type Machine struct {
	Cores       int     `json:"cores"`
	CPUModel    string  `json:"cpuModel,omitempty"`
	MemoryBytes int64   `json:"memoryBytes"`
	Kernel      string  `json:"kernel,omitempty"`
	LoadStart   float64 `json:"loadAverageStart"` // 1-minute load average when the benchmark began
	LoadEnd     float64 `json:"loadAverageEnd"`
}

// Versions are the programs compared.
type Versions struct {
	Berth         string `json:"berth"`
	KubeScheduler string `json:"kubeScheduler"`
	KubeAPIServer string `json:"kubeApiserver"`
	Etcd          string `json:"etcd"`
	Go            string `json:"go"`
}

func readMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), LoadStart: loadAverage()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b))
	}
	m.CPUModel = firstField("/proc/cpuinfo", "model name")
	if kb := firstField("/proc/meminfo", "MemTotal"); kb != "" {
		n, _ := strconv.ParseInt(strings.TrimSuffix(kb, " kB"), 10, 64)
		m.MemoryBytes = n * 1024
	}
	return m
}

// firstField returns the value of the first "key: value" line for key in file, or "".
func firstField(file, key string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// loadAverage returns the 1-minute load average, or -1 when unknown.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// readVersions asks both schedulers for their versions. The control plane's kube-scheduler is
// built from the module proxy without version stamping (it reports v0.0.0-master), so when
// pinned is set its pinned version is reported instead.
func readVersions(ctx context.Context, berth, upstream string, pinned bool) Versions {
	ks := testenv.KubernetesVersion + " (testenv build)"
	if !pinned {
		ks = versionOf(ctx, upstream)
	}
	return Versions{
		Berth:         versionOf(ctx, berth),
		KubeScheduler: ks,
		KubeAPIServer: testenv.KubernetesVersion,
		Etcd:          testenv.EtcdVersion,
		Go:            runtime.Version(),
	}
}

// versionOf runs "bin --version" and returns its first line.
func versionOf(ctx context.Context, bin string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	b, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return line
}
