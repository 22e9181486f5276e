package conformance

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/testenv"
)

// volEnv is a queueEnv with storage: its cluster-wide objects are named after its namespace and
// carry its label, and its clean-up deletes them.
type volEnv struct {
	*queueEnv
}

func newVolEnv(t *testing.T) *volEnv {
	t.Helper()
	e := &volEnv{newQueueEnv(t, "volq")}
	t.Cleanup(e.cleanUp)
	return e
}

// name qualifies a cluster-wide name.
func (e *volEnv) name(short string) string { return e.ns + "-" + short }

// driver is a CSI driver name of the env's own.
func (e *volEnv) driver(short string) string { return short + "." + e.ns + ".berth.test" }

func (e *volEnv) mark(m *metav1.ObjectMeta) {
	if m.Labels == nil {
		m.Labels = map[string]string{}
	}
	m.Labels[e.label] = "yes"
}

func (e *volEnv) class(sc *storagev1.StorageClass) {
	e.t.Helper()
	sc = sc.DeepCopy()
	sc.Name = e.name(sc.Name)
	e.mark(&sc.ObjectMeta)
	if _, err := admin.StorageV1().StorageClasses().Create(e.ctx, sc, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating StorageClass %s: %v", sc.Name, err)
	}
}

// claim creates a claim; its class (short) is qualified.
func (e *volEnv) claim(pvc *v1.PersistentVolumeClaim) *v1.PersistentVolumeClaim {
	e.t.Helper()
	pvc = pvc.DeepCopy()
	pvc.Namespace = e.ns
	if sc := pvc.Spec.StorageClassName; sc != nil && *sc != "" {
		pvc.Spec.StorageClassName = ptrTo(e.name(*sc))
	}
	e.mark(&pvc.ObjectMeta)
	got, err := admin.CoreV1().PersistentVolumeClaims(e.ns).Create(e.ctx, pvc, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("creating claim %s: %v", pvc.Name, err)
	}
	return got
}

// pv creates a PV; its name, class and hostname node affinity (short) are qualified; bound
// names a claim (created already) to bind it to.
func (e *volEnv) pv(pv *v1.PersistentVolume, bound *v1.PersistentVolumeClaim) {
	e.t.Helper()
	pv = pv.DeepCopy()
	pv.Name = e.name(pv.Name)
	if pv.Spec.StorageClassName != "" {
		pv.Spec.StorageClassName = e.name(pv.Spec.StorageClassName)
	}
	if pv.Spec.NodeAffinity != nil && pv.Spec.NodeAffinity.Required != nil {
		qualifyTerms(e.name, pv.Spec.NodeAffinity.Required.NodeSelectorTerms)
	}
	if bound != nil {
		pv.Spec.ClaimRef = &v1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: e.ns, Name: bound.Name, UID: bound.UID}
	}
	e.mark(&pv.ObjectMeta)
	if _, err := admin.CoreV1().PersistentVolumes().Create(e.ctx, pv, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating PV %s: %v", pv.Name, err)
	}
}

// boundClaim creates a claim of no class and a PV bound to it (opts apply to the PV), and waits
// until the PV binder has bound them.
func (e *volEnv) boundClaim(name string, mode v1.PersistentVolumeAccessMode, opts ...pvOpt) {
	e.t.Helper()
	pv, pvc := boundPair(name, "", "1Gi", mode, opts...)
	pvc.Spec.VolumeName = ""
	pvc.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{labelPair: e.name(name)}}
	pvLabels(labelPair, e.name(name))(pv)
	e.pv(pv, e.claim(pvc))
	e.waitClaim(name, "Bound", func(c *v1.PersistentVolumeClaim) bool {
		_, done := c.Annotations["pv.kubernetes.io/bind-completed"]
		return c.Status.Phase == v1.ClaimBound && done
	})
}

func (e *volEnv) waitClaim(name, what string, ok func(*v1.PersistentVolumeClaim) bool) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := admin.CoreV1().PersistentVolumeClaims(e.ns).Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			e.t.Fatalf("reading claim %s: %v", name, err)
		}
		if ok(c) {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("claim %s not %s after 20s: %s", name, what, c.Status.Phase)
		}
		if err := sleep(e.ctx, 20*time.Millisecond); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *volEnv) csiNode(node string, drivers map[string]int32) {
	e.t.Helper()
	n := csiNodeOf(e.name(node), drivers)
	e.mark(&n.ObjectMeta)
	if _, err := admin.StorageV1().CSINodes().Create(e.ctx, n, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating CSINode %s: %v", n.Name, err)
	}
}

// bindTo creates a pod bound to node (short) with the claims, or edit.
func (e *volEnv) bindTo(name, node string, edit func(*v1.Pod)) {
	e.t.Helper()
	p := newPod(e.ns, name, map[string]string{})
	p.Spec.NodeName = e.name(node)
	p.Spec.Containers = []v1.Container{container("c", nil)}
	edit(p)
	if _, err := admin.CoreV1().Pods(e.ns).Create(e.ctx, p, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating bound pod %s: %v", name, err)
	}
}

func (e *volEnv) deletePod(name string) {
	e.t.Helper()
	zero := int64(0)
	if err := admin.CoreV1().Pods(e.ns).Delete(e.ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *volEnv) provision(class string) {
	e.t.Helper()
	stop, err := testenv.StartProvisioner(e.ctx, admin, e.name(class), testProvisioner)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(stop)
}

// cleanUp deletes the env's storage (claims and PVs with their protection finalizers removed);
// the queueEnv deletes its pods and nodes.
func (e *volEnv) cleanUp() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	zero := int64(0)
	_ = admin.CoreV1().Pods(e.ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{})
	_ = waitGone(ctx, e.ns, metav1.ListOptions{})
	release := []byte(`{"metadata":{"finalizers":null}}`)
	if l, err := admin.CoreV1().PersistentVolumeClaims(e.ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, c := range l.Items {
			_, _ = admin.CoreV1().PersistentVolumeClaims(e.ns).Patch(ctx, c.Name, types.MergePatchType, release, metav1.PatchOptions{})
			_ = admin.CoreV1().PersistentVolumeClaims(e.ns).Delete(ctx, c.Name, metav1.DeleteOptions{})
		}
	}
	if l, err := admin.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{}); err == nil {
		for _, pv := range l.Items {
			if pv.Labels[e.label] != "yes" && (pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.Namespace != e.ns) {
				continue
			}
			_, _ = admin.CoreV1().PersistentVolumes().Patch(ctx, pv.Name, types.MergePatchType, release, metav1.PatchOptions{})
			_ = admin.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{})
		}
	}
	sel := metav1.ListOptions{LabelSelector: e.label}
	st := admin.StorageV1()
	_ = st.StorageClasses().DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
	_ = st.CSINodes().DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
	_ = st.CSIDrivers().DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
	_ = st.VolumeAttachments().DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
	_ = st.CSIStorageCapacities(e.ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
}

// TestVolumeRequeue: a pod a volume plugin rejected is placed soon after the change that lets
// it fit, for each event the volume plugins register (upstream's run shows the change requeues
// it there too). The two schedulers' runs go in parallel, each in its own namespace and nodes.
func TestVolumeRequeue(t *testing.T) {
	startVolumeControllers(t)
	const limit = 3 * time.Second
	static := wffc("static", noProvisioner)
	tests := []struct {
		name   string
		setUp  func(e *volEnv) func(*v1.Pod) // creates nodes and storage; returns the pending pod's edit
		change func(e *volEnv)
		// settled, if set, waits after the change for what another controller makes of it (the
		// PV binder binding a claim, which can take its resync period): berth's time counts
		// from then.
		settled func(e *volEnv)
	}{
		{name: "claim created",
			setUp: func(e *volEnv) func(*v1.Pod) {
				e.node("n", nil)
				e.class(static)
				e.pv(hostPathPV("pv", "static", "1Gi"), nil)
				return withClaims("data")
			},
			change: func(e *volEnv) { e.claim(newClaim("data", "static", "1Gi")) }},
		{name: "PV created",
			setUp: func(e *volEnv) func(*v1.Pod) {
				e.node("n", nil)
				e.class(static)
				e.claim(newClaim("data", "static", "1Gi"))
				return withClaims("data")
			},
			change: func(e *volEnv) { e.pv(hostPathPV("pv", "static", "1Gi", onNodes("n")), nil) }},
		{name: "StorageClass created",
			setUp: func(e *volEnv) func(*v1.Pod) {
				e.node("n", nil)
				e.provision("late")
				e.claim(newClaim("data", "late", "1Gi"))
				return withClaims("data")
			},
			change: func(e *volEnv) { e.class(wffc("late", testProvisioner)) }},
		{name: "Immediate claim bound by the PV controller",
			setUp: func(e *volEnv) func(*v1.Pod) {
				e.node("n", nil)
				e.class(immediate("now", noProvisioner))
				e.claim(newClaim("data", "now", "1Gi"))
				return withClaims("data")
			},
			change: func(e *volEnv) { e.pv(hostPathPV("pv", "now", "1Gi"), nil) },
			settled: func(e *volEnv) {
				if _, _, err := testenv.WaitClaimBound(e.ctx, admin, e.ns, "data", 20*time.Second); err != nil {
					e.t.Fatal(err)
				}
			}},
		{name: "CSIStorageCapacity created",
			setUp: func(e *volEnv) func(*v1.Pod) {
				e.node("n", func(s *testenv.NodeSpec) { s.Labels[labelZone] = "z1" })
				e.capacityDriver()
				e.provision("cap")
				e.class(wffc("cap", e.driver("cap")))
				e.claim(newClaim("data", "cap", "1Gi"))
				return withClaims("data")
			},
			change: func(e *volEnv) { e.capacity("10Gi") }},
		{name: "CSIStorageCapacity grows",
			setUp: func(e *volEnv) func(*v1.Pod) {
				e.node("n", func(s *testenv.NodeSpec) { s.Labels[labelZone] = "z1" })
				e.capacityDriver()
				e.provision("cap")
				e.class(wffc("cap", e.driver("cap")))
				e.capacity("500Mi")
				e.claim(newClaim("data", "cap", "1Gi"))
				return withClaims("data")
			},
			change: func(e *volEnv) {
				c, err := admin.StorageV1().CSIStorageCapacities(e.ns).Get(e.ctx, "cap", metav1.GetOptions{})
				if err != nil {
					e.t.Fatal(err)
				}
				c.Capacity = ptrTo(resource.MustParse("10Gi"))
				if _, err := admin.StorageV1().CSIStorageCapacities(e.ns).Update(e.ctx, c, metav1.UpdateOptions{}); err != nil {
					e.t.Fatal(err)
				}
			}},
		{name: "node labelled into the PV's zone",
			setUp: func(e *volEnv) func(*v1.Pod) {
				e.node("n", func(s *testenv.NodeSpec) { s.Labels[labelZone] = "z2" })
				e.boundClaim("zoned", v1.ReadWriteOnce, pvLabels(labelZone, "z1"))
				return withClaims("zoned")
			},
			change: func(e *volEnv) {
				patch := `{"metadata":{"labels":{"` + labelZone + `":"z1"}}}`
				if _, err := admin.CoreV1().Nodes().Patch(e.ctx, e.name("n"), types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
					e.t.Fatal(err)
				}
			}},
		{name: "ReadWriteOncePod claim's user deleted",
			setUp: func(e *volEnv) func(*v1.Pod) {
				e.node("n", nil)
				e.boundClaim("solo", v1.ReadWriteOncePod)
				e.bindTo("holder", "n", withClaims("solo"))
				return withClaims("solo")
			},
			change: func(e *volEnv) { e.deletePod("holder") }},
		{name: "inline disk's user deleted",
			setUp: func(e *volEnv) func(*v1.Pod) {
				e.node("n", nil)
				e.bindTo("holder", "n", withDisk("pd-1", false))
				return withDisk("pd-1", false)
			},
			change: func(e *volEnv) { e.deletePod("holder") }},
		{name: "CSINode limit raised",
			setUp: func(e *volEnv) func(*v1.Pod) {
				e.node("n", nil)
				e.csiNode("n", map[string]int32{e.driver("att"): 0})
				e.boundClaim("vol", v1.ReadWriteOnce, csiVolume(e.driver("att")))
				return withClaims("vol")
			},
			change: func(e *volEnv) {
				n, err := admin.StorageV1().CSINodes().Get(e.ctx, e.name("n"), metav1.GetOptions{})
				if err != nil {
					e.t.Fatal(err)
				}
				n.Spec.Drivers[0].Allocatable.Count = ptrTo(int32(1))
				if _, err := admin.StorageV1().CSINodes().Update(e.ctx, n, metav1.UpdateOptions{}); err != nil {
					e.t.Fatal(err)
				}
			}},
		{name: "CSI volume's user deleted",
			setUp: func(e *volEnv) func(*v1.Pod) {
				e.node("n", nil)
				e.csiNode("n", map[string]int32{e.driver("att"): 1})
				e.boundClaim("held", v1.ReadWriteOnce, csiVolume(e.driver("att")))
				e.boundClaim("vol", v1.ReadWriteOnce, csiVolume(e.driver("att")))
				e.bindTo("holder", "n", withClaims("held"))
				return withClaims("vol")
			},
			change: func(e *volEnv) { e.deletePod("holder") }},
		{name: "VolumeAttachment deleted",
			setUp: func(e *volEnv) func(*v1.Pod) {
				e.node("n", nil)
				e.csiNode("n", map[string]int32{e.driver("att"): 1})
				e.pv(hostPathPV("attached", "", "1Gi", csiVolume(e.driver("att")), pvLabels(labelPair, "none")), nil)
				va := attachment(e.name("va"), e.driver("att"), e.name("n"), e.name("attached"))
				e.mark(&va.ObjectMeta)
				if _, err := admin.StorageV1().VolumeAttachments().Create(e.ctx, va, metav1.CreateOptions{}); err != nil {
					e.t.Fatal(err)
				}
				e.boundClaim("vol", v1.ReadWriteOnce, csiVolume(e.driver("att")))
				return withClaims("vol")
			},
			change: func(e *volEnv) {
				if err := admin.StorageV1().VolumeAttachments().Delete(e.ctx, e.name("va"), metav1.DeleteOptions{}); err != nil {
					e.t.Fatal(err)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, sched := range []string{upstreamName, berthName} {
				t.Run(sched, func(t *testing.T) {
					t.Parallel()
					e := newVolEnv(t)
					edit := tc.setUp(e)
					e.pod("pending", sched, edit)
					e.wait("pending", 10*time.Second, "marked unschedulable", markedUnschedulable)
					start := time.Now()
					tc.change(e)
					if tc.settled != nil {
						tc.settled(e)
						start = time.Now()
					}
					e.wait("pending", 20*time.Second, "bound after the change", bound)
					took := time.Since(start)
					t.Logf("%s placed the pod %s after the change", sched, took.Round(time.Millisecond))
					if sched == berthName && took > limit {
						t.Errorf("berth took %s to place the pod after the change, want at most %s", took, limit)
					}
				})
			}
		})
	}
}

// capacityDriver creates the env's CSIDriver "cap" that publishes storage capacity.
func (e *volEnv) capacityDriver() {
	e.t.Helper()
	d := csiDriver(e.driver("cap"), func(s *storagev1.CSIDriverSpec) { s.StorageCapacity = ptrTo(true) })
	e.mark(&d.ObjectMeta)
	if _, err := admin.StorageV1().CSIDrivers().Create(e.ctx, d, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		e.t.Fatalf("creating CSIDriver %s: %v", d.Name, err)
	}
}

// capacity creates the CSIStorageCapacity "cap" of class "cap" for zone z1.
func (e *volEnv) capacity(size string) {
	e.t.Helper()
	c := capacityIn("cap", e.name("cap"), "z1", size, "")
	c.Namespace = e.ns
	if _, err := admin.StorageV1().CSIStorageCapacities(e.ns).Create(e.ctx, c, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating CSIStorageCapacity: %v", err)
	}
}
