package failover

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berth-scheduler/berth/testenv"
)

// Election timing of every replica: short, so that tests are quick.
const (
	leaseDuration = 4 * time.Second
	renewDeadline = 3 * time.Second
	retryPeriod   = time.Second
)

// kind is which scheduler program a replica runs.
type kind string

const (
	berth    kind = "berth"
	upstream kind = "kube-scheduler"
)

// replica is a running scheduler process taking part in one election.
type replica struct {
	*testenv.Process
	name string // for messages: "berth-1", "kube-scheduler-2"
	kind kind
	addr string // secure serving address

	mu sync.Mutex
	id string // Lease identity; "" until learned (from berth's log, or from the Lease for upstream)
}

// replicaSpec says how to start a replica.
type replicaSpec struct {
	kind  kind
	name  string
	lease string // --leader-elect-resource-name; "" keeps the default
	// kubeconfig for scheduling and the election; "" means the scheduler identity's, direct.
	// Delegated authentication and authorization always go direct.
	kubeconfig string
	extra      []string
}

// startReplicas starts every spec at once, then waits until each answers /healthz. The processes
// are killed when the test ends; their output is logged if it failed.
func startReplicas(t *testing.T, specs ...replicaSpec) []*replica {
	t.Helper()
	rs := make([]*replica, 0, len(specs))
	for _, s := range specs {
		rs = append(rs, launch(t, s))
	}
	for _, r := range rs {
		if err := r.WaitHealthy(r.addr, 60*time.Second); err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
	}
	return rs
}

func startReplica(t *testing.T, s replicaSpec) *replica {
	t.Helper()
	return startReplicas(t, s)[0]
}

func launch(t *testing.T, s replicaSpec) *replica {
	t.Helper()
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	kc := s.kubeconfig
	if kc == "" {
		kc = cp.SchedulerKubeconfig
	}
	args := []string{
		"--kubeconfig", kc,
		"--authentication-kubeconfig", cp.SchedulerKubeconfig,
		"--authorization-kubeconfig", cp.SchedulerKubeconfig,
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(port),
		"--leader-elect-lease-duration", leaseDuration.String(),
		"--leader-elect-renew-deadline", renewDeadline.String(),
		"--leader-elect-retry-period", retryPeriod.String(),
	}
	if s.lease != "" {
		args = append(args, "--leader-elect-resource-name", s.lease)
	}
	bin := berthPath
	if s.kind == upstream {
		bin = cp.Binaries.Scheduler
	}
	p, err := testenv.StartProcess(bin, append(args, s.extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{Process: p, name: s.name, kind: s.kind, addr: "127.0.0.1:" + strconv.Itoa(port)}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("----- %s output -----\n%s", r.name, p.Output())
		}
	})
	return r
}

// identity returns the replica's Lease identity, or "" while unknown.
func (r *replica) identity() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.id
}

func (r *replica) setIdentity(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.id = id
}

// learnIdentity reads a berth replica's identity from its first election log line.
func (r *replica) learnIdentity(t *testing.T) string {
	t.Helper()
	if id := r.identity(); id != "" {
		return id
	}
	if r.kind != berth {
		t.Fatalf("%s: only berth logs its identity", r.name)
	}
	l := r.waitLog(t, `] "Attempting to acquire leader lease..."`, 1, 30*time.Second)
	m := identityRE.FindStringSubmatch(l.text)
	if m == nil {
		t.Fatalf("%s: no identity in %q", r.name, l.text)
	}
	r.setIdentity(m[1])
	return m[1]
}

var identityRE = regexp.MustCompile(`\bidentity="([^"]+)"`)

// stop sends sig and waits up to 15 seconds for the exit; it returns the exit code (-1 for a
// death by signal).
func (r *replica) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	if err := r.Signal(sig); err != nil {
		t.Fatalf("%s: sending %v: %v", r.name, sig, err)
	}
	code, err := r.ExitCode(15 * time.Second)
	if err != nil {
		t.Fatalf("%s after %v: %v", r.name, sig, err)
	}
	return code
}

// logLine is one line of a berth replica's klog-format output.
type logLine struct {
	at   time.Time // the line's header time: local clock, to the microsecond
	text string
}

// logs returns the output lines containing substr, in output order. Lines without a klog header
// get a zero time.
func (r *replica) logs(substr string) []logLine {
	var out []logLine
	sc := bufio.NewScanner(strings.NewReader(r.Output()))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, substr) {
			continue
		}
		l := logLine{text: line}
		l.at, _ = testenv.KlogTime(line)
		out = append(out, l)
	}
	return out
}

// waitLog waits until the output holds n lines containing substr and returns the nth.
func (r *replica) waitLog(t *testing.T, substr string, n int, timeout time.Duration) logLine {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if ls := r.logs(substr); len(ls) >= n {
			return ls[n-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d lines containing %q not logged within %s", r.name, n, substr, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// metricsClient calls replicas' secure ports as a system:masters user, whom the API server's
// authorizer always allows.
var metricsClient = sync.OnceValues(func() (*http.Client, error) {
	cert, err := cp.TLSClientCert("failover-test", "system:masters")
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{cert}}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}, nil
})

// metric returns the value of the first sample of name whose label set contains every one of
// labels (each like `result="ok"`); found is false when there is none.
func (r *replica) metric(ctx context.Context, name string, labels ...string) (v float64, found bool, err error) {
	c, err := metricsClient()
	if err != nil {
		return 0, false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+r.addr+"/metrics", nil)
	if err != nil {
		return 0, false, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, false, fmt.Errorf("%s: GET /metrics: %w", r.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, false, fmt.Errorf("%s: reading /metrics: %w", r.name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, false, fmt.Errorf("%s: GET /metrics: %s", r.name, resp.Status)
	}
	return testenv.MetricSum(string(body), name, labels...)
}

// isLeader reads the replica's leader_election_master_status gauge.
func (r *replica) isLeader(ctx context.Context) (bool, error) {
	v, found, err := r.metric(ctx, "leader_election_master_status", `name="kube-scheduler"`)
	if err != nil {
		return false, err
	}
	if !found {
		return false, fmt.Errorf("%s: no leader_election_master_status sample", r.name)
	}
	return v == 1, nil
}

// bindings returns how many bindings a berth replica has sent with the given result ("ok",
// "error"); a counter never touched reads 0.
func (r *replica) bindings(t *testing.T, ctx context.Context, result string) int {
	t.Helper()
	v, _, err := r.metric(ctx, "berth_bindings_total", `result="`+result+`"`)
	if err != nil {
		t.Fatal(err)
	}
	return int(v)
}
