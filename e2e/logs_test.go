package e2e

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// TestJSONLogs runs berth and upstream kube-scheduler side by side with --logging-format=json
// -v=2, on a lease timing short enough to lose the lease in seconds. It compares their lines for
// the lease acquisition, a bound pod and a pod that fits nowhere (as compareLogs does in klog's
// text format, plus JSON's header keys and how values are rendered); then it takes both Leases
// away and compares what each logs from noticing the loss to exiting, and how it exits.
func TestJSONLogs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin := kubernetes.NewForConfigOrDie(cp.Admin)
	pair := startSideBySide(ctx, t, admin, "lj", "--logging-format=json", "-v=2")
	scheduleSomePods(ctx, t, admin, pair.berthProfile, pair.upstreamProfile)
	t.Run("lines", func(t *testing.T) { compareLogs(t, pair) })
	t.Run("leader loss", func(t *testing.T) { compareLeaderLoss(ctx, t, admin, pair) })
}

// shortLease is the leader election timing of the schedulers compareLeaderLoss deposes: upstream
// notices only at its renew deadline after the thief's first write, so keep that short.
var shortLease = []string{"leaseDuration: 6s", "renewDeadline: 4s", "retryPeriod: 1s"}

// parseLog parses one log line in either of kube-scheduler's formats: klog's text, or a JSON
// object. It returns false if the line has neither shape.
func parseLog(line string) (logRecord, bool) {
	if strings.HasPrefix(line, "{") {
		return parseJSONLog(line)
	}
	return parseKlog(line)
}

// klogLine is klog's text header and the quoted message: severity, date, time, pid, file:line.
var klogLine = regexp.MustCompile(`^([IWEF])(\d{4}) (\d{2}:\d{2}:\d{2}\.\d{6}) +(\d+) ([^ :]+\.go):(\d+)\] "((?:[^"\\]|\\.)*)"(.*)$`)

// klogPlainLine is klog's text header and a message written printf-style (Infof): unquoted, no keys.
var klogPlainLine = regexp.MustCompile(`^([IWEF])\d{4} \d{2}:\d{2}:\d{2}\.\d{6} +\d+ [^ :]+\.go:\d+\] ([^"].*)$`)

// logRecord is one log line: its message and its keys, in order. In text the keys are those after
// the message and the values are as written (strings quoted); in JSON the keys are all the
// object's, header keys (ts, caller, msg, v) included, and the values are raw JSON.
type logRecord struct {
	severity, msg string // severity is I, W, E or F in text; E (no "v") or I in JSON
	json          bool
	keys          []string
	values        map[string]string
}

// parseKlog parses one klog text line, or returns false if it does not have klog's shape.
func parseKlog(line string) (logRecord, bool) {
	m := klogLine.FindStringSubmatch(line)
	if m == nil {
		if m = klogPlainLine.FindStringSubmatch(line); m != nil {
			return logRecord{severity: m[1], msg: m[2], values: map[string]string{}}, true
		}
		return logRecord{}, false
	}
	r := logRecord{severity: m[1], msg: m[7], values: map[string]string{}}
	rest := m[8]
	for rest = strings.TrimLeft(rest, " "); rest != ""; rest = strings.TrimLeft(rest, " ") {
		k, v, ok := strings.Cut(rest, "=")
		if !ok || strings.ContainsAny(k, ` "`) {
			return logRecord{}, false
		}
		end := strings.IndexByte(v, ' ')
		if strings.HasPrefix(v, `"`) {
			end = 1
			for end < len(v) && v[end] != '"' {
				if v[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(v) {
				return logRecord{}, false
			}
			end++
		}
		if end < 0 {
			end = len(v)
		}
		r.keys = append(r.keys, k)
		r.values[k] = v[:end]
		rest = v[end:]
	}
	return r, true
}

// parseJSONLog parses one JSON log line, keeping the order of its keys.
func parseJSONLog(line string) (logRecord, bool) {
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return logRecord{}, false
	}
	r := logRecord{json: true, values: map[string]string{}}
	for dec.More() {
		tok, err := dec.Token()
		k, ok := tok.(string)
		var v json.RawMessage
		if err != nil || !ok || dec.Decode(&v) != nil {
			return logRecord{}, false
		}
		r.keys = append(r.keys, k)
		r.values[k] = string(v)
	}
	if err := json.Unmarshal([]byte(r.values["msg"]), &r.msg); err != nil {
		return logRecord{}, false
	}
	r.severity = "I"
	if _, ok := r.values["v"]; !ok {
		r.severity = "E"
	}
	return r, true
}

// mentions reports whether a logged value names the object called name: as "namespace/name" in
// text or in a JSON string, or as {"name":name,...} in JSON.
func mentions(value, name string) bool {
	return strings.HasSuffix(value, "/"+name+`"`) || strings.Contains(value, `"name":"`+name+`"`)
}

// findLog returns the first line of output with message msg whose value of key mentions name,
// parsed.
func findLog(t *testing.T, output, msg, key, name string) (logRecord, string) {
	t.Helper()
	for line := range strings.Lines(output) {
		line = strings.TrimRight(line, "\n")
		if !strings.Contains(line, `"`+msg+`"`) {
			continue
		}
		r, ok := parseLog(line)
		if !ok {
			t.Errorf("line is neither in klog's text format nor JSON: %s", line)
			continue
		}
		if r.msg == msg && mentions(r.values[key], name) {
			return r, line
		}
	}
	return logRecord{}, ""
}

// berthOnlyLogKeys are keys berth's lines carry beyond upstream's, keyed "message/key", with the
// reason.
var berthOnlyLogKeys = map[string]string{
	"Attempting to acquire leader lease.../identity": "the replica's Lease holder identity, logged once (the failover and chaos tests read it there); upstream's line has the lock only",
}

// compareLogs checks that berth and upstream, both at -v=2 and in the same format, logged the
// lease acquisition, the bound pod and the pod that fits nowhere (as scheduleSomePods created
// them) alike (see compareRecords).
func compareLogs(t *testing.T, p *sideBySide) {
	berth, upstream, berthProfile, upstreamProfile := p.berth, p.upstream, p.berthProfile, p.upstreamProfile
	tests := []struct{ msg, key, berth, upstream string }{
		{msg: "Attempting to acquire leader lease...", key: "lock", berth: "kube-scheduler", upstream: "kube-scheduler"},
		{msg: "Successfully acquired lease", key: "lock", berth: "kube-scheduler", upstream: "kube-scheduler"},
		{msg: "Successfully bound pod to node", key: "pod", berth: berthProfile + "-0", upstream: upstreamProfile + "-0"},
		{msg: "Unable to schedule pod; no fit; waiting", key: "pod", berth: berthProfile + "-3", upstream: upstreamProfile + "-3"},
	}
	for _, tc := range tests {
		t.Run(tc.msg, func(t *testing.T) {
			g, gl := findLog(t, berth.Output(), tc.msg, tc.key, tc.berth)
			w, wl := findLog(t, upstream.Output(), tc.msg, tc.key, tc.upstream)
			if wl == "" {
				t.Fatalf("upstream kube-scheduler logged no %q for %s", tc.msg, tc.upstream)
			}
			if gl == "" {
				t.Fatalf("berth logged no %q for %s; upstream:\n%s", tc.msg, tc.berth, wl)
			}
			// Node counts differ when one scheduler's informer has not seen the newest nodes yet.
			compareRecords(t, g, w, gl, wl, func(s string) string {
				return digits.ReplaceAllString(strings.ReplaceAll(strings.ReplaceAll(s, berthProfile, ""), upstreamProfile, ""), "N")
			})
		})
	}
}

// digits are the numbers in a message.
var digits = regexp.MustCompile(`[0-9]+`)

// jsonCaller is how zap's short caller encoder writes the caller: directory/file.go:line.
var jsonCaller = regexp.MustCompile(`^"[\w.-]+/[\w.-]+\.go:\d+"$`)

// compareRecords checks that berth's record g has upstream's w's severity and keys, in the same
// order (but for berthOnlyLogKeys); that their err values match once normalize has removed what
// names each side's objects; and in JSON, that both have the same v, a ts in epoch milliseconds,
// a caller as "dir/file.go:line", and values of the same JSON shape (see jsonShape).
func compareRecords(t *testing.T, g, w logRecord, gl, wl string, normalize func(string) string) {
	t.Helper()
	keys := slices.DeleteFunc(slices.Clone(g.keys), func(k string) bool { return berthOnlyLogKeys[g.msg+"/"+k] != "" })
	if g.severity != w.severity || g.json != w.json || !slices.Equal(keys, w.keys) {
		t.Errorf("berth's line and upstream's differ in severity or keys:\nberth:    %s\nupstream: %s", gl, wl)
	}
	if ge, we := g.values["err"], w.values["err"]; we != "" && ge != we && normalize(ge) != normalize(we) {
		t.Errorf("err: berth %s, upstream %s", ge, we)
	}
	if !w.json {
		return
	}
	if g.values["v"] != w.values["v"] {
		t.Errorf("v: berth %s, upstream %s", g.values["v"], w.values["v"])
	}
	for who, r := range map[string]logRecord{"berth": g, "upstream": w} {
		ts, err := strconv.ParseFloat(r.values["ts"], 64)
		if since := time.Since(time.UnixMicro(int64(ts * 1000))); err != nil || since < 0 || since > 5*time.Minute {
			t.Errorf("%s's ts %s is not a recent time in epoch milliseconds (%v)", who, r.values["ts"], err)
		}
		if !jsonCaller.MatchString(r.values["caller"]) {
			t.Errorf("%s's caller %s is not \"dir/file.go:line\"", who, r.values["caller"])
		}
	}
	for _, k := range w.keys {
		if gs, ws := jsonShape(g.values[k]), jsonShape(w.values[k]); gs != ws {
			t.Errorf("%s: berth's value %s is a %s, upstream's %s a %s", k, g.values[k], gs, w.values[k], ws)
		}
	}
}

// jsonShape describes a raw JSON value by its kind, and an object by its keys too, as in
// "object{name namespace}".
func jsonShape(raw string) string {
	var x any
	if err := json.Unmarshal([]byte(raw), &x); err != nil {
		return "invalid"
	}
	switch x := x.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range x {
				if !yield(k) {
					return
				}
			}
		})
		return "object{" + strings.Join(keys, " ") + "}"
	}
	return "unknown"
}

// upstreamOnlyLossLines are lines upstream kube-scheduler writes between losing its lease and
// exiting that berth does not, each with the reason; an entry ending in "*" covers every message
// starting with the rest.
var upstreamOnlyLossLines = map[string]string{
	// Upstream polls the Lease until its renew deadline; berth stops at the first renewal that
	// finds another holder.
	"Error retrieving lease lock": "upstream's last poll, cut off by its renew deadline (\"rate: Wait(n=1) would exceed context deadline\"); berth gave up at the read that found another holder",
	// kube-scheduler tears its process down before it exits; berth stays up (lossExitException).
	"Scheduling queue is closed":                                 "upstream closes its queue as the process ends; berth's loop stops (\"scheduling loop stopped\") and its queue waits for the next term",
	"[graceful-termination] secure server has stopped listening": "berth keeps serving as a candidate",
	"[graceful-termination] secure server is exiting":            "berth keeps serving as a candidate",
	"Stopped listening on *":                                     "berth keeps serving as a candidate",
	"Shutting down DynamicServingCertificateController":          "berth keeps serving as a candidate",
	"Shutting down RequestHeaderAuthRequestController":           "berth keeps serving as a candidate; it has no such controller",
	"Shutting down controller":                                   "the client-CA controllers of k8s.io/apiserver's delegated authentication, stopping with upstream's process; berth has none",
	// Not about the lease: logged every few seconds while this control plane serves no
	// requestheader CA bundle, so some fall into the window.
	"Unhandled Error": "k8s.io/apiserver's client-CA controller finding no requestheader CA in kube-system/extension-apiserver-authentication (this test cluster has none); berth's delegated authentication does not log it",
}

// lossExitException is why berth, unlike kube-scheduler (exit code 1), does not exit when it
// loses its lease: checked as such, so that the test fails if either side changes.
const lossExitException = "a berth leader that loses its lease stops scheduling at once and campaigns again as a candidate (README, Leader election); kube-scheduler exits 1 and relies on a restart"

// compareLeaderLoss takes both schedulers' Leases away by writing another holder into them and
// renewing it, then checks that every line upstream writes from then until it exits, but for
// upstreamOnlyLossLines, berth writes too, in the same order and alike (compareRecords); that
// upstream logs "Leaderelection lost" and exits 1; and that berth, by lossExitException, stays up
// and campaigns again.
func compareLeaderLoss(ctx context.Context, t *testing.T, admin kubernetes.Interface, p *sideBySide) {
	berth, upstream := p.berth, p.upstream
	berthMark, upstreamMark := len(berth.Output()), len(upstream.Output())
	stop := holdLeases(ctx, t, admin, "lease-thief", p.berthLease, p.upstreamLease)
	defer stop()

	code, err := upstream.ExitCode(45 * time.Second)
	if err != nil {
		t.Fatalf("upstream kube-scheduler did not exit after losing its lease: %v", err)
	}
	if code != 1 {
		t.Errorf("upstream kube-scheduler exited %d after losing its lease, the test expects 1: fix the test", code)
	}
	want := lossRecords(t, upstream.Output()[upstreamMark:])
	// Upstream's teardown lines come from several goroutines, in any order around this one.
	if !slices.ContainsFunc(want, func(r lossRecord) bool { return r.rec.msg == "Leaderelection lost" }) {
		t.Fatalf("upstream did not log \"Leaderelection lost\" before exiting:\n%s", upstream.Output()[upstreamMark:])
	}
	// berth has noticed its loss by now (it reacts within a retry period, upstream only after
	// the renew deadline); it must campaign again and stay up.
	deadline := time.Now().Add(15 * time.Second)
	var got []lossRecord
	for {
		got = lossRecords(t, berth.Output()[berthMark:])
		if slices.ContainsFunc(got, func(r lossRecord) bool { return r.rec.msg == "Attempting to acquire leader lease..." }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("berth did not campaign again after losing its lease (%s):\n%s", lossExitException, berth.Output()[berthMark:])
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !berth.Alive() {
		t.Errorf("berth exited after losing its lease; the test expects it to stay up: %s", lossExitException)
	}

	next := 0
	for _, w := range want {
		if allowedReason(upstreamOnlyLossLines, w.rec.msg) != "" {
			continue
		}
		i := slices.IndexFunc(got[next:], func(r lossRecord) bool { return r.rec.msg == w.rec.msg })
		if i < 0 {
			t.Errorf("berth logged no %q after losing its lease (after its line %d); upstream:\n%s\nberth's lines:\n%s",
				w.rec.msg, next, w.line, berth.Output()[berthMark:])
			continue
		}
		g := got[next+i]
		next += i + 1
		compareRecords(t, g.rec, w.rec, g.line, w.line, func(string) string { return "" })
	}
}

// lossRecord is one parsed line of a scheduler's output and the line itself.
type lossRecord struct {
	rec  logRecord
	line string
}

// lossRecords parses every line of output; a line in neither format fails the test.
func lossRecords(t *testing.T, output string) []lossRecord {
	t.Helper()
	var out []lossRecord
	for line := range strings.Lines(output) {
		line = strings.TrimRight(line, "\n")
		r, ok := parseLog(line)
		if !ok {
			t.Errorf("line is neither in klog's text format nor JSON: %s", line)
			continue
		}
		out = append(out, lossRecord{r, line})
	}
	return out
}

// holdLeases writes identity as the holder of the kube-scheduler Lease of each namespace and
// renews it every half second, as a leader elsewhere would, until the returned stop is called
// (which waits for the last write).
func holdLeases(ctx context.Context, t *testing.T, admin kubernetes.Interface, identity string, namespaces ...string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, ns := range namespaces {
		wg.Go(func() {
			leases := admin.CoordinationV1().Leases(ns)
			for {
				l, err := leases.Get(ctx, "kube-scheduler", metav1.GetOptions{})
				if err == nil {
					now := metav1.NewMicroTime(time.Now())
					if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != identity {
						l.Spec.HolderIdentity, l.Spec.AcquireTime = &identity, &now
					}
					l.Spec.RenewTime = &now
					_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
				}
				if err != nil && ctx.Err() == nil && !apierrors.IsConflict(err) {
					t.Errorf("holding lease %s/kube-scheduler: %v", ns, err)
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(500 * time.Millisecond):
				}
			}
		})
	}
	return func() { cancel(); wg.Wait() }
}
