package secondscheduler

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/berth-scheduler/berth/config"
	"github.com/berth-scheduler/berth/testenv"
)

// TestManifestsAgree checks the manifests against each other: the configuration loads, the
// Role covers the Lease the configuration names, and the Deployment runs the ServiceAccount
// with the ConfigMap mounted where --config points.
func TestManifestsAgree(t *testing.T) {
	m := readManifests(t)
	cfg, _ := loadConfigMap(t, m.configMap, "")
	if len(cfg.Profiles) != 1 || cfg.Profiles[0].Name() != "berth" {
		t.Errorf("profiles = %v, want one named berth", cfg.Profiles)
	}
	le := cfg.LeaderElection
	if !*le.LeaderElect || le.ResourceName == "kube-scheduler" {
		t.Errorf("leader election %+v: want it on, with its own Lease", le)
	}

	sa := m.serviceAccount
	subject := rbacv1.Subject{Kind: "ServiceAccount", Name: sa.Name, Namespace: sa.Namespace}
	var clusterRoles []string
	for _, b := range m.clusterBindings {
		if !slices.Contains(b.Subjects, subject) {
			t.Errorf("ClusterRoleBinding %s does not bind %s/%s", b.Name, sa.Namespace, sa.Name)
		}
		clusterRoles = append(clusterRoles, b.RoleRef.Name)
	}
	slices.Sort(clusterRoles)
	if want := []string{"system:kube-scheduler", "system:volume-scheduler"}; !slices.Equal(clusterRoles, want) {
		t.Errorf("bound ClusterRoles %v, want %v", clusterRoles, want)
	}
	leaseRole := ""
	for _, r := range m.roles {
		for _, rule := range r.Rules {
			if r.Namespace == le.ResourceNamespace && slices.Contains(rule.Resources, "leases") &&
				slices.Equal(rule.ResourceNames, []string{le.ResourceName}) &&
				slices.Contains(rule.Verbs, "get") && slices.Contains(rule.Verbs, "update") {
				leaseRole = r.Name
			}
		}
	}
	if leaseRole == "" {
		t.Fatalf("no Role in %s lets berth get and update the Lease %q", le.ResourceNamespace, le.ResourceName)
	}
	bound := false
	for _, b := range m.roleBindings {
		bound = bound || (b.RoleRef.Kind == "Role" && b.RoleRef.Name == leaseRole && b.Namespace == le.ResourceNamespace && slices.Contains(b.Subjects, subject))
	}
	if !bound {
		t.Errorf("Role %s is not bound to the ServiceAccount", leaseRole)
	}

	d := m.deployment
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas = %v, want 2", d.Spec.Replicas)
	}
	pod := d.Spec.Template.Spec
	if pod.ServiceAccountName != sa.Name || d.Namespace != sa.Namespace {
		t.Errorf("the Deployment runs as %s/%s, want %s/%s", d.Namespace, pod.ServiceAccountName, sa.Namespace, sa.Name)
	}
	var volume string
	for _, v := range pod.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == m.configMap.Name {
			volume = v.Name
		}
	}
	c := pod.Containers[0]
	configArg := ""
	for _, vm := range c.VolumeMounts {
		if vm.Name == volume {
			configArg = "--config=" + filepath.Join(vm.MountPath, "config.yaml")
		}
	}
	if configArg == "" || !slices.Contains(c.Args, configArg) {
		t.Errorf("container args %v, want %q with the ConfigMap mounted there", c.Args, configArg)
	}
}

// TestSchedulesItsPodsOnly applies the RBAC objects to the control plane and runs berth with the
// ServiceAccount's token and the ConfigMap's configuration: it must take its own Lease and
// schedule the pods that name it, leave every other pod alone, and never be refused anything.
func TestSchedulesItsPodsOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin := kubernetes.NewForConfigOrDie(cp.Admin)
	m := readManifests(t)
	for _, obj := range m.rbacFileObjects {
		if err := create(ctx, admin, obj, false); err != nil {
			t.Fatal(err)
		}
	}
	// The ConfigMap and Deployment must be valid objects too; nothing here would run the Deployment.
	for _, obj := range []runtime.Object{m.configMap, m.deployment} {
		if err := create(ctx, admin, obj, true); err != nil {
			t.Fatal(err)
		}
	}

	kubeconfig := tokenKubeconfig(ctx, t, admin, m.serviceAccount)
	cfg, configFile := loadConfigMap(t, m.configMap, kubeconfig)
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	p, err := testenv.StartProcess(berthPath, "--config", configFile,
		"--authentication-kubeconfig", kubeconfig, "--authorization-kubeconfig", kubeconfig,
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("berth output:\n%s", p.Output())
		}
	})
	if err := p.WaitHealthy("127.0.0.1:"+strconv.Itoa(port), time.Minute); err != nil {
		t.Fatal(err)
	}

	ns, err := testenv.CreateNamespace(ctx, admin, "second", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testenv.CreateNode(ctx, admin, testenv.NodeSpec{Name: ns + "-node"}); err != nil {
		t.Fatal(err)
	}
	// The other pods are created first: berth sees pod events in order, so once it has bound
	// its own pod it has already seen, and passed over, the others.
	others := map[string]string{"for-default": "", "for-other": "other-scheduler"}
	for name, scheduler := range others {
		pod := testenv.Pod(ns, name, "100m", "64Mi")
		pod.Spec.SchedulerName = scheduler
		if _, err := admin.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mine := testenv.Pod(ns, "for-berth", "100m", "64Mi")
	mine.Spec.SchedulerName = cfg.Profiles[0].Name()
	if _, err := admin.CoreV1().Pods(ns).Create(ctx, mine, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		if strings.Contains(p.Output(), "forbidden") {
			return false, errors.New("berth was refused an API request")
		}
		got, err := admin.CoreV1().Pods(ns).Get(ctx, mine.Name, metav1.GetOptions{})
		return err == nil && got.Spec.NodeName != "", nil
	})
	if err != nil {
		t.Fatalf("berth did not bind its pod: %v", err)
	}
	for name := range others {
		got, err := admin.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.NodeName != "" || len(got.Status.Conditions) > 0 {
			t.Errorf("pod %s for scheduler %q was touched: node %q, conditions %v", name, got.Spec.SchedulerName, got.Spec.NodeName, got.Status.Conditions)
		}
	}

	le := cfg.LeaderElection
	lease, err := admin.CoordinationV1().Leases(le.ResourceNamespace).Get(ctx, le.ResourceName, metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		t.Errorf("Lease %s/%s: %v, want it held by berth", le.ResourceNamespace, le.ResourceName, err)
	}
	if _, err := admin.CoordinationV1().Leases("kube-system").Get(ctx, "kube-scheduler", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("kube-scheduler's Lease: err = %v, want it left alone (not found)", err)
	}
	if out := p.Output(); strings.Contains(out, "forbidden") {
		t.Errorf("berth was refused something with the manifests' rights:\n%s", out)
	}
}

// loadConfigMap writes the ConfigMap's configuration to a file, with kubeconfig as its
// clientConnection.kubeconfig when not empty, and loads it through config.Load.
func loadConfigMap(t *testing.T, cm *v1.ConfigMap, kubeconfig string) (*config.KubeSchedulerConfiguration, string) {
	t.Helper()
	text, ok := cm.Data["config.yaml"]
	if !ok {
		t.Fatalf("ConfigMap %s has no config.yaml", cm.Name)
	}
	if kubeconfig != "" {
		text += "clientConnection:\n  kubeconfig: " + kubeconfig + "\n"
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, path
}

// tokenKubeconfig asks the API server for a token of sa (TokenRequest) and writes a kubeconfig
// that uses it.
func tokenKubeconfig(ctx context.Context, t *testing.T, admin kubernetes.Interface, sa *v1.ServiceAccount) string {
	t.Helper()
	expiry := int64(3600)
	tr, err := admin.CoreV1().ServiceAccounts(sa.Namespace).CreateToken(ctx, sa.Name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("requesting a token for %s/%s: %v", sa.Namespace, sa.Name, err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: cp.URL, CertificateAuthority: cp.CAFile}
	kc.AuthInfos["sa"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	kc.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "sa"}
	kc.CurrentContext = "c"
	path := filepath.Join(t.TempDir(), "berth.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}
