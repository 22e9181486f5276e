package e2e

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-scheduler/berth/testenv"
)

// upstreamEnv, when set, makes TestVolumes run upstream kube-scheduler instead of berth: a check
// that the test expects what kube-scheduler v1.37 does (messages included), not what berth does.
const upstreamEnv = "BERTH_E2E_UPSTREAM"

// The reasons kube-scheduler v1.37 gives for a node, as its volume plugins write them.
const (
	reasonPVAffinity   = "node(s) didn't match PersistentVolume's node affinity"
	reasonNoPVToBind   = "node(s) didn't find available persistent volumes to bind"
	reasonRWOPConflict = "node(s) unavailable due to PersistentVolumeClaim with ReadWriteOncePod access mode already in-use by another pod"
	reasonVolumeZone   = "node(s) had no available volume zone"
	reasonMaxVolumes   = "node(s) exceed max volume count"
)

// TestVolumes runs the scheduler as a real process with kube-controller-manager's PV binder (and
// StatefulSet controller) and a dynamic provisioner, in the cases a cluster with volumes meets:
// provisioning for a StatefulSet, local volumes, missing claims, ReadWriteOncePod claims, volume
// zones, attach limits, and two claims racing for one volume. Each case has its namespace and its
// nodes (its pods select them by label) and runs in parallel with the others.
func TestVolumes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel) // not defer: the parallel cases run after this function returns
	admin := kubernetes.NewForConfigOrDie(cp.Admin)

	start := time.Now()
	kcm, err := cp.StartControllerManager(ctx, "persistentvolume-binder-controller", "statefulset-controller")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		kcm.Kill()
		if t.Failed() {
			t.Logf("kube-controller-manager output (tail):\n%s", testenv.Tail(kcm.Output(), 6000))
		}
	})
	t.Logf("kube-controller-manager synced in %s", time.Since(start).Round(time.Millisecond))

	// One WaitForFirstConsumer class served by the test provisioner, for the cases that provision.
	const provisioner = "e2e.berth.test/local"
	wffc, err := testenv.CreateNamespace(ctx, admin, "volumes-wffc", nil) // a unique name for the class
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.StorageV1().StorageClasses().Create(ctx,
		testenv.NewStorageClass(wffc, provisioner, storagev1.VolumeBindingWaitForFirstConsumer), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	stop, err := testenv.StartProvisioner(ctx, admin, wffc, provisioner)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)

	if os.Getenv(upstreamEnv) != "" {
		t.Logf("%s is set: running upstream kube-scheduler, not berth", upstreamEnv)
		startScheduler(t, cp.Binaries.Scheduler, "--leader-elect=false")
	} else {
		d := startBerth(t, "--leader-elect=false")
		t.Cleanup(func() { // berth is built with -race: a race it reports fails the test
			if strings.Contains(d.Output(), "WARNING: DATA RACE") {
				t.Errorf("berth reported a data race:\n%s", testenv.Tail(d.Output(), 8000))
			}
		})
	}

	// a. A StatefulSet of five pods, each with a claim of the provisioned class from its
	// volumeClaimTemplates (created by the StatefulSet controller, pods and claims at once): every
	// pod binds, its claim names the pod's node as selected node, and the claim is bound to a
	// volume whose node affinity selects that node.
	t.Run("statefulset provisions on each pod's node", func(t *testing.T) {
		t.Parallel()
		c := newVolCase(ctx, t, admin, 3, nil)
		const replicas = 5
		set := &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Namespace: c.ns, Name: "web"},
			Spec: appsv1.StatefulSetSpec{
				Replicas:            new(int32(replicas)),
				ServiceName:         "web",
				PodManagementPolicy: appsv1.ParallelPodManagement, // no kubelet: no pod ever gets Ready
				Selector:            &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				Template: v1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
					Spec:       c.podSpec(),
				},
				VolumeClaimTemplates: []v1.PersistentVolumeClaim{*testenv.NewClaim("", "data", wffc)},
			},
		}
		set.Spec.Template.Spec.Volumes = nil // the template's claim is mounted by name: "data"
		set.Spec.Template.Spec.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "data", MountPath: "/data"}}
		if _, err := admin.AppsV1().StatefulSets(c.ns).Create(ctx, set, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { // before its pods are deleted, lest the controller make them again
			if err := admin.AppsV1().StatefulSets(c.ns).Delete(context.Background(), "web", metav1.DeleteOptions{}); err != nil {
				t.Errorf("deleting the StatefulSet: %v", err)
			}
		})
		for i := range replicas {
			name := fmt.Sprintf("web-%d", i)
			pod := c.bound(name)
			claim := "data-" + name
			if !slices.ContainsFunc(pod.Spec.Volumes, func(v v1.Volume) bool {
				return v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claim
			}) {
				t.Errorf("%s: no volume for claim %s in %+v", name, claim, pod.Spec.Volumes)
			}
			pvc, pv := c.claimBound(claim)
			if got := pvc.Annotations[testenv.AnnSelectedNode]; got != pod.Spec.NodeName {
				t.Errorf("claim %s: %s = %q, its pod %s is on %s", claim, testenv.AnnSelectedNode, got, name, pod.Spec.NodeName)
			}
			if got := pv.Annotations[testenv.AnnProvisionedBy]; got != provisioner {
				t.Errorf("claim %s bound to %s, %s = %q, want the test provisioner's volume", claim, pv.Name, testenv.AnnProvisionedBy, got)
			}
			c.volumeSelects(pv, pod.Spec.NodeName)
		}
	})

	// b. A claim of an Immediate class, bound by the PV binder to a local volume of node n1:
	// every pod using it goes to n1, the smallest node, which scoring alone would avoid; a pod
	// that may only use n0 stays pending for the volume's node affinity.
	t.Run("local volume pins its pods to its node", func(t *testing.T) {
		t.Parallel()
		c := newVolCase(ctx, t, admin, 3, func(i int, s *testenv.NodeSpec) {
			if s.CPU = "16"; i == 1 {
				s.CPU = "2"
			}
		})
		immediate := c.class(testenv.NoProvisioner, storagev1.VolumeBindingImmediate)
		c.createPV(testenv.NewLocalPV(c.ns+"-local", immediate, testenv.NodeAffinityIn(v1.LabelHostname, c.node(1))))
		c.create(testenv.NewClaim(c.ns, "data", immediate))
		for i := range 3 {
			c.pod(fmt.Sprintf("user-%d", i), "data")
		}
		c.pod("elsewhere", "data", func(p *v1.Pod) { p.Spec.NodeSelector[v1.LabelHostname] = c.node(0) })
		for i := range 3 {
			if p := c.bound(fmt.Sprintf("user-%d", i)); p.Spec.NodeName != c.node(1) {
				t.Errorf("%s bound to %s, its volume is on %s", p.Name, p.Spec.NodeName, c.node(1))
			}
		}
		c.pendingFor("elsewhere", " 1 "+reasonPVAffinity)
		c.claimBound("data")
		c.unbound("elsewhere")
	})

	// c. A pod whose claim does not exist stays pending with kube-scheduler's message (condition
	// and event); once the claim is created, it binds and the claim is provisioned on its node.
	t.Run("missing claim", func(t *testing.T) {
		t.Parallel()
		c := newVolCase(ctx, t, admin, 2, nil)
		c.pod("waiter", "data")
		// The PreFilter rejection, then PostFilter's part: kube-scheduler v1.37.2 writes " not
		// found" there, its DynamicResources PostFilter failing for want of the state its
		// PreFilter, never reached, would have written (no preemption is tried).
		want := regexp.MustCompile(`^0/\d+ nodes are available: persistentvolumeclaim "data" not found\. not found$`)
		c.pending("waiter", want.MatchString)
		c.event("waiter", "FailedScheduling", want)
		time.Sleep(time.Second) // a retry would not change anything
		c.unbound("waiter")

		c.create(testenv.NewClaim(c.ns, "data", wffc))
		pod := c.bound("waiter")
		pvc, pv := c.claimBound("data")
		if got := pvc.Annotations[testenv.AnnSelectedNode]; got != pod.Spec.NodeName {
			t.Errorf("claim data: %s = %q, its pod is on %s", testenv.AnnSelectedNode, got, pod.Spec.NodeName)
		}
		c.volumeSelects(pv, pod.Spec.NodeName)
	})

	// d. A ReadWriteOncePod claim used by a bound pod: a second pod using it stays pending, and
	// binds once the first is deleted.
	t.Run("ReadWriteOncePod claim in use", func(t *testing.T) {
		t.Parallel()
		c := newVolCase(ctx, t, admin, 2, nil)
		class := c.class(testenv.NoProvisioner, storagev1.VolumeBindingWaitForFirstConsumer)
		pv := testenv.NewLocalPV(c.ns+"-rwop", class, testenv.NodeAffinityIn(groupLabel, c.ns), v1.ReadWriteOncePod)
		pvc := testenv.NewClaim(c.ns, "single", class, v1.ReadWriteOncePod)
		testenv.PreBind(pv, pvc)
		c.createPV(pv)
		c.create(pvc)
		c.claimBound("single")
		first := c.pod("first", "single")
		c.bound("first")
		c.pod("second", "single")
		c.pendingFor("second", fmt.Sprintf(" %d %s", len(c.nodes), reasonRWOPConflict))
		time.Sleep(time.Second)
		c.unbound("second")
		c.delete(first)
		c.bound("second")
	})

	// e. A pod whose volume is labeled with a zone no node is in stays pending; it binds once a
	// node is labeled with that zone, on that node.
	t.Run("volume zone", func(t *testing.T) {
		t.Parallel()
		zones := []string{"e2e-zone-a", "e2e-zone-b"}
		c := newVolCase(ctx, t, admin, 2, func(i int, s *testenv.NodeSpec) { s.Labels[v1.LabelTopologyZone] = zones[i] })
		class := c.class(testenv.NoProvisioner, storagev1.VolumeBindingWaitForFirstConsumer)
		pv := testenv.NewCSIPV(c.ns+"-zonal", class, "zonal.e2e.berth.test")
		pv.Labels = map[string]string{v1.LabelTopologyZone: "e2e-zone-c"}
		pvc := testenv.NewClaim(c.ns, "data", class)
		testenv.PreBind(pv, pvc)
		c.createPV(pv)
		c.create(pvc)
		c.claimBound("data")
		c.pod("zonal", "data")
		c.pendingFor("zonal", fmt.Sprintf(" %d %s", len(c.nodes), reasonVolumeZone))
		time.Sleep(time.Second)
		c.unbound("zonal")
		patch := fmt.Sprintf(`{"metadata":{"labels":{%q:"e2e-zone-c"}}}`, v1.LabelTopologyZone)
		if _, err := admin.CoreV1().Nodes().Patch(ctx, c.node(1), types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		if p := c.bound("zonal"); p.Spec.NodeName != c.node(1) {
			t.Errorf("zonal bound to %s, the only node in its volume's zone is %s", p.Spec.NodeName, c.node(1))
		}
	})

	// f. A node whose CSINode lets it attach one volume of a driver: of two pods each using a
	// volume of that driver, the second stays pending; it binds once the CSINode allows two.
	t.Run("attach limit", func(t *testing.T) {
		t.Parallel()
		c := newVolCase(ctx, t, admin, 1, nil)
		const driver = "attach.e2e.berth.test"
		c.create(testenv.NewCSINode(c.node(0), driver, 1))
		class := c.class(testenv.NoProvisioner, storagev1.VolumeBindingWaitForFirstConsumer)
		for i := range 2 {
			pv := testenv.NewCSIPV(fmt.Sprintf("%s-csi-%d", c.ns, i), class, driver)
			pvc := testenv.NewClaim(c.ns, fmt.Sprintf("data-%d", i), class)
			testenv.PreBind(pv, pvc)
			c.createPV(pv)
			c.create(pvc)
		}
		c.claimBound("data-0")
		c.claimBound("data-1")
		c.pod("first", "data-0")
		c.bound("first")
		c.pod("second", "data-1")
		c.pendingFor("second", " 1 "+reasonMaxVolumes)
		time.Sleep(time.Second)
		c.unbound("second")
		csiNode, err := admin.StorageV1().CSINodes().Get(ctx, c.node(0), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		csiNode.Spec.Drivers[0].Allocatable.Count = new(int32(2))
		if _, err := admin.StorageV1().CSINodes().Update(ctx, csiNode, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("raising the attach limit: %v", err)
		}
		c.bound("second")
	})

	// g. Two pods whose claims both match the only available volume (a WaitForFirstConsumer class
	// without provisioner): exactly one pod binds, with the volume; the other stays pending.
	t.Run("two claims race for one volume", func(t *testing.T) {
		t.Parallel()
		c := newVolCase(ctx, t, admin, 2, nil)
		class := c.class(testenv.NoProvisioner, storagev1.VolumeBindingWaitForFirstConsumer)
		pv := c.createPV(testenv.NewLocalPV(c.ns+"-only", class, testenv.NodeAffinityIn(groupLabel, c.ns)))
		for i := range 2 {
			c.create(testenv.NewClaim(c.ns, fmt.Sprintf("data-%d", i), class))
		}
		for i := range 2 {
			c.pod(fmt.Sprintf("racer-%d", i), fmt.Sprintf("data-%d", i))
		}
		// Wait for one binding, then give the other every chance to bind too.
		winner, loser := -1, -1
		waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		for winner < 0 {
			for i := range 2 {
				p, err := admin.CoreV1().Pods(c.ns).Get(waitCtx, fmt.Sprintf("racer-%d", i), metav1.GetOptions{})
				if err == nil && p.Spec.NodeName != "" {
					winner, loser = i, 1-i
					break
				}
			}
			select {
			case <-waitCtx.Done():
				t.Fatal("neither racer was bound")
			case <-time.After(100 * time.Millisecond):
			}
		}
		w, l := fmt.Sprintf("racer-%d", winner), fmt.Sprintf("racer-%d", loser)
		_, got := c.claimBound(fmt.Sprintf("data-%d", winner))
		if got.Name != pv.Name {
			t.Errorf("%s's claim bound to %s, want %s", w, got.Name, pv.Name)
		}
		c.pendingFor(l, fmt.Sprintf(" %d %s", len(c.nodes), reasonNoPVToBind))
		time.Sleep(2 * time.Second)
		c.unbound(l)
		lc, err := admin.CoreV1().PersistentVolumeClaims(c.ns).Get(ctx, fmt.Sprintf("data-%d", loser), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if lc.Spec.VolumeName != "" || lc.Status.Phase != v1.ClaimPending || lc.Annotations[testenv.AnnSelectedNode] != "" {
			t.Errorf("%s's claim: volumeName %q, phase %s, selected node %q; want it left pending and untouched",
				l, lc.Spec.VolumeName, lc.Status.Phase, lc.Annotations[testenv.AnnSelectedNode])
		}
	})
}

// volCase is one volume case's namespace and nodes (labeled groupLabel = namespace).
type volCase struct {
	t     *testing.T
	ctx   context.Context
	admin kubernetes.Interface
	ns    string
	nodes []string
	start time.Time
}

// logf logs a step with the time since the case started.
func (c *volCase) logf(format string, args ...any) {
	c.t.Helper()
	c.t.Logf("+%5.2fs "+format, append([]any{time.Since(c.start).Seconds()}, args...)...)
}

// newVolCase creates a namespace and n nodes of 4 CPU and 8Gi, each edited by edit when not nil.
func newVolCase(ctx context.Context, t *testing.T, admin kubernetes.Interface, n int, edit func(i int, s *testenv.NodeSpec)) *volCase {
	t.Helper()
	ns, err := testenv.CreateNamespace(ctx, admin, "volumes", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &volCase{t: t, ctx: ctx, admin: admin, ns: ns, start: time.Now()}
	t.Cleanup(func() { // leave no pending pod to the package's later schedulers
		err := admin.CoreV1().Pods(ns).DeleteCollection(context.Background(),
			metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))}, metav1.ListOptions{})
		if err != nil {
			t.Errorf("deleting the pods of %s: %v", ns, err)
		}
	})
	for i := range n {
		s := testenv.NodeSpec{Name: fmt.Sprintf("%s-n%d", ns, i), CPU: "4", Memory: "8Gi", Labels: map[string]string{groupLabel: ns}}
		if edit != nil {
			edit(i, &s)
		}
		if _, err := testenv.CreateNode(ctx, admin, s); err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, s.Name)
	}
	return c
}

func (c *volCase) node(i int) string { return c.nodes[i] }

// class creates a storage class named after the case and returns its name.
func (c *volCase) class(provisioner string, mode storagev1.VolumeBindingMode) string {
	c.t.Helper()
	name := fmt.Sprintf("%s-%s", c.ns, strings.ToLower(string(mode)))
	c.create(testenv.NewStorageClass(name, provisioner, mode))
	return name
}

// create creates obj (in the case's namespace when namespaced) and returns what the API server
// stored.
func (c *volCase) create(obj any) any {
	c.t.Helper()
	var out any
	var err error
	opts := metav1.CreateOptions{}
	switch o := obj.(type) {
	case *v1.Pod:
		out, err = c.admin.CoreV1().Pods(c.ns).Create(c.ctx, o, opts)
	case *v1.PersistentVolumeClaim:
		out, err = c.admin.CoreV1().PersistentVolumeClaims(c.ns).Create(c.ctx, o, opts)
	case *v1.PersistentVolume:
		out, err = c.admin.CoreV1().PersistentVolumes().Create(c.ctx, o, opts)
	case *storagev1.StorageClass:
		out, err = c.admin.StorageV1().StorageClasses().Create(c.ctx, o, opts)
	case *storagev1.CSINode:
		out, err = c.admin.StorageV1().CSINodes().Create(c.ctx, o, opts)
	default:
		c.t.Fatalf("create: unexpected %T", obj)
	}
	if err != nil {
		c.t.Fatalf("creating %T: %v", obj, err)
	}
	return out
}

// podSpec is the spec of the case's pods: 100m CPU, 64Mi, on the case's nodes only.
func (c *volCase) podSpec() v1.PodSpec {
	spec := testenv.Pod(c.ns, "", "100m", "64Mi").Spec
	spec.NodeSelector = map[string]string{groupLabel: c.ns}
	return spec
}

// pod creates a pod of the case using claim, edited by edit.
func (c *volCase) pod(name, claim string, edit ...func(*v1.Pod)) *v1.Pod {
	c.t.Helper()
	p := testenv.Pod(c.ns, name, "", "")
	p.Spec = c.podSpec()
	testenv.WithClaims(p, claim)
	for _, e := range edit {
		e(p)
	}
	return c.create(p).(*v1.Pod)
}

// delete deletes the pod at once (no kubelet ever confirms), if it is still the same pod.
func (c *volCase) delete(p *v1.Pod) {
	c.t.Helper()
	err := c.admin.CoreV1().Pods(c.ns).Delete(c.ctx, p.Name, metav1.DeleteOptions{
		GracePeriodSeconds: new(int64(0)), Preconditions: &metav1.Preconditions{UID: &p.UID}})
	if err != nil && !apierrors.IsNotFound(err) {
		c.t.Fatalf("deleting pod %s: %v", p.Name, err)
	}
}

// wait waits up to 30s for the pod to satisfy cond.
func (c *volCase) wait(name string, cond func(*v1.Pod) bool) *v1.Pod {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	return waitPod(ctx, c.t, c.admin, c.ns, name, cond)
}

// bound waits until the pod is bound to one of the case's nodes and returns it.
func (c *volCase) bound(name string) *v1.Pod {
	c.t.Helper()
	p := c.wait(name, func(p *v1.Pod) bool { return p.Spec.NodeName != "" })
	c.logf("%s bound to %s", name, p.Spec.NodeName)
	if !slices.Contains(c.nodes, p.Spec.NodeName) {
		c.t.Errorf("%s bound to %s, not one of the case's nodes %v", name, p.Spec.NodeName, c.nodes)
	}
	return p
}

// pending waits until the pod's PodScheduled condition is False with reason Unschedulable and a
// message that ok accepts (a first attempt may have failed for another reason), and returns it.
// On timeout, the test fails with the last condition seen.
func (c *volCase) pending(name string, ok func(msg string) bool) *v1.PodCondition {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	var last *v1.Pod
	for {
		p, err := c.admin.CoreV1().Pods(c.ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			last = p
			if p.Spec.NodeName != "" {
				c.t.Fatalf("%s was bound to %s, want it pending", name, p.Spec.NodeName)
			}
			if cond := scheduledFalse(p); cond != nil && cond.Reason == v1.PodReasonUnschedulable && ok(cond.Message) {
				c.logf("%s pending: %s", name, cond.Message)
				return cond
			}
		}
		select {
		case <-ctx.Done():
			var conds []v1.PodCondition
			node := ""
			if last != nil {
				conds, node = last.Status.Conditions, last.Spec.NodeName
			}
			c.t.Fatalf("pod %s/%s: not pending with the expected message: node %q, conditions %+v", c.ns, name, node, conds)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// filterMessage is kube-scheduler's message for a pod that passed PreFilter and fits no node:
// the filter reasons by node count, then what preemption found.
var filterMessage = regexp.MustCompile(`^0/\d+ nodes are available: (.+)\. preemption: 0/\d+ nodes are available: .+\.$`)

// pendingFor is pending for a message of filterMessage's shape whose filter reasons include want
// (" <count> <reason>").
func (c *volCase) pendingFor(name, want string) *v1.PodCondition {
	c.t.Helper()
	return c.pending(name, func(msg string) bool {
		m := filterMessage.FindStringSubmatch(msg)
		return m != nil && strings.Contains(" "+m[1]+",", want+",")
	})
}

// unbound checks that the pod is still not bound.
func (c *volCase) unbound(name string) {
	c.t.Helper()
	p, err := c.admin.CoreV1().Pods(c.ns).Get(c.ctx, name, metav1.GetOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	if p.Spec.NodeName != "" {
		c.t.Errorf("%s was bound to %s, want it pending", name, p.Spec.NodeName)
	}
}

// event checks that an event of reason about the pod has a note matching want.
func (c *volCase) event(name, reason string, want *regexp.Regexp) {
	c.t.Helper()
	var notes []string
	for range 50 { // the event is written after the condition: give it a few seconds
		list, err := c.admin.EventsV1().Events(c.ns).List(c.ctx, metav1.ListOptions{})
		if err != nil {
			c.t.Fatal(err)
		}
		notes = notes[:0]
		for _, e := range list.Items {
			if e.Regarding.Name == name && e.Reason == reason {
				if want.MatchString(e.Note) && e.Type == v1.EventTypeWarning {
					return
				}
				notes = append(notes, e.Type+": "+e.Note)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Errorf("no %s event about %s matches %s; got %q", reason, name, want, notes)
}

// claimBound waits until the claim and its volume are bound to each other and returns them.
func (c *volCase) claimBound(name string) (*v1.PersistentVolumeClaim, *v1.PersistentVolume) {
	c.t.Helper()
	pvc, pv, err := testenv.WaitClaimBound(c.ctx, c.admin, c.ns, name, 30*time.Second)
	if err != nil {
		c.t.Fatal(err)
	}
	c.logf("claim %s bound to %s", name, pv.Name)
	return pvc, pv
}

// createPV creates the volume and waits until the PV binder has made it Available: the binder
// has it then. A claim created earlier could make the binder look for it before its informer
// has it; the binder then tries again only at its next resync, 15s later.
func (c *volCase) createPV(pv *v1.PersistentVolume) *v1.PersistentVolume {
	c.t.Helper()
	c.create(pv)
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := c.admin.CoreV1().PersistentVolumes().Get(c.ctx, pv.Name, metav1.GetOptions{})
		if err == nil && got.Status.Phase == v1.VolumeAvailable {
			return got
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("volume %s not Available after 30s (err %v)", pv.Name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// volumeSelects checks that the volume's required node affinity selects the node (terms of In
// expressions only, as the test provisioner writes them).
func (c *volCase) volumeSelects(pv *v1.PersistentVolume, node string) {
	c.t.Helper()
	n, err := c.admin.CoreV1().Nodes().Get(c.ctx, node, metav1.GetOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		c.t.Errorf("volume %s has no required node affinity", pv.Name)
		return
	}
	for _, term := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		matches := len(term.MatchExpressions) > 0
		for _, e := range term.MatchExpressions {
			if e.Operator != v1.NodeSelectorOpIn {
				c.t.Fatalf("volume %s: operator %s in its node affinity, the test reads only In", pv.Name, e.Operator)
			}
			v, ok := n.Labels[e.Key]
			matches = matches && ok && slices.Contains(e.Values, v)
		}
		if matches {
			return
		}
	}
	c.t.Errorf("volume %s's node affinity %+v does not select node %s", pv.Name, pv.Spec.NodeAffinity.Required, node)
}
