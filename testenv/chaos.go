package testenv

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// This file is what chaos tests need beyond Start and Stop: killing kube-apiserver and starting
// it again on the same port over the same etcd, compacting etcd, and extra identities. None of
// these methods may run concurrently with each other, with Stop or with Logs: a test calls them
// from its own goroutine, in order.

// KillAPIServer sends SIGKILL to kube-apiserver (its whole process group) and waits until it has
// exited. etcd keeps running. Killing an apiserver that is not running does nothing.
func (cp *ControlPlane) KillAPIServer() error {
	p := cp.apiserver
	if p == nil {
		return errors.New("killing kube-apiserver: not started")
	}
	if done, _ := p.exited(); done {
		return nil
	}
	if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("killing kube-apiserver: %w", err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(30 * time.Second):
		return errors.New("killing kube-apiserver: still running 30s after SIGKILL")
	}
}

// RestartAPIServer starts kube-apiserver again with exactly the arguments it had (same port,
// certificates, etcd and extra flags, so every config and kubeconfig stays valid) and waits
// until GET /readyz answers ok. It returns the time that first ok answer arrived (readiness is
// polled every 50ms). The previous run's log is kept as kube-apiserver.N.log beside the new
// kube-apiserver.log. A port the old process has not released yet (its exit takes a moment) is
// retried for up to 30 seconds. The old process must have exited (KillAPIServer, or Stop).
func (cp *ControlPlane) RestartAPIServer(ctx context.Context) (ready time.Time, err error) {
	old := cp.apiserver
	if old == nil {
		return time.Time{}, errors.New("restarting kube-apiserver: never started")
	}
	if done, _ := old.exited(); !done {
		return time.Time{}, errors.New("restarting kube-apiserver: the old process is still running")
	}
	client, err := rest.HTTPClientFor(cp.Admin)
	if err != nil {
		return time.Time{}, fmt.Errorf("building admin http client: %w", err)
	}
	defer client.CloseIdleConnections()
	bin, args := old.cmd.Path, slices.Clone(old.cmd.Args[1:])
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := cp.keepAPIServerLog(); err != nil {
			return time.Time{}, err
		}
		p, err := startProcess("kube-apiserver", bin, args, cp.path("kube-apiserver.log"))
		if err != nil {
			return time.Time{}, err
		}
		cp.apiserver = p
		err = waitFor(ctx, p, 90*time.Second, answersOK(client, cp.URL+"/readyz"))
		if err == nil {
			return time.Now(), nil
		}
		if !errors.Is(err, errExited) || !strings.Contains(p.logTail(4000), "address already in use") ||
			time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("restarting kube-apiserver: %w\n%s", err, p.logTail(4000))
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// keepAPIServerLog renames kube-apiserver.log to the first free kube-apiserver.N.log.
func (cp *ControlPlane) keepAPIServerLog() error {
	for n := 1; ; n++ {
		kept := cp.path("kube-apiserver." + strconv.Itoa(n) + ".log")
		if _, err := os.Stat(kept); err == nil {
			continue
		}
		if err := os.Rename(cp.path("kube-apiserver.log"), kept); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("keeping the kube-apiserver log: %w", err)
		}
		return nil
	}
}

// EtcdURL is etcd's client URL (http, loopback); empty before etcd started.
func (cp *ControlPlane) EtcdURL() string {
	if cp.etcd == nil {
		return ""
	}
	args := cp.etcd.cmd.Args
	if i := slices.Index(args, "--listen-client-urls"); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

// CompactEtcd compacts etcd's key space up to its current revision, as `etcdctl compact` would,
// through etcd's JSON gateway (POST /v3/kv/range, then /v3/kv/compaction with physical=true, so
// that it returns once the compaction is applied). Watches from older revisions then fail with
// "required revision has been compacted" and must list again. It returns the revision.
func (cp *ControlPlane) CompactEtcd(ctx context.Context) (int64, error) {
	base := cp.EtcdURL()
	if base == "" {
		return 0, errors.New("compacting etcd: not started")
	}
	all := base64.StdEncoding.EncodeToString([]byte{0})
	var rng struct {
		Header struct {
			Revision string `json:"revision"`
		} `json:"header"`
	}
	if err := etcdPost(ctx, base+"/v3/kv/range", map[string]any{"key": all, "range_end": all, "count_only": true}, &rng); err != nil {
		return 0, fmt.Errorf("compacting etcd: reading the revision: %w", err)
	}
	rev, err := strconv.ParseInt(rng.Header.Revision, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("compacting etcd: revision %q: %w", rng.Header.Revision, err)
	}
	if err := etcdPost(ctx, base+"/v3/kv/compaction", map[string]any{"revision": strconv.FormatInt(rev, 10), "physical": true}, nil); err != nil {
		return 0, fmt.Errorf("compacting etcd to revision %d: %w", rev, err)
	}
	return rev, nil
}

// etcdPost sends body as JSON to an etcd gateway url and decodes the answer into out (unless nil).
func etcdPost(ctx context.Context, url string, body, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s: %s", url, resp.Status, strings.TrimSpace(string(answer)))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(answer, out)
}

// Kubeconfig writes a kubeconfig file named name+".kubeconfig" in Dir for user in groups, with a
// client certificate from the control plane's CA, and returns its path. server is the API
// address it points at; empty means URL (a test proxy in front of the API server passes its own
// address, and must then serve a certificate from CA). Groups set on a user RBAC already binds
// (system:kube-scheduler) keep its rights and let the API server's audit log tell processes
// sharing that identity apart.
func (cp *ControlPlane) Kubeconfig(name, server, user string, groups ...string) (string, error) {
	if server == "" {
		server = cp.URL
	}
	kp, err := cp.CA.ClientCert(user, groups...)
	if err != nil {
		return "", err
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["testenv"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: cp.CA.CertPEM}
	kc.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: kp.CertPEM, ClientKeyData: kp.KeyPEM}
	kc.Contexts["testenv"] = &clientcmdapi.Context{Cluster: "testenv", AuthInfo: user}
	kc.CurrentContext = "testenv"
	path := cp.path(name + ".kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, nil
}
