package metrics

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// userHZ is the unit of the CPU and start times in /proc/<pid>/stat. The
// kernel reports them in USER_HZ, which is 100 on every Linux architecture
// Go supports.
const userHZ = 100

// unlimited is what a limit of "unlimited" is reported as, as Prometheus'
// client does.
const unlimited = float64(math.MaxUint64)

// procReader reads the current process's metrics from a procfs at root.
type procReader struct{ root string }

// procStat holds the fields of /proc/self/stat we expose.
type procStat struct {
	cpuSeconds    float64 // user + system time
	startTicks    float64 // start time in USER_HZ ticks after boot
	virtualBytes  float64
	residentBytes float64
}

// procLimits holds the soft limits of /proc/self/limits we expose.
type procLimits struct {
	openFiles    float64
	addressSpace float64
}

// processFamilies returns the process_* families.
func processFamilies() []*family {
	stat := func(get func(procStat) float64) func(*scrape) (float64, error) {
		return func(s *scrape) (float64, error) {
			st, err := s.procStat()
			return get(st), err
		}
	}
	limit := func(get func(procLimits) float64) func(*scrape) (float64, error) {
		return func(s *scrape) (float64, error) {
			l, err := s.procLimits()
			return get(l), err
		}
	}
	return []*family{
		valueFamily("process_cpu_seconds_total", "User and system CPU time spent, in seconds.", kindCounter,
			stat(func(st procStat) float64 { return st.cpuSeconds })),
		valueFamily("process_resident_memory_bytes", "Resident memory size, in bytes.", kindGauge,
			stat(func(st procStat) float64 { return st.residentBytes })),
		valueFamily("process_virtual_memory_bytes", "Virtual memory size, in bytes.", kindGauge,
			stat(func(st procStat) float64 { return st.virtualBytes })),
		valueFamily("process_start_time_seconds", "Start time of the process, in seconds since the Unix epoch.", kindGauge,
			func(s *scrape) (float64, error) {
				st, err := s.procStat()
				if err != nil {
					return 0, err
				}
				boot, err := s.proc.bootTime()
				return boot + st.startTicks/userHZ, err
			}),
		valueFamily("process_open_fds", "Number of open file descriptors.", kindGauge,
			func(s *scrape) (float64, error) { return s.proc.openFDs() }),
		valueFamily("process_max_fds", "Maximum number of open file descriptors (soft limit).", kindGauge,
			limit(func(l procLimits) float64 { return l.openFiles })),
		valueFamily("process_virtual_memory_max_bytes", "Maximum virtual memory size, in bytes (soft limit).", kindGauge,
			limit(func(l procLimits) float64 { return l.addressSpace })),
		valueFamily("process_network_receive_bytes_total", "Number of bytes received by the process over the network.", kindCounter,
			func(s *scrape) (float64, error) { rx, _, err := s.netDev(); return rx, err }),
		valueFamily("process_network_transmit_bytes_total", "Number of bytes sent by the process over the network.", kindCounter,
			func(s *scrape) (float64, error) { _, tx, err := s.netDev(); return tx, err }),
	}
}

// netDev reads /proc/self/net/dev on first use in this scrape.
func (s *scrape) netDev() (rx, tx float64, err error) {
	if !s.netDone {
		s.rx, s.tx, s.netErr = s.proc.netDev()
		s.netDone = true
	}
	return s.rx, s.tx, s.netErr
}

// netDev sums the bytes received and sent over every interface of the process's network
// namespace, as Prometheus' process collector does.
func (p procReader) netDev() (rx, tx float64, err error) {
	data, err := os.ReadFile(filepath.Join(p.root, "self", "net", "dev"))
	if err != nil {
		return 0, 0, fmt.Errorf("reading network statistics: %w", err)
	}
	rx, tx, err = parseNetDev(string(data))
	if err != nil {
		return 0, 0, fmt.Errorf("reading network statistics: %w", err)
	}
	return rx, tx, nil
}

// parseNetDev parses /proc/<pid>/net/dev: two header lines, then "iface: " and 16 counters per
// interface, of which the 1st is the bytes received and the 9th the bytes sent.
func parseNetDev(text string) (rx, tx float64, err error) {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) < 2 || !strings.Contains(lines[1], "|") {
		return 0, 0, fmt.Errorf("no header")
	}
	for i, line := range lines[2:] {
		iface, counters, ok := strings.Cut(line, ":")
		fields := strings.Fields(counters)
		if !ok || len(fields) < 16 {
			return 0, 0, fmt.Errorf("line %d (%q): want an interface and 16 counters", i+3, strings.TrimSpace(iface))
		}
		r, err1 := strconv.ParseUint(fields[0], 10, 64)
		t, err2 := strconv.ParseUint(fields[8], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, 0, fmt.Errorf("line %d (%q): bytes are not numbers", i+3, strings.TrimSpace(iface))
		}
		rx += float64(r)
		tx += float64(t)
	}
	return rx, tx, nil
}

// procStat reads /proc/self/stat on first use in this scrape.
func (s *scrape) procStat() (procStat, error) {
	if !s.statDone {
		s.stat, s.statErr = s.proc.stat()
		s.statDone = true
	}
	return s.stat, s.statErr
}

// procLimits reads /proc/self/limits on first use in this scrape.
func (s *scrape) procLimits() (procLimits, error) {
	if !s.limitsDone {
		s.limits, s.limitsErr = s.proc.limits()
		s.limitsDone = true
	}
	return s.limits, s.limitsErr
}

func (p procReader) stat() (procStat, error) {
	data, err := os.ReadFile(filepath.Join(p.root, "self", "stat"))
	if err != nil {
		return procStat{}, fmt.Errorf("reading process stat: %w", err)
	}
	st, err := parseStat(string(data), os.Getpagesize())
	if err != nil {
		return procStat{}, fmt.Errorf("reading process stat: %w", err)
	}
	return st, nil
}

func (p procReader) limits() (procLimits, error) {
	data, err := os.ReadFile(filepath.Join(p.root, "self", "limits"))
	if err != nil {
		return procLimits{}, fmt.Errorf("reading process limits: %w", err)
	}
	l, err := parseLimits(string(data))
	if err != nil {
		return procLimits{}, fmt.Errorf("reading process limits: %w", err)
	}
	return l, nil
}

// bootTime returns the system boot time in seconds since the Unix epoch.
func (p procReader) bootTime() (float64, error) {
	data, err := os.ReadFile(filepath.Join(p.root, "stat"))
	if err != nil {
		return 0, fmt.Errorf("reading boot time: %w", err)
	}
	bt, err := parseBootTime(string(data))
	if err != nil {
		return 0, fmt.Errorf("reading boot time: %w", err)
	}
	return bt, nil
}

// openFDs counts the entries of /proc/self/fd (including the one used to
// read it).
func (p procReader) openFDs() (float64, error) {
	dir, err := os.Open(filepath.Join(p.root, "self", "fd"))
	if err != nil {
		return 0, fmt.Errorf("counting open fds: %w", err)
	}
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return 0, fmt.Errorf("counting open fds: %w", err)
	}
	return float64(len(names)), nil
}

// parseStat parses the text of /proc/<pid>/stat. The command name (field
// 2) is in parentheses and may itself contain spaces and parentheses, so
// fields are counted from the last ')'.
func parseStat(text string, pageSize int) (procStat, error) {
	end := strings.LastIndexByte(text, ')')
	if end < 0 {
		return procStat{}, fmt.Errorf("no ')' after the command name")
	}
	// fields[0] is field 3 of proc(5), so field n is fields[n-3].
	fields := strings.Fields(text[end+1:])
	num := func(n int) (float64, error) {
		if n-3 >= len(fields) {
			return 0, fmt.Errorf("field %d: missing, line has %d fields", n, len(fields)+2)
		}
		v, err := strconv.ParseInt(fields[n-3], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("field %d: %w", n, err)
		}
		return float64(v), nil
	}
	var st procStat
	var utime, stime, rssPages float64
	for _, f := range []struct {
		n   int
		dst *float64
	}{{14, &utime}, {15, &stime}, {22, &st.startTicks}, {23, &st.virtualBytes}, {24, &rssPages}} {
		v, err := num(f.n)
		if err != nil {
			return procStat{}, err
		}
		*f.dst = v
	}
	st.cpuSeconds = (utime + stime) / userHZ
	st.residentBytes = rssPages * float64(pageSize)
	return st, nil
}

// parseBootTime finds the "btime" line of /proc/stat.
func parseBootTime(text string) (float64, error) {
	for line := range strings.Lines(text) {
		rest, ok := strings.CutPrefix(line, "btime ")
		if !ok {
			continue
		}
		v, err := strconv.ParseUint(strings.TrimSpace(rest), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("btime: %w", err)
		}
		return float64(v), nil
	}
	return 0, fmt.Errorf("no btime line")
}

// parseLimits reads the soft limits on open files and address space from
// the text of /proc/<pid>/limits.
func parseLimits(text string) (procLimits, error) {
	var l procLimits
	found := 0
	for line := range strings.Lines(text) {
		var dst *float64
		var rest string
		if r, ok := strings.CutPrefix(line, "Max open files "); ok {
			dst, rest = &l.openFiles, r
		} else if r, ok := strings.CutPrefix(line, "Max address space "); ok {
			dst, rest = &l.addressSpace, r
		} else {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return procLimits{}, fmt.Errorf("line %q: no soft limit", strings.TrimSpace(line))
		}
		if fields[0] == "unlimited" {
			*dst = unlimited
		} else {
			v, err := strconv.ParseUint(fields[0], 10, 64)
			if err != nil {
				return procLimits{}, fmt.Errorf("line %q: %w", strings.TrimSpace(line), err)
			}
			*dst = float64(v)
		}
		found++
	}
	if found != 2 {
		return procLimits{}, fmt.Errorf("want lines for max open files and max address space, found %d", found)
	}
	return l, nil
}
