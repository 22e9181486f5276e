package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// clientLimit is one entry of -client-limits: the client-side QPS and burst both schedulers run
// at in a run. A positive value N gives both qps = burst = N (berth by --kube-api-qps and
// --kube-api-burst, upstream in its config file); defaultFlags gives neither any setting, so both
// run at their built-in defaults (QPS 50, burst 100), as most clusters run them.
type clientLimit int

const (
	// defaultFlags is the entry "default": no client-limit setting at all.
	defaultFlags clientLimit = 0
	// tunedLimit is high enough that the client never throttles; the first goals were set at it,
	// and its rows carry the bare workload name.
	tunedLimit clientLimit = 5000
	// defaultClientLimits is the default of -client-limits.
	defaultClientLimits = "5000,default"
)

// ceilingClientLimit is the QPS and burst of the ceiling's own client. The ceiling runs no
// scheduler, so -client-limits does not apply to it: one ceiling run serves every limit.
const ceilingClientLimit = 5000

// String is the entry as -client-limits spells it: "default" or the number.
func (l clientLimit) String() string {
	if l == defaultFlags {
		return "default"
	}
	return strconv.Itoa(int(l))
}

// parseClientLimits parses the comma-separated entries of -client-limits: each a positive
// integer or "default", none twice, at least one.
func parseClientLimits(s string) ([]clientLimit, error) {
	var out []clientLimit
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		l, err := parseClientLimit(entry)
		if err != nil {
			return nil, err
		}
		if slices.Contains(out, l) {
			return nil, fmt.Errorf("entry %q: listed twice", entry)
		}
		out = append(out, l)
	}
	return out, nil
}

// parseClientLimit parses one entry of -client-limits.
func parseClientLimit(entry string) (clientLimit, error) {
	if entry == "default" {
		return defaultFlags, nil
	}
	n, err := strconv.Atoi(entry)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("entry %q: want a positive integer or default", entry)
	}
	return clientLimit(n), nil
}

// validateClientLimits checks limits as config.validate needs them (the parser already does).
func validateClientLimits(limits []clientLimit) error {
	if len(limits) == 0 {
		return errors.New("-client-limits: none selected")
	}
	for i, l := range limits {
		if l < 0 {
			return fmt.Errorf("-client-limits: %d: must be positive or default", l)
		}
		if slices.Contains(limits[:i], l) {
			return fmt.Errorf("-client-limits: %s listed twice", l)
		}
	}
	return nil
}

// berthArgs are berth's command-line flags for the limit (none for defaultFlags).
func (l clientLimit) berthArgs() []string {
	if l == defaultFlags {
		return nil
	}
	n := strconv.Itoa(int(l))
	return []string{"--kube-api-qps", n, "--kube-api-burst", n}
}

// upstreamLines are the lines of kube-scheduler's clientConnection section for the limit (none
// for defaultFlags), indented to sit under it.
func (l clientLimit) upstreamLines() string {
	if l == defaultFlags {
		return ""
	}
	return fmt.Sprintf("  qps: %d\n  burst: %d\n", l, l)
}

// limitLabel names a report row of workload at limit (as RunResult.ClientLimit spells it): the
// bare workload at the tuned limit or with no limit (the ceiling), with the limit in parentheses
// otherwise.
func limitLabel(workload, limit string) string {
	switch limit {
	case "", tunedLimit.String():
		return workload
	case defaultFlags.String():
		return workload + " (default flags)"
	default:
		return workload + " (QPS/burst " + limit + ")"
	}
}

// limitsPhrase describes the limits of a report (as Settings.ClientLimits spells them) for its
// settings line, with how their rows are labelled.
func limitsPhrase(limits []string) string {
	var parts []string
	for _, l := range limits {
		switch l {
		case defaultFlags.String():
			parts = append(parts, "with no client-limit setting, at their built-in QPS 50 / burst 100 (rows marked *default flags*)")
		case tunedLimit.String():
			parts = append(parts, "with client QPS/burst "+l)
		default:
			parts = append(parts, "with client QPS/burst "+l+" (rows marked *QPS/burst "+l+"*)")
		}
	}
	return "both schedulers " + strings.Join(parts, ", and again ")
}
