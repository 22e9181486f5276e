package testenv

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MetricSum adds up the samples of metric name in a Prometheus text exposition whose label set
// contains every one of labels (each written as in the exposition, like `result="ok"`); found is
// false when no sample matches. A name that merely starts another metric's name does not match.
func MetricSum(text, name string, labels ...string) (sum float64, found bool, err error) {
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		i := strings.LastIndexByte(rest, ' ')
		if i < 0 {
			continue
		}
		set := rest[:i]
		match := true
		for _, l := range labels {
			match = match && strings.Contains(set, l)
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(rest[i+1:], 64)
		if err != nil {
			return 0, false, fmt.Errorf("metric %s: parsing %q: %w", name, line, err)
		}
		sum += v
		found = true
	}
	return sum, found, nil
}

// MedianDuration returns the median of ds (the mean of the middle two for an even count),
// rounded to the millisecond; 0 when ds is empty.
func MedianDuration(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2].Round(time.Millisecond)
	}
	return ((s[len(s)/2-1] + s[len(s)/2]) / 2).Round(time.Millisecond)
}

// FormatDurations writes ds rounded to the millisecond, as "[1.2s 850ms]".
func FormatDurations(ds []time.Duration) string {
	s := make([]string, 0, len(ds))
	for _, d := range ds {
		s = append(s, d.Round(time.Millisecond).String())
	}
	return "[" + strings.Join(s, " ") + "]"
}
