// Package testenv starts a real Kubernetes control plane (etcd and kube-apiserver, built from the Go
// module proxy) on loopback for berth's integration tests, end-to-end tests, demo and benchmarks.
// It is never linked into the berth binary.
//
//	cp, err := testenv.Start(ctx, testenv.Options{})
//	defer cp.Stop()
//	admin := kubernetes.NewForConfigOrDie(cp.Admin)       // system:masters
//	sched := kubernetes.NewForConfigOrDie(cp.Scheduler)   // exactly kube-scheduler's RBAC rights
//
// For volume tests, StartControllerManager runs upstream kube-controller-manager with only the
// controllers a test names (the PV binder completes what a scheduler's PreBind starts), and
// StartProvisioner plays an external dynamic provisioner:
//
//	kcm, err := cp.StartControllerManager(ctx, "persistentvolume-binder-controller")
//	t.Cleanup(kcm.Kill)
//	stop, err := testenv.StartProvisioner(ctx, admin, "local-wffc", "berth.test/local")
//	t.Cleanup(stop)
package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options tune Start. The zero value is ready to use.
type Options struct {
	// Dir is where data, certificates, kubeconfigs and logs go; a new temp dir when empty. A
	// directory Start created is removed by Stop.
	Dir string
	// Progress receives build and start-up progress; os.Stderr when nil.
	Progress io.Writer
	// APIServerArgs are extra kube-apiserver flags ("--name=value").
	APIServerArgs []string
}

// ControlPlane is a running etcd and kube-apiserver pair.
type ControlPlane struct {
	// Dir holds everything the control plane wrote.
	Dir string
	// URL is the apiserver's https address.
	URL string
	// Admin is a config for a system:masters user; Scheduler one for user system:kube-scheduler,
	// bound by the bootstrap RBAC policy exactly as in a real cluster.
	Admin, Scheduler *rest.Config
	// AdminKubeconfig and SchedulerKubeconfig are the same identities as kubeconfig files.
	AdminKubeconfig, SchedulerKubeconfig string
	// CA signs the serving certificate and the client certificates; CAFile is its PEM file
	// (also the apiserver's --client-ca-file).
	CA     *CA
	CAFile string
	// Binaries are the upstream programs in use (kube-scheduler included, for comparisons).
	Binaries Binaries

	etcd, apiserver *process
	removeDir       bool

	mu                 sync.Mutex // guards the two fields below
	kcmStarted         int        // kube-controller-managers started, to name their kubeconfigs
	controllerManagers []*Process // killed by Stop
}

// Start builds the upstream binaries if needed, then starts etcd and kube-apiserver on free
// loopback ports and waits until the apiserver is ready (RBAC bootstrap done).
func Start(ctx context.Context, opts Options) (*ControlPlane, error) {
	progress := opts.Progress
	if progress == nil {
		progress = os.Stderr
	}
	bins, err := EnsureBinaries(ctx, progress)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a port taken between reservation and bind: retry
		cp, err := start(ctx, opts, bins)
		if err == nil {
			return cp, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func start(ctx context.Context, opts Options, bins Binaries) (cp *ControlPlane, err error) {
	cp = &ControlPlane{Dir: opts.Dir, Binaries: bins}
	if cp.Dir == "" {
		if cp.Dir, err = os.MkdirTemp("", "berth-testenv-"); err != nil {
			return nil, fmt.Errorf("creating control plane dir: %w", err)
		}
		cp.removeDir = true
	} else if err := os.MkdirAll(cp.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating control plane dir: %w", err)
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, cp.Logs())
			cp.Stop()
		}
	}()
	ports, err := freePorts(3)
	if err != nil {
		return cp, err
	}
	if err := cp.startEtcd(ctx, ports[0], ports[1]); err != nil {
		return cp, err
	}
	if err := cp.startAPIServer(ctx, ports[2], ports[0], opts.APIServerArgs); err != nil {
		return cp, err
	}
	return cp, nil
}

func (cp *ControlPlane) path(name string) string { return filepath.Join(cp.Dir, name) }

func (cp *ControlPlane) startEtcd(ctx context.Context, clientPort, peerPort int) error {
	client := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peer := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	args := []string{
		"--data-dir", cp.path("etcd-data"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "default=" + peer,
		"--unsafe-no-fsync", "--log-level", "warn",
	}
	p, err := startProcess("etcd", cp.Binaries.Etcd, args, cp.path("etcd.log"))
	if err != nil {
		return err
	}
	cp.etcd = p
	return waitFor(ctx, p, 30*time.Second, func() error {
		resp, err := http.Get(client + "/health")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("etcd /health: %s", resp.Status)
		}
		return nil
	})
}

func (cp *ControlPlane) startAPIServer(ctx context.Context, port, etcdPort int, extra []string) error {
	ca, err := NewCA()
	if err != nil {
		return err
	}
	cp.CA, cp.CAFile = ca, cp.path("ca.crt")
	serving, err := ca.ServingCert([]string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")})
	if err != nil {
		return err
	}
	files := map[string][]byte{"ca.crt": ca.CertPEM, "serving.crt": serving.CertPEM, "serving.key": serving.KeyPEM}
	for name, data := range files {
		if err := os.WriteFile(cp.path(name), data, 0o600); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	if err := writeServiceAccountKeys(cp.path("sa.key"), cp.path("sa.pub")); err != nil {
		return err
	}
	cp.URL = "https://127.0.0.1:" + strconv.Itoa(port)
	args := []string{
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(etcdPort),
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + strconv.Itoa(port),
		"--endpoint-reconciler-type=none",
		"--disable-admission-plugins=ServiceAccount,TaintNodesByCondition",
		"--authorization-mode=RBAC",
		"--client-ca-file=" + cp.CAFile,
		"--tls-cert-file=" + cp.path("serving.crt"), "--tls-private-key-file=" + cp.path("serving.key"),
		"--cert-dir=" + cp.path("apiserver-certs"),
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + cp.path("sa.pub"),
		"--service-account-signing-key-file=" + cp.path("sa.key"),
		"--service-cluster-ip-range=10.0.0.0/24",
		"--allow-privileged=true",
		"--profiling=false",
	}
	args = append(args, extra...)
	p, err := startProcess("kube-apiserver", cp.Binaries.APIServer, args, cp.path("kube-apiserver.log"))
	if err != nil {
		return err
	}
	cp.apiserver = p
	if cp.Admin, cp.AdminKubeconfig, err = cp.identity("admin", "admin", "system:masters"); err != nil {
		return err
	}
	if cp.Scheduler, cp.SchedulerKubeconfig, err = cp.identity("scheduler", "system:kube-scheduler"); err != nil {
		return err
	}
	client, err := rest.HTTPClientFor(cp.Admin)
	if err != nil {
		return fmt.Errorf("building admin http client: %w", err)
	}
	return waitFor(ctx, p, 90*time.Second, answersOK(client, cp.URL+"/readyz"))
}

// answersOK returns a check that GETs url and succeeds on 200.
func answersOK(client *http.Client, url string) func() error {
	return func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
		}
		return nil
	}
}

// identity issues a client certificate and returns a rest.Config and kubeconfig file for it.
func (cp *ControlPlane) identity(file, user string, groups ...string) (*rest.Config, string, error) {
	kp, err := cp.CA.ClientCert(user, groups...)
	if err != nil {
		return nil, "", err
	}
	cfg := &rest.Config{
		Host: cp.URL,
		TLSClientConfig: rest.TLSClientConfig{
			CAData: cp.CA.CertPEM, CertData: kp.CertPEM, KeyData: kp.KeyPEM,
		},
		QPS: 1000, Burst: 2000,
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["testenv"] = &clientcmdapi.Cluster{Server: cp.URL, CertificateAuthorityData: cp.CA.CertPEM}
	kc.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: kp.CertPEM, ClientKeyData: kp.KeyPEM}
	kc.Contexts["testenv"] = &clientcmdapi.Context{Cluster: "testenv", AuthInfo: user}
	kc.CurrentContext = "testenv"
	path := cp.path(file + ".kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return nil, "", fmt.Errorf("writing %s: %w", path, err)
	}
	return cfg, path, nil
}

// ClientCertConfig returns a rest.Config for an arbitrary user authenticated by a client
// certificate from the control plane's CA.
func (cp *ControlPlane) ClientCertConfig(user string, groups ...string) (*rest.Config, error) {
	kp, err := cp.CA.ClientCert(user, groups...)
	if err != nil {
		return nil, err
	}
	return &rest.Config{Host: cp.URL, TLSClientConfig: rest.TLSClientConfig{
		CAData: cp.CA.CertPEM, CertData: kp.CertPEM, KeyData: kp.KeyPEM}, QPS: 1000, Burst: 2000}, nil
}

// TLSClientCert returns a tls.Certificate for user, for calling servers that trust CAFile.
func (cp *ControlPlane) TLSClientCert(user string, groups ...string) (tls.Certificate, error) {
	kp, err := cp.CA.ClientCert(user, groups...)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(kp.CertPEM, kp.KeyPEM)
}

// CertPool returns a pool holding the control plane's CA.
func (cp *ControlPlane) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(cp.CA.Cert)
	return pool
}

// Stop kills any kube-controller-manager StartControllerManager started, then kube-apiserver and
// etcd, waits for them to exit, and removes the directory Start created. It is safe to call more
// than once.
func (cp *ControlPlane) Stop() {
	if cp == nil {
		return
	}
	cp.mu.Lock()
	kcms := cp.controllerManagers
	cp.controllerManagers = nil
	cp.mu.Unlock()
	for _, p := range kcms {
		p.Kill()
	}
	cp.apiserver.stop(5 * time.Second)
	cp.etcd.stop(5 * time.Second)
	if cp.removeDir && os.Getenv("BERTH_KEEP_TESTENV") == "" {
		os.RemoveAll(cp.Dir)
		cp.removeDir = false
	}
}

// Logs returns the tail of each component's log (kube-controller-managers included), for failure
// reports.
func (cp *ControlPlane) Logs() string {
	var b strings.Builder
	for _, p := range []*process{cp.etcd, cp.apiserver} {
		if p == nil {
			continue
		}
		fmt.Fprintf(&b, "----- %s log (tail) -----\n%s\n", p.name, p.logTail(4000))
	}
	cp.mu.Lock()
	kcms := cp.controllerManagers
	cp.mu.Unlock()
	for i, p := range kcms {
		fmt.Fprintf(&b, "----- kube-controller-manager #%d log (tail) -----\n%s\n", i+1, Tail(p.Output(), 4000))
	}
	return b.String()
}

// waitFor polls check every 50ms until it succeeds, the process exits, ctx ends or timeout passes.
func waitFor(ctx context.Context, p *process, timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if done, err := p.exited(); done {
			return fmt.Errorf("%s: %w early: %v", p.name, errExited, err)
		}
		if last = check(); last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s: %w", p.name, timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
