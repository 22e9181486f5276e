package chaos

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
	"testing"
	"time"

	"github.com/berth-scheduler/berth/testenv"
)

// berthProc is a running berth process.
type berthProc struct {
	*testenv.Process
	name string // for messages: "berth-1"
	addr string // secure serving address
}

// berthSpec says how to start berth against c.
type berthSpec struct {
	name string
	// kubeconfig for scheduling and the election; "" means the scheduler identity's, direct.
	// Delegated authentication and authorization always go direct.
	kubeconfig string
	extra      []string
}

// startBerth starts berth and waits until it answers /healthz. The process is killed when the test
// ends, and the tail of its output logged if the test failed.
func (c *cluster) startBerth(t *testing.T, s berthSpec) *berthProc {
	t.Helper()
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	kc := s.kubeconfig
	if kc == "" {
		kc = c.cp.SchedulerKubeconfig
	}
	args := []string{
		"--kubeconfig", kc,
		"--authentication-kubeconfig", c.cp.SchedulerKubeconfig,
		"--authorization-kubeconfig", c.cp.SchedulerKubeconfig,
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(port),
	}
	p, err := testenv.StartProcess(berthPath, append(args, s.extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	b := &berthProc{Process: p, name: s.name, addr: "127.0.0.1:" + strconv.Itoa(port)}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			out := p.Output()
			if len(out) > 6000 {
				out = "..." + out[len(out)-6000:]
			}
			t.Logf("----- %s output (tail) -----\n%s", b.name, out)
		}
	})
	if err := p.WaitHealthy(b.addr, 90*time.Second); err != nil {
		t.Fatalf("%s: %v", b.name, err)
	}
	return b
}

var identityRE = regexp.MustCompile(`\bidentity="([^"]+)"`)

// identity waits for berth's first election log line and returns its Lease identity.
func (b *berthProc) identity(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, line := range b.lines(`] "Attempting to acquire leader lease..."`) {
			if m := identityRE.FindStringSubmatch(line); m != nil {
				return m[1]
			}
		}
		if time.Now().After(deadline) || !b.Alive() {
			t.Fatalf("%s: no identity logged within 30s", b.name)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lines returns the output lines containing substr.
func (b *berthProc) lines(substr string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(b.Output()))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), substr) {
			out = append(out, sc.Text())
		}
	}
	return out
}

// podRelistIn returns the last time in [from, to] berth's pod informer started listing again, as
// client-go's reflector logs it at -v=3 and up (the klog header's time: berth's clock, to the
// microsecond, which is the API server's on this machine).
func (b *berthProc) podRelistIn(from, to time.Time) (time.Time, bool) {
	var last time.Time
	for _, line := range b.lines(`] "Listing and watching" type="*v1.Pod"`) {
		at, ok := testenv.KlogTime(line)
		if ok && !at.Before(from.Truncate(time.Millisecond)) && !at.After(to) {
			last = at
		}
	}
	return last, !last.IsZero()
}

// podInformerLog returns berth's log lines about its pod informer (-v=4), for failure reports.
func (b *berthProc) podInformerLog() string {
	return strings.Join(b.lines("type=*v1.Pod"), "\n")
}

// metrics fetches berth's /metrics as a system:masters user, whom the API server's authorizer
// always allows.
func (b *berthProc) metrics(ctx context.Context, c *cluster) (string, error) {
	cert, err := c.cp.TLSClientCert("chaos-test", "system:masters")
	if err != nil {
		return "", err
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{cert}}}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+b.addr+"/metrics", nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("%s: GET /metrics: %w", b.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("%s: reading /metrics: %w", b.name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: GET /metrics: %s", b.name, resp.Status)
	}
	return string(body), nil
}

// metric reads one summed metric from b's /metrics, failing the test on error.
func (b *berthProc) metric(t *testing.T, ctx context.Context, c *cluster, name string, labels ...string) float64 {
	t.Helper()
	text, err := b.metrics(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := testenv.MetricSum(text, name, labels...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
