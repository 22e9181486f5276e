package chaos

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTallyBindings checks the audit log reading on a hand-written log: answered and unanswered
// requests paired by audit ID, a line cut short by a kill, and the exactly-once verdicts.
func TestTallyBindings(t *testing.T) {
	const ns = "n"
	line := func(id, stage, pod string, code int) string {
		status := ""
		if code != 0 {
			status = `,"responseStatus":{"code":` + strconv.Itoa(code) + `}`
		}
		return `{"auditID":"` + id + `","stage":"` + stage + `","user":{"username":"system:kube-scheduler","groups":["chaos:replica-1"]},` +
			`"objectRef":{"resource":"pods","namespace":"` + ns + `","name":"` + pod + `","subresource":"binding"}` + status +
			`,"requestReceivedTimestamp":"2026-01-01T00:00:0` + id + `.000000Z","stageTimestamp":"2026-01-01T00:00:0` + id + `.500000Z"}`
	}
	log := strings.Join([]string{
		line("1", "RequestReceived", "once", 0), line("1", "ResponseComplete", "once", 201),
		line("2", "RequestReceived", "unanswered", 0), // the API server died before answering
		line("3", "RequestReceived", "retried", 0), line("3", "ResponseComplete", "retried", 500),
		line("4", "RequestReceived", "retried", 0), line("4", "ResponseComplete", "retried", 201),
		line("5", "ResponseComplete", "twice", 201), line("6", "ResponseComplete", "twice", 201),
		line("7", "ResponseComplete", "stray", 201),
		`{"auditID":"8","stage":"Respo`, // cut short by SIGKILL
	}, "\n")
	path := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(path, []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	b := tallyBindings(readAudit(t, path), ns)
	if got, want := b.codeSummary(), "201×5 500×1 unanswered×1"; got != want {
		t.Errorf("codeSummary = %q, want %q", got, want)
	}
	if got := b.successes(); got != 5 {
		t.Errorf("successes = %d, want 5", got)
	}
	problems, unanswered := b.once([]string{"once", "unanswered", "retried", "twice", "missing"})
	if !slices.Equal(unanswered, []string{"unanswered"}) {
		t.Errorf("bound by an unanswered binding: %v, want [unanswered]", unanswered)
	}
	wantProblems := []string{"pod twice bound 2 times", "pod missing: no successful binding", "pod stray should not have been bound"}
	if len(problems) != len(wantProblems) {
		t.Fatalf("problems %q, want %d like %q", problems, len(wantProblems), wantProblems)
	}
	for i, w := range wantProblems {
		if !strings.HasPrefix(problems[i], w) {
			t.Errorf("problem %d = %q, want it to start with %q", i, problems[i], w)
		}
	}
}

// TestLongestGap checks the gap measure on bindings at known times.
func TestLongestGap(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return base.Add(time.Duration(s * float64(time.Second))) }
	tally := func(secs ...float64) bindingTally {
		b := bindingTally{ok: map[string][]auditEvent{}}
		for i, s := range secs {
			b.ok[strconv.Itoa(i)] = []auditEvent{{Completed: at(s)}}
		}
		return b
	}
	for _, tc := range []struct {
		name       string
		bindings   []float64
		from, to   float64
		gap, began float64
	}{
		{name: "none: the whole window", from: 0, to: 10, gap: 10, began: 0},
		{name: "before the first", bindings: []float64{4, 5, 6}, from: 0, to: 10, gap: 4, began: 0},
		{name: "in the middle", bindings: []float64{1, 2, 8, 9}, from: 0, to: 10, gap: 6, began: 2},
		{name: "until the window's end", bindings: []float64{1, 2}, from: 0, to: 10, gap: 8, began: 2},
		{name: "past the window's end", bindings: []float64{1, 2, 15}, from: 0, to: 10, gap: 13, began: 2},
		{name: "gaps beginning after the window ignored", bindings: []float64{1, 11, 30}, from: 0, to: 10, gap: 10, began: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gap, began := tally(tc.bindings...).longestGap(at(tc.from), at(tc.to))
			if want := at(tc.gap).Sub(base); gap != want || !began.Equal(at(tc.began)) {
				t.Errorf("longestGap = %s from %s, want %s from %s", gap, began.Sub(base), want, at(tc.began).Sub(base))
			}
		})
	}
}
