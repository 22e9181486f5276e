package chaos

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// auditPolicy makes the API server log every pods/binding create and every create or update of
// a Lease in kube-system, when received and when answered: who sent it (user, groups, user
// agent), when it arrived and completed (microseconds, the host's clock), and the answer's code.
// A request received but never answered was in flight when the API server was killed.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: Metadata
  verbs: ["create"]
  resources:
  - group: ""
    resources: ["pods/binding"]
- level: Metadata
  verbs: ["create", "update"]
  namespaces: ["kube-system"]
  resources:
  - group: "coordination.k8s.io"
    resources: ["leases"]
- level: None
`

// auditEvent is the part of an audit.k8s.io/v1 Event the checks read.
type auditEvent struct {
	AuditID string `json:"auditID"`
	Stage   string `json:"stage"`
	User    struct {
		Username string   `json:"username"`
		Groups   []string `json:"groups"`
	} `json:"user"`
	UserAgent string `json:"userAgent"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	Received  time.Time `json:"requestReceivedTimestamp"`
	Completed time.Time `json:"stageTimestamp"`
}

func (e auditEvent) code() int {
	if e.ResponseStatus == nil {
		return 0
	}
	return e.ResponseStatus.Code
}

// isBinding reports whether e is a pods/binding create.
func (e auditEvent) isBinding() bool {
	return e.ObjectRef != nil && e.ObjectRef.Resource == "pods" && e.ObjectRef.Subresource == "binding"
}

// isLeaseWrite reports whether e is a successful write of the Lease kube-system/name.
func (e auditEvent) isLeaseWrite(name string) bool {
	return e.ObjectRef != nil && e.ObjectRef.Resource == "leases" && e.ObjectRef.Name == name &&
		(e.code() == 200 || e.code() == 201)
}

// group returns the first of the sender's groups starting with prefix, or "".
func (e auditEvent) group(prefix string) string {
	for _, g := range e.User.Groups {
		if strings.HasPrefix(g, prefix) {
			return g
		}
	}
	return ""
}

// unanswered reports whether e is a request the API server received but never answered (it was
// killed meanwhile).
func (e auditEvent) unanswered() bool { return e.Stage == "RequestReceived" }

// readAudit reads the audit log at path: one event per request, ordered by arrival, the answered
// ones at their final stage and the unanswered ones at RequestReceived.
func readAudit(t *testing.T, path string) []auditEvent {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("reading the audit log: %v", err)
	}
	defer f.Close()
	var out []auditEvent
	received := map[string]auditEvent{} // by audit ID, until answered
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		var e auditEvent
		if err := json.Unmarshal(line, &e); err != nil {
			// A SIGKILLed API server can leave its last line cut short.
			t.Logf("skipping an unreadable audit line (%v): %.200s", err, line)
			continue
		}
		switch e.Stage {
		case "RequestReceived":
			received[e.AuditID] = e
		case "ResponseComplete", "Panic":
			delete(received, e.AuditID)
			out = append(out, e)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading the audit log: %v", err)
	}
	for _, e := range received {
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Received.Before(out[j].Received) })
	return out
}

// bindingTally is what the audit log says of the bindings of one namespace.
type bindingTally struct {
	ok         map[string][]auditEvent // pod name → bindings answered 201 Created
	refused    map[string][]auditEvent // pod name → bindings answered otherwise
	unanswered map[string][]auditEvent // pod name → bindings in flight when the API server died
	codes      map[int]int             // answer code → count, over every answered binding
}

// tallyBindings sorts the bindings of namespace ns in events by pod and answer.
func tallyBindings(events []auditEvent, ns string) bindingTally {
	b := bindingTally{ok: map[string][]auditEvent{}, refused: map[string][]auditEvent{},
		unanswered: map[string][]auditEvent{}, codes: map[int]int{}}
	for _, e := range events {
		if !e.isBinding() || e.ObjectRef.Namespace != ns {
			continue
		}
		if e.unanswered() {
			b.unanswered[e.ObjectRef.Name] = append(b.unanswered[e.ObjectRef.Name], e)
			continue
		}
		b.codes[e.code()]++
		if e.code() == 201 {
			b.ok[e.ObjectRef.Name] = append(b.ok[e.ObjectRef.Name], e)
		} else {
			b.refused[e.ObjectRef.Name] = append(b.refused[e.ObjectRef.Name], e)
		}
	}
	return b
}

// successes counts the bindings answered 201.
func (b bindingTally) successes() int {
	n := 0
	for _, es := range b.ok {
		n += len(es)
	}
	return n
}

// checkOnce fails the test with every problem once finds, logs the pods bound by an unanswered
// binding, and returns how many there are.
func (b bindingTally) checkOnce(t *testing.T, names []string) (boundUnanswered int) {
	t.Helper()
	problems, unanswered := b.once(names)
	for _, p := range problems {
		t.Error(p)
	}
	for _, n := range unanswered {
		t.Logf("pod %s was bound by a binding the killed API server never answered: %s", n, describe(b.unanswered[n]))
	}
	return len(unanswered)
}

// once checks that every pod in names has exactly one successful binding, and that no pod outside
// names has any. The caller has seen every pod in names bound in the API: a pod with no answered
// binding but one in flight when the API server was killed was bound by that one, and is
// returned in boundUnanswered rather than as a problem.
func (b bindingTally) once(names []string) (problems, boundUnanswered []string) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
		switch es := b.ok[n]; {
		case len(es) == 1:
		case len(es) > 1:
			problems = append(problems, fmt.Sprintf("pod %s bound %d times: %s", n, len(es), describe(es)))
		case len(b.unanswered[n]) > 0:
			boundUnanswered = append(boundUnanswered, n)
		default:
			problems = append(problems, fmt.Sprintf("pod %s: no successful binding in the audit log", n))
		}
	}
	for _, n := range slices.Sorted(maps.Keys(b.ok)) {
		if !want[n] {
			problems = append(problems, fmt.Sprintf("pod %s should not have been bound, was: %s", n, describe(b.ok[n])))
		}
	}
	return problems, boundUnanswered
}

// firstAfter returns the first successful binding in b received at or after since, from a sender
// not in group ("" excludes none).
func (b bindingTally) firstAfter(since time.Time, group string) (auditEvent, bool) {
	var first auditEvent
	found := false
	for _, es := range b.ok {
		for _, e := range es {
			if group != "" && slices.Contains(e.User.Groups, group) {
				continue
			}
			if !e.Received.Before(since) && (!found || e.Completed.Before(first.Completed)) {
				first, found = e, true
			}
		}
	}
	return first, found
}

// longestGap returns the longest time without a successful binding completing among the gaps
// that begin in [from, to) (a gap ends at the next binding, if need be after to), and when it
// began.
func (b bindingTally) longestGap(from, to time.Time) (gap time.Duration, at time.Time) {
	var times []time.Time
	for _, es := range b.ok {
		for _, e := range es {
			if e.Completed.After(from) {
				times = append(times, e.Completed)
			}
		}
	}
	slices.SortFunc(times, time.Time.Compare)
	prev := from
	for _, t := range append(times, to) {
		if t.Sub(prev) > gap {
			gap, at = t.Sub(prev), prev
		}
		if !t.Before(to) {
			break
		}
		prev = t
	}
	return gap, at
}

// codeSummary is b.codes as "201×400 409×2".
func (b bindingTally) codeSummary() string {
	codes := make([]int, 0, len(b.codes))
	for c := range b.codes {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var s []string
	for _, c := range codes {
		s = append(s, fmt.Sprintf("%d×%d", c, b.codes[c]))
	}
	n := 0
	for _, es := range b.unanswered {
		n += len(es)
	}
	if n > 0 {
		s = append(s, fmt.Sprintf("unanswered×%d", n))
	}
	return strings.Join(s, " ")
}

func describe(es []auditEvent) string {
	var s []string
	for _, e := range es {
		answer := strconv.Itoa(e.code())
		if e.unanswered() {
			answer = "unanswered"
		}
		s = append(s, fmt.Sprintf("[%s %s by %s %v %q]", e.Received.Format("15:04:05.000000"), answer,
			e.User.Username, e.User.Groups, e.UserAgent))
	}
	return strings.Join(s, " ")
}
