package deploy_test

import (
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/berth-scheduler/berth/flags"
)

// decodeStaticPod decodes the manifest strictly: an unknown or duplicated field is an error.
func decodeStaticPod(t *testing.T) *v1.Pod {
	t.Helper()
	data := readRepoFile(t, filepath.Join("deploy", "static-pod", "berth.yaml"))
	return decodePodStrict(t, []byte(data))
}

func decodePodStrict(t *testing.T, data []byte) *v1.Pod {
	t.Helper()
	s := json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme.Scheme, scheme.Scheme,
		json.SerializerOptions{Yaml: true, Strict: true})
	obj, gvk, err := s.Decode(data, nil, nil)
	if err != nil {
		t.Fatalf("decoding strictly: %v", err)
	}
	pod, ok := obj.(*v1.Pod)
	if !ok {
		t.Fatalf("decoded a %v, want a v1 Pod", gvk)
	}
	return pod
}

// TestStrictDecodeRefusesUnknownFields shows decodePodStrict would catch a misspelt field.
func TestStrictDecodeRefusesUnknownFields(t *testing.T) {
	s := json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme.Scheme, scheme.Scheme,
		json.SerializerOptions{Yaml: true, Strict: true})
	bad := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  hostNetwrok: true\n  containers: []\n"
	if _, _, err := s.Decode([]byte(bad), nil, nil); err == nil {
		t.Fatal("a misspelt field decoded without error")
	}
}

func TestStaticPodShape(t *testing.T) {
	pod := decodeStaticPod(t)
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	cases := []struct {
		name string
		ok   bool
	}{
		{"named kube-scheduler in kube-system, as kubeadm's", pod.Name == "kube-scheduler" && pod.Namespace == "kube-system"},
		{"kubeadm's component label", pod.Labels["component"] == "kube-scheduler" && pod.Labels["tier"] == "control-plane"},
		{"hostNetwork", pod.Spec.HostNetwork},
		{"system-node-critical", pod.Spec.PriorityClassName == "system-node-critical"},
		{"RuntimeDefault seccomp", pod.Spec.SecurityContext != nil && pod.Spec.SecurityContext.SeccompProfile != nil &&
			pod.Spec.SecurityContext.SeccompProfile.Type == v1.SeccompProfileTypeRuntimeDefault},
		{"image has a pinned tag", pinned(c.Image)},
		{"cpu request", !c.Resources.Requests.Cpu().IsZero()},
		{"memory request", !c.Resources.Requests.Memory().IsZero()},
		{"no limits that would throttle or kill the scheduler", len(c.Resources.Limits) == 0},
		{"no capabilities", c.SecurityContext != nil && c.SecurityContext.Capabilities != nil &&
			slices.Contains(c.SecurityContext.Capabilities.Drop, "ALL") && len(c.SecurityContext.Capabilities.Add) == 0},
		{"no privilege escalation", c.SecurityContext != nil && c.SecurityContext.AllowPrivilegeEscalation != nil &&
			!*c.SecurityContext.AllowPrivilegeEscalation},
		{"read-only root file system", c.SecurityContext != nil && c.SecurityContext.ReadOnlyRootFilesystem != nil &&
			*c.SecurityContext.ReadOnlyRootFilesystem},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.ok {
				t.Errorf("not so in deploy/static-pod/berth.yaml")
			}
		})
	}
	if want := resource.MustParse("100m"); c.Resources.Requests.Cpu().Cmp(want) != 0 {
		t.Errorf("cpu request %v, want kubeadm's %v for kube-scheduler", c.Resources.Requests.Cpu(), &want)
	}
}

// pinned reports whether an image reference names a digest or a tag other than latest.
func pinned(image string) bool {
	if strings.Contains(image, "@") {
		return true
	}
	name := image[strings.LastIndex(image, "/")+1:]
	_, tag, ok := strings.Cut(name, ":")
	return ok && tag != "" && tag != "latest"
}

// TestStaticPodCommandLine runs the container's command line through berth's own flag parser and
// checks it agrees with the rest of the manifest and with the image.
func TestStaticPodCommandLine(t *testing.T) {
	pod := decodeStaticPod(t)
	c := pod.Spec.Containers[0]
	_, final := dockerfileStages(t)
	if ep := entrypoint(t, final); len(c.Command) == 0 || c.Command[0] != ep[0] {
		t.Fatalf("command %q does not start with the image's entrypoint %q", c.Command, ep)
	}
	opts, err := flags.Parse(append(slices.Clone(c.Command[1:]), c.Args...))
	if err != nil {
		t.Fatalf("berth refuses the manifest's flags: %v", err)
	}
	if w := opts.Warnings(); len(w) > 0 {
		t.Errorf("flags accepted with warnings: %q", w)
	}

	t.Run("kubeconfigs mounted read-only from the host", func(t *testing.T) {
		for flag, path := range map[string]string{
			"--kubeconfig":                opts.Deprecated.Kubeconfig,
			"--authentication-kubeconfig": opts.Authentication.Kubeconfig,
			"--authorization-kubeconfig":  opts.Authorization.Kubeconfig,
		} {
			if path == "" {
				t.Errorf("%s not set", flag)
				continue
			}
			m, ok := mountFor(c, path)
			if !ok {
				t.Errorf("%s %s is not under any volume mount", flag, path)
				continue
			}
			if !m.ReadOnly {
				t.Errorf("%s: mount %s is not read-only", flag, m.Name)
			}
			vol := volumeNamed(pod, m.Name)
			if vol == nil || vol.HostPath == nil {
				t.Errorf("%s: mount %s is not a hostPath volume", flag, m.Name)
			}
		}
	})

	t.Run("leader election on, as kubeadm runs several control-plane nodes", func(t *testing.T) {
		if !opts.LeaderElection.LeaderElect {
			t.Error("--leader-elect is false")
		}
	})

	probes := map[string]*v1.Probe{"liveness": c.LivenessProbe, "startup": c.StartupProbe, "readiness": c.ReadinessProbe}
	wantPath := map[string]string{"liveness": "/livez", "startup": "/livez", "readiness": "/readyz"}
	for name, p := range probes {
		t.Run(name+" probe reaches the secure port", func(t *testing.T) {
			if p == nil || p.HTTPGet == nil {
				t.Fatal("missing or not an HTTP GET probe")
			}
			g := p.HTTPGet
			if g.Scheme != v1.URISchemeHTTPS {
				t.Errorf("scheme %s, want HTTPS", g.Scheme)
			}
			if g.Path != wantPath[name] {
				t.Errorf("path %s, want %s", g.Path, wantPath[name])
			}
			if port := resolvePort(t, c, g.Port); port != opts.SecureServing.Port || port != 10259 {
				t.Errorf("probe port %d, berth serves on --secure-port %d, want 10259", port, opts.SecureServing.Port)
			}
			host, err := netip.ParseAddr(g.Host)
			if err != nil || (host != opts.SecureServing.BindAddress && !opts.SecureServing.BindAddress.IsUnspecified()) {
				t.Errorf("probe host %q, but berth binds %v", g.Host, opts.SecureServing.BindAddress)
			}
			if name != "readiness" && !slices.Contains(opts.Authorization.AlwaysAllowPaths, g.Path) {
				t.Errorf("kubelet probes anonymously, but %s is not in --authorization-always-allow-paths %v", g.Path, opts.Authorization.AlwaysAllowPaths)
			}
		})
	}
	t.Run("startup probe allows a slow cache sync", func(t *testing.T) {
		if p := c.StartupProbe; p != nil && p.PeriodSeconds*p.FailureThreshold < 120 {
			t.Errorf("startup probe gives up after %ds, want at least 120s", p.PeriodSeconds*p.FailureThreshold)
		}
	})
}

// mountFor returns the volume mount whose path is path or a directory above it.
func mountFor(c v1.Container, path string) (v1.VolumeMount, bool) {
	for _, m := range c.VolumeMounts {
		rel, err := filepath.Rel(m.MountPath, path)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return m, true
		}
	}
	return v1.VolumeMount{}, false
}

func volumeNamed(pod *v1.Pod, name string) *v1.Volume {
	for i := range pod.Spec.Volumes {
		if pod.Spec.Volumes[i].Name == name {
			return &pod.Spec.Volumes[i]
		}
	}
	return nil
}

// resolvePort turns a probe's port (number or container port name) into a number.
func resolvePort(t *testing.T, c v1.Container, p intstr.IntOrString) int {
	t.Helper()
	if p.Type == intstr.Int {
		return p.IntValue()
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort)
		}
	}
	t.Fatalf("probe port %q names no container port", p.StrVal)
	return 0
}

func TestPinned(t *testing.T) {
	cases := []struct {
		image string
		want  bool
	}{
		{"registry.example.com/berth:v0.1.0", true},
		{"registry.example.com:5000/berth:v0.1.0", true},
		{"berth@sha256:0123", true},
		{"registry.example.com:5000/berth", false},
		{"berth:latest", false},
		{"berth", false},
	}
	for _, tc := range cases {
		t.Run(tc.image, func(t *testing.T) {
			if got := pinned(tc.image); got != tc.want {
				t.Errorf("pinned(%q) = %v, want %v", tc.image, got, tc.want)
			}
		})
	}
}
