package metrics

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ContentType is the media type of what WritePrometheus writes.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// series is one time series of a family as read at scrape time.
type series struct {
	labelValues []string // in the family's declaration order
	value       float64  // counters and gauges
	// points are (le, cumulative count) for a histogram, without +Inf,
	// and (quantile, value) for a summary.
	points []point
	count  uint64 // histograms and summaries
	sum    float64
}

type point struct{ at, value float64 }

// WritePrometheus writes every registered family that has at least one
// series in the Prometheus text format, version 0.0.4: families sorted by
// name, each with its # HELP (if help is not empty) and # TYPE lines, its
// series sorted by label values, labels written sorted by name.
//
// Each family is read, then written with one call to w. If w fails,
// writing stops and the error is returned. If reading a family fails (only
// process metrics can), that family is left out, the rest is still
// written, and the errors are returned joined: the output is valid but
// incomplete. Safe to call concurrently.
func (r *Registry) WritePrometheus(w io.Writer) error {
	sc := r.newScrape()
	var (
		collectErr error
		buf        []series
		text       []byte
	)
	for _, f := range r.sortedFamilies() {
		var err error
		buf, err = f.collect(sc, buf[:0])
		if err != nil {
			if !errors.Is(collectErr, err) {
				collectErr = errors.Join(collectErr, fmt.Errorf("reading metric %s: %w", f.name, err))
			}
			continue
		}
		if len(buf) == 0 {
			continue
		}
		buf = sortSeries(f.labels, buf)
		text = appendFamily(text[:0], f, buf)
		if _, err := w.Write(text); err != nil {
			return errors.Join(fmt.Errorf("writing metric %s: %w", f.name, err), collectErr)
		}
	}
	return collectErr
}

// sortSeries orders ss by label values, compared in written (name) order,
// and drops all but the first of series with equal label values.
func sortSeries(ls labelSet, ss []series) []series {
	compare := func(a, b series) int {
		for _, i := range ls.order {
			if c := strings.Compare(a.labelValues[i], b.labelValues[i]); c != 0 {
				return c
			}
		}
		return 0
	}
	slices.SortStableFunc(ss, compare)
	return slices.CompactFunc(ss, func(a, b series) bool { return compare(a, b) == 0 })
}

// appendFamily appends the text form of family f with series ss.
func appendFamily(b []byte, f *family, ss []series) []byte {
	if f.help != "" {
		b = append(b, "# HELP "...)
		b = append(b, f.name...)
		b = append(b, ' ')
		b = appendEscaped(b, f.help, false)
		b = append(b, '\n')
	}
	b = append(b, "# TYPE "...)
	b = append(b, f.name...)
	b = append(b, ' ')
	b = append(b, f.kind.String()...)
	b = append(b, '\n')
	for _, s := range ss {
		switch f.kind {
		case kindHistogram:
			for _, p := range s.points {
				b = appendSample(b, f.name, "_bucket", f.labels, s.labelValues, "le", p.at, p.value)
			}
			b = appendSample(b, f.name, "_bucket", f.labels, s.labelValues, "le", math.Inf(1), float64(s.count))
		case kindSummary:
			for _, p := range s.points {
				b = appendSample(b, f.name, "", f.labels, s.labelValues, "quantile", p.at, p.value)
			}
		default:
			b = appendSample(b, f.name, "", f.labels, s.labelValues, "", 0, s.value)
			continue
		}
		b = appendSample(b, f.name, "_sum", f.labels, s.labelValues, "", 0, s.sum)
		b = appendSample(b, f.name, "_count", f.labels, s.labelValues, "", 0, float64(s.count))
	}
	return b
}

// appendSample appends one sample line. extra, if not empty, is a last
// label (le or quantile) whose value is the number extraAt.
func appendSample(b []byte, name, suffix string, ls labelSet, values []string, extra string, extraAt, v float64) []byte {
	b = append(b, name...)
	b = append(b, suffix...)
	if len(values) > 0 || extra != "" {
		b = append(b, '{')
		for n, i := range ls.order {
			if n > 0 {
				b = append(b, ',')
			}
			b = append(b, ls.names[i]...)
			b = append(b, `="`...)
			b = appendEscaped(b, values[i], true)
			b = append(b, '"')
		}
		if extra != "" {
			if len(values) > 0 {
				b = append(b, ',')
			}
			b = append(b, extra...)
			b = append(b, `="`...)
			b = appendFloat(b, extraAt)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	b = append(b, ' ')
	b = appendFloat(b, v)
	return append(b, '\n')
}

// appendEscaped appends s with backslash and newline escaped, and double
// quotes too in label values.
func appendEscaped(b []byte, s string, quote bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && quote:
			b = append(b, `\"`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendFloat appends f as Prometheus writes sample values: +Inf, -Inf and
// NaN by name, whole numbers that a float64 holds exactly (up to 2^53)
// without exponent or fraction, anything else in the shortest form that
// reads back to the same float64.
func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "+Inf"...)
	case math.IsInf(f, -1):
		return append(b, "-Inf"...)
	case f == 0:
		return append(b, '0') // also -0
	case f == math.Trunc(f) && math.Abs(f) <= 1<<53:
		return strconv.AppendInt(b, int64(f), 10)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}
