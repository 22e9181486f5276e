package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat. It is 100 on every
// Linux architecture Go supports (the kernel fixes it for user space), and reading it properly
// would need cgo's sysconf.
const clockTicks = 100

// procStat is what the harness reads about one process from /proc.
type procStat struct {
	// Comm is the command name (at most 15 characters).
	Comm string
	PPID int
	// CPUSeconds is user plus system time so far.
	CPUSeconds float64
}

// readProcStat reads /proc/<pid>/stat under root (normally "/proc").
func readProcStat(root string, pid int) (procStat, error) {
	b, err := os.ReadFile(filepath.Join(root, strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, fmt.Errorf("reading stat of pid %d: %w", pid, err)
	}
	return parseProcStat(b)
}

// parseProcStat parses the content of a /proc/<pid>/stat file. The command name is in
// parentheses and may itself hold spaces and parentheses, so fields are counted after the last ')'.
func parseProcStat(b []byte) (procStat, error) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return procStat{}, fmt.Errorf("parsing /proc stat %q: no command name in parentheses", truncateForError(b))
	}
	// After ")": state(3) ppid(4) pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
	// utime(14) stime(15).
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("parsing /proc stat %q: %d fields after the name, want at least 13", truncateForError(b), len(f))
	}
	ppid, err1 := strconv.Atoi(f[1])
	utime, err2 := strconv.ParseUint(f[11], 10, 64)
	stime, err3 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return procStat{}, fmt.Errorf("parsing /proc stat %q: ppid, utime or stime is not a number", truncateForError(b))
	}
	return procStat{
		Comm:       string(b[open+1 : end]),
		PPID:       ppid,
		CPUSeconds: float64(utime+stime) / clockTicks,
	}, nil
}

// readPeakRSS returns VmHWM, the peak resident set size, of pid in bytes.
func readPeakRSS(root string, pid int) (int64, error) {
	f, err := os.Open(filepath.Join(root, strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, fmt.Errorf("reading status of pid %d: %w", pid, err)
	}
	defer f.Close()
	return parsePeakRSS(f)
}

func parsePeakRSS(f io.Reader) (int64, error) {
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("parsing VmHWM %q: want \"<n> kB\"", rest)
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing VmHWM %q: %w", rest, err)
		}
		return kb * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("reading status: %w", err)
	}
	return 0, fmt.Errorf("no VmHWM line in status")
}

// childrenByName returns the pids of parent's child processes whose command name is in names,
// keyed by name (the newest pid wins when several share one).
func childrenByName(root string, parent int, names ...string) map[string]int {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]int{}
	entries, err := os.ReadDir(root)
	if err != nil {
		return out
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readProcStat(root, pid)
		if err != nil || st.PPID != parent || !want[st.Comm] {
			continue
		}
		if pid > out[st.Comm] {
			out[st.Comm] = pid
		}
	}
	return out
}

func truncateForError(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}

// kcmComm is kube-controller-manager's command name in /proc, cut to 15 characters.
const kcmComm = "kube-controller"

// cpuMeter measures the CPU time of the scheduler, kube-apiserver, etcd and any
// kube-controller-manager over a window.
type cpuMeter struct {
	pids  map[string]int
	start map[string]float64
}

type cpuWindow struct {
	sched, schedBefore, apiserver, etcd float64
	// controllerManager is 0 when no kube-controller-manager runs.
	controllerManager float64
}

// newCPUMeter starts measuring. sched may be nil (the ceiling).
func newCPUMeter(sched *schedulerProc) *cpuMeter {
	m := &cpuMeter{pids: childrenByName("/proc", os.Getpid(), "kube-apiserver", "etcd", kcmComm), start: map[string]float64{}}
	if sched != nil {
		m.pids["scheduler"] = sched.pid()
	}
	for name, pid := range m.pids {
		if st, err := readProcStat("/proc", pid); err == nil {
			m.start[name] = st.CPUSeconds
		}
	}
	return m
}

// stop ends the window and returns each process's CPU seconds in it.
func (m *cpuMeter) stop() cpuWindow {
	used := func(name string) float64 {
		pid, ok := m.pids[name]
		if !ok {
			return 0
		}
		st, err := readProcStat("/proc", pid)
		if err != nil {
			return 0
		}
		return st.CPUSeconds - m.start[name]
	}
	return cpuWindow{sched: used("scheduler"), schedBefore: m.start["scheduler"], apiserver: used("kube-apiserver"), etcd: used("etcd"),
		controllerManager: used(kcmComm)}
}
