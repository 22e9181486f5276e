package testenv

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ControllerManagerUser is the user kube-controller-manager runs as: its own client certificate,
// never the scheduler's nor the admin's.
const ControllerManagerUser = "system:kube-controller-manager"

// controllerRoles maps a kube-controller-manager v1.37 controller name (its --controllers name) to
// the bootstrap ClusterRole (system:controller:<role>) that the controller's service account is
// bound to in a real cluster.
//
// Why: testenv runs kube-controller-manager with --use-service-account-credentials=false, so every
// controller acts as ControllerManagerUser, and the bootstrap role system:kube-controller-manager
// only lets that user list and watch (plus leader election and token requests). It cannot update a
// PV or a PVC. StartControllerManager therefore binds the user to the role of each controller it
// starts, which gives the controllers exactly the rights they have in a real cluster, without
// service-account tokens. A controller missing here is refused by name: add its role.
var controllerRoles = map[string]string{
	// volumes
	"persistentvolume-binder-controller":          "persistent-volume-binder",
	"persistentvolume-protection-controller":      "pv-protection-controller",
	"persistentvolumeclaim-protection-controller": "pvc-protection-controller",
	"persistentvolume-attach-detach-controller":   "attachdetach-controller",
	"persistentvolume-expander-controller":        "expand-controller",
	"ephemeral-volume-controller":                 "ephemeral-volume-controller",
	"volumeattributesclass-protection-controller": "volumeattributesclass-protection-controller",
	// claims and workloads
	"resourceclaim-controller":         "resource-claim-controller",
	"podgroup-protection-controller":   "podgroup-protection-controller",
	"replicaset-controller":            "replicaset-controller",
	"deployment-controller":            "deployment-controller",
	"statefulset-controller":           "statefulset-controller",
	"daemonset-controller":             "daemon-set-controller",
	"job-controller":                   "job-controller",
	"disruption-controller":            "disruption-controller",
	"garbage-collector-controller":     "generic-garbage-collector",
	"pod-garbage-collector-controller": "pod-garbage-collector",
	"ttl-after-finished-controller":    "ttl-after-finished-controller",
	// namespaces and service accounts
	"namespace-controller":                     "namespace-controller",
	"serviceaccount-controller":                "service-account-controller",
	"root-ca-certificate-publisher-controller": "root-ca-cert-publisher",
	"endpoints-controller":                     "endpoint-controller",
	"endpointslice-controller":                 "endpointslice-controller",
}

// StartControllerManager starts upstream kube-controller-manager against the control plane with
// only the named controllers (v1.37 names, as --controllers takes them, e.g.
// "persistentvolume-binder-controller"), and returns once each controller has started and every
// cache it waits for has synced. ctx bounds the start-up only.
//
// It runs as ControllerManagerUser (its own client certificate), with --leader-elect=false,
// --secure-port=0 and --use-service-account-credentials=false; before it starts, that user is bound
// to the bootstrap role of each named controller (see controllerRoles; an unknown name is an
// error). It never runs a scheduler. Stop it with the returned Process's Kill (t.Cleanup(p.Kill));
// ControlPlane.Stop kills any still running. Several may run at once, with disjoint controllers.
func (cp *ControlPlane) StartControllerManager(ctx context.Context, controllers ...string) (*Process, error) {
	return cp.StartControllerManagerWithArgs(ctx, nil, controllers...)
}

// StartControllerManagerWithArgs is StartControllerManager with extra kube-controller-manager
// flags ("--name=value"), given after testenv's own, e.g. "--kube-api-qps=5000" for a benchmark
// whose PV binder must not be held back by its default client limit (QPS 20, burst 30).
func (cp *ControlPlane) StartControllerManagerWithArgs(ctx context.Context, args []string, controllers ...string) (*Process, error) {
	if len(controllers) == 0 {
		return nil, fmt.Errorf("starting kube-controller-manager: no controllers named")
	}
	admin, err := kubernetes.NewForConfig(cp.Admin)
	if err != nil {
		return nil, fmt.Errorf("building admin client: %w", err)
	}
	if err := bindControllerRoles(ctx, admin, controllers); err != nil {
		return nil, err
	}
	cp.mu.Lock()
	cp.kcmStarted++
	file := fmt.Sprintf("kube-controller-manager-%d", cp.kcmStarted)
	cp.mu.Unlock()
	_, kubeconfig, err := cp.identity(file, ControllerManagerUser)
	if err != nil {
		return nil, err
	}
	p, err := StartProcess(cp.Binaries.ControllerManager, append([]string{
		"--kubeconfig=" + kubeconfig,
		"--controllers=" + strings.Join(controllers, ","),
		"--leader-elect=false",
		"--secure-port=0",
		"--use-service-account-credentials=false",
		"--root-ca-file=" + cp.CAFile,
		"--v=1", // logs "Controller starting...", which waitControllersSynced reads
	}, args...)...)
	if err != nil {
		return nil, err
	}
	cp.mu.Lock()
	cp.controllerManagers = append(cp.controllerManagers, p)
	cp.mu.Unlock()
	if err := waitControllersSynced(ctx, p, controllers, time.Minute); err != nil {
		p.Kill()
		return nil, err
	}
	return p, nil
}

// bindControllerRoles binds ControllerManagerUser to the bootstrap role of each controller.
// An unknown controller is refused before any binding is made.
func bindControllerRoles(ctx context.Context, admin kubernetes.Interface, controllers []string) error {
	for _, c := range controllers {
		if _, ok := controllerRoles[c]; !ok {
			return fmt.Errorf("starting kube-controller-manager: controller %q has no bootstrap role in testenv's controllerRoles (a v1.37 --controllers name? add its system:controller: role)", c)
		}
	}
	for _, c := range controllers {
		role := controllerRoles[c]
		crb := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "berth-testenv:kube-controller-manager:" + role},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:controller:" + role},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: ControllerManagerUser}},
		}
		_, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("binding %s to system:controller:%s: %w", ControllerManagerUser, role, err)
		}
	}
	return nil
}

// Log lines of kube-controller-manager (klog text format) that waitControllersSynced reads. The
// cache lines name no controller in v1.37, so they are counted.
var (
	controllerStartingRe = regexp.MustCompile(`"Controller starting\.\.\." controller="([^"]+)"`)
	cachesWaitingRe      = regexp.MustCompile(`"Waiting for caches to sync"`)
	cachesSyncedRe       = regexp.MustCompile(`"Caches are synced"`)
)

// waitControllersSynced polls p's log until every named controller has started and every cache
// wait it logged has completed, twice in a row 100ms apart (a controller logs its wait just after
// it starts, so one look could fall in between).
func waitControllersSynced(ctx context.Context, p *Process, controllers []string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	ok := 0
	for {
		if last = controllersSynced(p.Output(), controllers); last == nil {
			if ok++; ok == 2 {
				return nil
			}
		} else {
			ok = 0
		}
		if !p.Alive() {
			return fmt.Errorf("kube-controller-manager exited during start-up: %v\n%s", p.err, Tail(p.Output(), 4000))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kube-controller-manager not ready after %s: %w\n%s", timeout, last, Tail(p.Output(), 4000))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for kube-controller-manager: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// controllersSynced says why the log does not yet show every controller started and synced.
func controllersSynced(log string, controllers []string) error {
	var started []string
	for _, m := range controllerStartingRe.FindAllStringSubmatch(log, -1) {
		started = append(started, m[1])
	}
	for _, c := range controllers {
		if !slices.Contains(started, c) {
			return fmt.Errorf("controller %s not started yet", c)
		}
	}
	waits := len(cachesWaitingRe.FindAllStringIndex(log, -1))
	if synced := len(cachesSyncedRe.FindAllStringIndex(log, -1)); synced < waits {
		return fmt.Errorf("%d of %d cache waits done", synced, waits)
	}
	return nil
}

// Tail returns the last n bytes of s, from a line start: the end of a process's output, for a
// failure report.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}
