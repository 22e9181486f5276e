package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-scheduler/berth/testenv"
)

// gpuDriver is the DRA driver the test plays: it publishes one ResourceSlice per node, a pool
// named after the node. Its devices have attributes model (string), numa (int) and firmware
// (version), and capacity memory.
const gpuDriver = "gpu.e2e.berth.test"

// dumpEnv, when set, makes each DRA case log its events and claims even when it passes.
const dumpEnv = "BERTH_E2E_DUMP"

// Device classes, cluster-wide, made by TestDynamicResources.
const (
	gpuClass    = "gpu.e2e.berth.test"     // every device of gpuDriver
	bigGPUClass = "big-gpu.e2e.berth.test" // those with at least 40Gi of memory
	lateClass   = "late.e2e.berth.test"    // made by case g once its pod is pending
)

// The reasons kube-scheduler v1.37 gives for a node, as DynamicResources' Filter and NodeAffinity
// write them.
const (
	reasonCannotAllocate = "cannot allocate all claims"
	reasonNodeSelector   = "node(s) didn't match Pod's node affinity/selector"
)

// CEL selectors and their Go twins, which checkAllocations applies to the devices allocated.
var (
	celBigMemory   = fmt.Sprintf(`device.capacity[%q].memory.compareTo(quantity("40Gi")) >= 0`, gpuDriver)
	celSmall       = fmt.Sprintf(`device.attributes[%q].model == "small"`, gpuDriver)
	celNewFirmware = fmt.Sprintf(`device.attributes[%q].firmware.isGreaterThan(semver("1.0.0"))`, gpuDriver)

	anyGPU    = func(resourcev1.Device) bool { return true }
	bigMemory = func(d resourcev1.Device) bool {
		m := capacity(d, "memory")
		return m.Cmp(resource.MustParse("40Gi")) >= 0
	}
	small       = func(d resourcev1.Device) bool { return attr(d, "model") == "small" }
	newFirmware = func(d resourcev1.Device) bool { return versionGreater(attr(d, "firmware"), "1.0.0") }
)

// TestDynamicResources runs the scheduler as a real process with kube-controller-manager's
// resourceclaim controller (which makes each pod's claims from its templates), the test playing a
// node-local GPU driver (a ResourceSlice per node), in the cases a cluster with devices meets:
// claims from templates filling the nodes, allocation mode All, a matchAttribute constraint,
// firstAvailable subrequests, tainted devices, a claim shared by two pods, and claims that cannot
// be satisfied or do not exist. Each case has its namespace and its nodes (its pods select them
// by label) and runs in parallel with the others. After each, checkAllocations checks every claim
// of the case: no device given twice, every device on its pod's node and of the kind asked for.
//
// With BERTH_E2E_UPSTREAM=1 it runs upstream kube-scheduler, whose behaviour (messages included)
// it states; with BERTH_E2E_DUMP=1 it logs each case's events and claims (always on failure).
//
// Not tested here: what needs a kubelet (devices prepared on the node, a pod running, its claims
// released when it ends), NoExecute taints (the device-taint-eviction controller is not run),
// and DRA features beyond the cases above: admin access, consumable capacity, partitionable
// devices and counters, binding conditions, extended resources backed by a DeviceClass, claims
// of a PodGroup. Nor is the transient state of a shared claim: upstream may fail the second pod
// once, with "resource claim NS/NAME is in the process of being allocated", while the first
// pod's allocation is being written; the test only waits for both to bind.
func TestDynamicResources(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel) // not defer: the parallel cases run after this function returns
	admin := kubernetes.NewForConfigOrDie(cp.Admin)

	start := time.Now()
	kcm, err := cp.StartControllerManager(ctx, "resourceclaim-controller")
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

	for _, class := range []*resourcev1.DeviceClass{
		testenv.NewDeviceClass(gpuClass, gpuDriver),
		testenv.NewDeviceClass(bigGPUClass, gpuDriver, celBigMemory),
	} {
		if _, err := admin.ResourceV1().DeviceClasses().Create(ctx, class, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := admin.ResourceV1().DeviceClasses().Delete(context.Background(), class.Name, metav1.DeleteOptions{}); err != nil {
				t.Errorf("deleting device class %s: %v", class.Name, err)
			}
		})
	}

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

	// a. Nine pods, each with a claim for one GPU from a template, on two nodes of four GPUs:
	// eight bind, each with its generated claim allocated a device of its node and reserved for
	// it; the ninth stays pending, its claim unallocated. Once a bound pod is deleted (the
	// resourceclaim controller then deallocates its claim), the ninth gets its device.
	t.Run("claims from a template fill the nodes", func(t *testing.T) {
		t.Parallel()
		c := newDRACase(ctx, t, admin, gpus(4, "small", "16Gi"), gpus(4, "small", "16Gi"))
		c.create(testenv.NewClaimTemplate(c.ns, "one-gpu", testenv.ExactRequest("gpu", gpuClass, 1)))
		var names []string
		for i := range 9 {
			names = append(names, fmt.Sprintf("p%d", i))
			c.pod(names[i], testenv.ClaimFromTemplate("gpu", "one-gpu"))
		}
		c.claimsMade(names)
		bound, pending := c.boundAndPending(names, 8, reasonCannotAllocate)
		time.Sleep(time.Second) // a retry would not change anything
		c.unbound(pending[0].Name)
		claims := c.checkAllocations(map[string]func(resourcev1.Device) bool{"gpu": anyGPU})
		for _, p := range bound {
			if got := len(claims[c.claimName(p, "gpu")].Status.Allocation.Devices.Results); got != 1 {
				t.Errorf("%s's claim has %d devices, want 1", p.Name, got)
			}
		}
		if claim := claims[c.claimName(pending[0], "gpu")]; claim.Status.Allocation != nil || len(claim.Status.ReservedFor) > 0 {
			t.Errorf("the pending pod %s's claim %s: allocation %+v, reservedFor %+v; want neither",
				pending[0].Name, claim.Name, claim.Status.Allocation, claim.Status.ReservedFor)
		}

		victim := bound[0]
		freed := c.allocatedDevices(claims[c.claimName(victim, "gpu")])
		c.delete(victim)
		c.logf("deleted %s, which had %s/%v", victim.Name, victim.Spec.NodeName, freed)
		p := c.bound(pending[0].Name)
		got := c.allocatedDevices(c.checkAllocations(map[string]func(resourcev1.Device) bool{"gpu": anyGPU})[c.claimName(p, "gpu")])
		if p.Spec.NodeName != victim.Spec.NodeName || !slices.Equal(got, freed) {
			t.Errorf("%s got %s/%v, want the device freed by %s: %s/%v", p.Name, p.Spec.NodeName, got, victim.Name, victim.Spec.NodeName, freed)
		}
	})

	// b. A request with allocationMode All and a selector: the claim gets every device of the
	// pod's node that the selector accepts, and no other.
	t.Run("allocation mode All", func(t *testing.T) {
		t.Parallel()
		old := testenv.NewDevice("gpu-old", map[string]any{"model": "small", "firmware": testenv.Version("0.9.0")}, map[string]string{"memory": "16Gi"})
		c := newDRACase(ctx, t, admin, append(gpus(3, "small", "16Gi"), old), append(gpus(2, "small", "16Gi"), old))
		c.create(testenv.NewClaimTemplate(c.ns, "new-gpus", testenv.AllRequest("gpus", gpuClass, celNewFirmware)))
		p := c.bound(c.pod("all", testenv.ClaimFromTemplate("gpus", "new-gpus")).Name)
		claim := c.checkAllocations(map[string]func(resourcev1.Device) bool{"gpus": newFirmware})[c.claimName(p, "gpus")]
		var got, want []string
		for _, r := range claim.Status.Allocation.Devices.Results {
			got = append(got, r.Device)
		}
		for _, d := range c.slices[p.Spec.NodeName].Spec.Devices {
			if newFirmware(d) {
				want = append(want, d.Name)
			}
		}
		if slices.Sort(got); !slices.Equal(got, want) {
			t.Errorf("claim %s on %s: devices %v, want every one with new firmware: %v", claim.Name, p.Spec.NodeName, got, want)
		}
	})

	// c. Two requests constrained to devices of the same NUMA node: only the node with two GPUs
	// on one NUMA node fits, and gets the pod; a second such pod then fits nowhere.
	t.Run("matchAttribute across requests", func(t *testing.T) {
		t.Parallel()
		numa := func(name string, n int) resourcev1.Device {
			return testenv.NewDevice(name, map[string]any{"model": "small", "numa": n}, map[string]string{"memory": "16Gi"})
		}
		c := newDRACase(ctx, t, admin,
			[]resourcev1.Device{numa("gpu-0", 0), numa("gpu-1", 1)},
			[]resourcev1.Device{numa("gpu-0", 0), numa("gpu-1", 1), numa("gpu-2", 1)},
			[]resourcev1.Device{numa("gpu-0", 2), numa("gpu-1", 3)})
		tmpl := testenv.NewClaimTemplate(c.ns, "numa-pair",
			testenv.ExactRequest("a", gpuClass, 1), testenv.ExactRequest("b", gpuClass, 1))
		tmpl.Spec.Spec.Devices.Constraints = []resourcev1.DeviceConstraint{testenv.MatchAttribute(gpuDriver+"/numa", "a", "b")}
		c.create(tmpl)
		p := c.bound(c.pod("first", testenv.ClaimFromTemplate("pair", "numa-pair")).Name)
		if p.Spec.NodeName != c.node(1) {
			t.Errorf("first bound to %s, the only node with two GPUs on one NUMA node is %s", p.Spec.NodeName, c.node(1))
		}
		c.pod("second", testenv.ClaimFromTemplate("pair", "numa-pair"))
		c.pendingWith("second", reasonCannotAllocate)
		claim := c.checkAllocations(map[string]func(resourcev1.Device) bool{"a": anyGPU, "b": anyGPU})[c.claimName(p, "pair")]
		var numas []string
		for _, r := range claim.Status.Allocation.Devices.Results {
			numas = append(numas, attr(c.device(r), "numa"))
		}
		if len(numas) != 2 || numas[0] != numas[1] {
			t.Errorf("claim %s: devices on NUMA nodes %v, want two on the same", claim.Name, numas)
		}
	})

	// d. A request whose subrequests prefer a big GPU (a class with a memory selector) to a small
	// one: the first pod gets the big GPU, the second, with no big GPU left, a small one; each
	// allocation names the subrequest ("gpu/big", "gpu/small").
	t.Run("firstAvailable subrequests", func(t *testing.T) {
		t.Parallel()
		big := testenv.NewDevice("gpu-big", map[string]any{"model": "big", "firmware": testenv.Version("1.2.0")}, map[string]string{"memory": "80Gi"})
		c := newDRACase(ctx, t, admin, append(gpus(2, "small", "16Gi"), big))
		c.create(testenv.NewClaimTemplate(c.ns, "prefer-big", testenv.FirstAvailableRequest("gpu",
			testenv.SubRequest("big", bigGPUClass, 1),
			testenv.SubRequest("small", gpuClass, 1, celSmall))))
		want := map[string]func(resourcev1.Device) bool{"gpu/big": bigMemory, "gpu/small": small}
		for _, step := range []struct{ pod, request string }{{"first", "gpu/big"}, {"second", "gpu/small"}} {
			p := c.bound(c.pod(step.pod, testenv.ClaimFromTemplate("gpu", "prefer-big")).Name)
			claim := c.checkAllocations(want)[c.claimName(p, "gpu")]
			if r := claim.Status.Allocation.Devices.Results; len(r) != 1 || r[0].Request != step.request {
				t.Errorf("%s's claim %s: results %+v, want one device for %s", step.pod, claim.Name, r, step.request)
			}
		}
	})

	// e. A device tainted NoSchedule by its driver: a pod whose request does not tolerate the
	// taint gets the other device; a second such pod stays pending; a pod that tolerates it gets
	// the tainted device.
	t.Run("tainted device", func(t *testing.T) {
		t.Parallel()
		const taintKey = gpuDriver + "/unhealthy"
		tainted := testenv.TaintDevice(gpus(1, "small", "16Gi")[0], taintKey, "ecc", resourcev1.DeviceTaintEffectNoSchedule)
		tainted.Name = "gpu-tainted"
		c := newDRACase(ctx, t, admin, append(gpus(1, "small", "16Gi"), tainted))
		c.create(testenv.NewClaimTemplate(c.ns, "gpu", testenv.ExactRequest("gpu", gpuClass, 1)))
		c.create(testenv.NewClaimTemplate(c.ns, "any-gpu", testenv.Tolerating(testenv.ExactRequest("gpu", gpuClass, 1),
			testenv.TolerateTaint(taintKey, resourcev1.DeviceTaintEffectNoSchedule))))
		want := map[string]func(resourcev1.Device) bool{"gpu": anyGPU}
		p := c.bound(c.pod("plain-0", testenv.ClaimFromTemplate("gpu", "gpu")).Name)
		if d := c.allocatedDevices(c.checkAllocations(want)[c.claimName(p, "gpu")]); !slices.Equal(d, []string{"gpu-0"}) {
			t.Errorf("plain-0 got %v, want the untainted gpu-0", d)
		}
		c.pod("plain-1", testenv.ClaimFromTemplate("gpu", "gpu"))
		c.pendingWith("plain-1", reasonCannotAllocate)
		p = c.bound(c.pod("tolerant", testenv.ClaimFromTemplate("gpu", "any-gpu")).Name)
		if d := c.allocatedDevices(c.checkAllocations(want)[c.claimName(p, "gpu")]); !slices.Equal(d, []string{"gpu-tainted"}) {
			t.Errorf("tolerant got %v, want the tainted device it tolerates", d)
		}
		c.unbound("plain-1")
	})

	// f. A plain claim used by two pods: both bind to the node of its one device, and the claim
	// is reserved for both.
	t.Run("claim shared by two pods", func(t *testing.T) {
		t.Parallel()
		c := newDRACase(ctx, t, admin, gpus(1, "small", "16Gi"), gpus(1, "small", "16Gi"), gpus(1, "small", "16Gi"))
		c.create(testenv.NewResourceClaim(c.ns, "shared", testenv.ExactRequest("gpu", gpuClass, 1)))
		c.pod("user-0", testenv.ExistingClaim("gpu", "shared"))
		c.pod("user-1", testenv.ExistingClaim("gpu", "shared"))
		p0, p1 := c.bound("user-0"), c.bound("user-1")
		if p0.Spec.NodeName != p1.Spec.NodeName {
			t.Errorf("user-0 on %s, user-1 on %s: want both on the node of their shared claim", p0.Spec.NodeName, p1.Spec.NodeName)
		}
		claim := c.checkAllocations(map[string]func(resourcev1.Device) bool{"gpu": anyGPU})["shared"]
		if got := len(claim.Status.ReservedFor); got != 2 {
			t.Errorf("claim shared reserved for %d consumers, want the 2 pods: %+v", got, claim.Status.ReservedFor)
		}
		if d := c.allocatedDevices(claim); len(d) != 1 {
			t.Errorf("claim shared was given %v, want one device", d)
		}
	})

	// g. Claims that cannot be satisfied: one for more GPUs than any node has, and one of a
	// device class that does not exist, keep their pods pending with kube-scheduler's messages.
	// A pod whose plain claim does not exist is held before scheduling (DynamicResources'
	// PreEnqueue): no condition, no event. Each binds once the cluster changes: the driver
	// publishes a fifth GPU on n1 (which the first then takes whole), the claim is created, the
	// class is created.
	t.Run("unsatisfiable and missing claims", func(t *testing.T) {
		t.Parallel()
		c := newDRACase(ctx, t, admin, gpus(4, "small", "16Gi"), gpus(4, "small", "16Gi"))
		c.create(testenv.NewClaimTemplate(c.ns, "five-gpus", testenv.ExactRequest("gpu", gpuClass, 5)))
		c.create(testenv.NewClaimTemplate(c.ns, "no-class", testenv.ExactRequest("gpu", lateClass, 1)))
		c.pod("too-many", testenv.ClaimFromTemplate("gpu", "five-gpus"))
		c.pod("no-class", testenv.ClaimFromTemplate("gpu", "no-class"))
		c.pod("no-claim", testenv.ExistingClaim("gpu", "later"))

		c.pendingWith("too-many", reasonCannotAllocate)
		c.pendingPreFilter("no-class", fmt.Sprintf("request gpu: device class %s does not exist", lateClass))

		time.Sleep(2 * time.Second) // the other two were tried: this one would have been too
		p, err := admin.CoreV1().Pods(c.ns).Get(ctx, "no-claim", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Spec.NodeName != "" || podCondition(p, v1.PodScheduled) != nil {
			t.Errorf("no-claim: node %q, conditions %+v; want it held before scheduling, with no condition", p.Spec.NodeName, p.Status.Conditions)
		}
		c.noEvent("no-claim", "FailedScheduling")
		c.unbound("too-many")
		c.unbound("no-class")

		c.publish(c.node(1), gpus(5, "small", "16Gi"))
		if p := c.bound("too-many"); p.Spec.NodeName != c.node(1) {
			t.Errorf("too-many bound to %s, the only node with five GPUs is %s", p.Spec.NodeName, c.node(1))
		}
		c.create(testenv.NewResourceClaim(c.ns, "later", testenv.ExactRequest("gpu", gpuClass, 1)))
		c.bound("no-claim")
		c.create(testenv.NewDeviceClass(lateClass, gpuDriver))
		c.bound("no-class")
		c.checkAllocations(map[string]func(resourcev1.Device) bool{"gpu": anyGPU})
	})
}

// draCase is one DRA case: a volCase (namespace, nodes, pod helpers) whose nodes each have a
// ResourceSlice of gpuDriver.
type draCase struct {
	*volCase
	slices map[string]*resourcev1.ResourceSlice // by node name
}

// newDRACase creates a namespace and one node (4 CPU, 8Gi) per device list, with a ResourceSlice
// of gpuDriver holding those devices. The slices are deleted when the case ends.
func newDRACase(ctx context.Context, t *testing.T, admin kubernetes.Interface, devices ...[]resourcev1.Device) *draCase {
	t.Helper()
	ns, err := testenv.CreateNamespace(ctx, admin, "dra", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &draCase{
		volCase: &volCase{t: t, ctx: ctx, admin: admin, ns: ns, start: time.Now()},
		slices:  map[string]*resourcev1.ResourceSlice{},
	}
	t.Cleanup(func() { // leave no pending pod nor slice to the package's later schedulers
		if t.Failed() || os.Getenv(dumpEnv) != "" {
			c.dump()
		}
		err := admin.CoreV1().Pods(ns).DeleteCollection(context.Background(),
			metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))}, metav1.ListOptions{})
		if err != nil {
			t.Errorf("deleting the pods of %s: %v", ns, err)
		}
		for _, s := range c.slices {
			if err := admin.ResourceV1().ResourceSlices().Delete(context.Background(), s.Name, metav1.DeleteOptions{}); err != nil {
				t.Errorf("deleting ResourceSlice %s: %v", s.Name, err)
			}
		}
	})
	for i, devs := range devices {
		s := testenv.NodeSpec{Name: fmt.Sprintf("%s-n%d", ns, i), CPU: "4", Memory: "8Gi", Labels: map[string]string{groupLabel: ns}}
		if _, err := testenv.CreateNode(ctx, admin, s); err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, s.Name)
		c.slices[s.Name] = c.create(testenv.NewNodeSlice(s.Name, gpuDriver, devs...)).(*resourcev1.ResourceSlice)
	}
	return c
}

// dump logs the case's events and claims, for a failure report.
func (c *draCase) dump() {
	events, err := c.admin.EventsV1().Events(c.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		c.t.Logf("listing the events of %s: %v", c.ns, err)
		return
	}
	for _, e := range events.Items {
		count := int32(1)
		if e.Series != nil {
			count = e.Series.Count
		}
		c.t.Logf("event %s %s/%s by %s (x%d): %s %s: %s", e.CreationTimestamp.Format(time.TimeOnly), e.Regarding.Kind, e.Regarding.Name,
			e.ReportingController, count, e.Type, e.Reason, e.Note)
	}
	claims, err := c.admin.ResourceV1().ResourceClaims(c.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		c.t.Logf("listing the claims of %s: %v", c.ns, err)
		return
	}
	for _, claim := range claims.Items {
		var devices []string
		node := ""
		if a := claim.Status.Allocation; a != nil {
			node = allocationNode(a)
			for _, r := range a.Devices.Results {
				devices = append(devices, r.Request+"="+r.Pool+"/"+r.Device)
			}
		}
		var users []string
		for _, r := range claim.Status.ReservedFor {
			users = append(users, r.Name)
		}
		c.t.Logf("claim %s: node %q, devices %v, reserved for %v", claim.Name, node, devices, users)
	}
}

// gpus returns n devices gpu-0, gpu-1, ... of the model and memory, with firmware 1.2.0.
func gpus(n int, model, memory string) []resourcev1.Device {
	var out []resourcev1.Device
	for i := range n {
		out = append(out, testenv.NewDevice(fmt.Sprintf("gpu-%d", i),
			map[string]any{"model": model, "firmware": testenv.Version("1.2.0")}, map[string]string{"memory": memory}))
	}
	return out
}

// create creates obj (in the case's namespace when namespaced) and returns what the API server
// stored; objects other than DRA ones go to volCase.create.
func (c *draCase) create(obj any) any {
	c.t.Helper()
	var out any
	var err error
	opts := metav1.CreateOptions{}
	r := c.admin.ResourceV1()
	switch o := obj.(type) {
	case *resourcev1.ResourceSlice:
		out, err = r.ResourceSlices().Create(c.ctx, o, opts)
	case *resourcev1.ResourceClaim:
		out, err = r.ResourceClaims(c.ns).Create(c.ctx, o, opts)
	case *resourcev1.ResourceClaimTemplate:
		out, err = r.ResourceClaimTemplates(c.ns).Create(c.ctx, o, opts)
	case *resourcev1.DeviceClass:
		if out, err = r.DeviceClasses().Create(c.ctx, o, opts); err == nil {
			c.t.Cleanup(func() {
				if err := r.DeviceClasses().Delete(context.Background(), o.Name, metav1.DeleteOptions{}); err != nil {
					c.t.Errorf("deleting device class %s: %v", o.Name, err)
				}
			})
		}
	default:
		return c.volCase.create(obj)
	}
	if err != nil {
		c.t.Fatalf("creating %T: %v", obj, err)
	}
	return out
}

// publish replaces the devices of node's slice, as the driver does when the node's hardware
// changes: the pool's generation goes up by one.
func (c *draCase) publish(node string, devices []resourcev1.Device) {
	c.t.Helper()
	s := c.slices[node].DeepCopy()
	s.Spec.Devices = devices
	s.Spec.Pool.Generation++
	got, err := c.admin.ResourceV1().ResourceSlices().Update(c.ctx, s, metav1.UpdateOptions{})
	if err != nil {
		c.t.Fatalf("updating ResourceSlice %s: %v", s.Name, err)
	}
	c.slices[node] = got
	c.logf("%s now has %d devices", node, len(devices))
}

// pod creates a pod of the case (100m CPU, 64Mi, on the case's nodes only) with the claims.
func (c *draCase) pod(name string, claims ...v1.PodResourceClaim) *v1.Pod {
	c.t.Helper()
	p := testenv.Pod(c.ns, name, "100m", "64Mi")
	p.Spec.NodeSelector = map[string]string{groupLabel: c.ns}
	return c.create(testenv.WithResourceClaims(p, claims...)).(*v1.Pod)
}

// claimName returns the name of the claim of pod's entry called entry: the claim it names, or
// the one the resourceclaim controller made from its template (read from the pod's status, which
// must be there already).
func (c *draCase) claimName(pod *v1.Pod, entry string) string {
	c.t.Helper()
	for _, pc := range pod.Spec.ResourceClaims {
		if pc.Name == entry && pc.ResourceClaimName != nil {
			return *pc.ResourceClaimName
		}
	}
	for _, s := range pod.Status.ResourceClaimStatuses {
		if s.Name == entry && s.ResourceClaimName != nil {
			return *s.ResourceClaimName
		}
	}
	c.t.Fatalf("pod %s: no claim for entry %s in its status %+v", pod.Name, entry, pod.Status.ResourceClaimStatuses)
	return ""
}

// claimsMade waits until the resourceclaim controller has made the claims of every pod named (its
// status names them) and logs how long that took from now: kube-scheduler does not look at a pod
// before (DynamicResources' PreEnqueue holds it).
func (c *draCase) claimsMade(names []string) {
	c.t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	for _, name := range names {
		waitPod(ctx, c.t, c.admin, c.ns, name, func(p *v1.Pod) bool {
			return len(p.Status.ResourceClaimStatuses) == len(p.Spec.ResourceClaims)
		})
	}
	c.logf("the resourceclaim controller made the claims of %d pods within %s", len(names), time.Since(start).Round(time.Millisecond))
}

// device returns the device of the case that r names (its pool is its node).
func (c *draCase) device(r resourcev1.DeviceRequestAllocationResult) resourcev1.Device {
	c.t.Helper()
	if s, ok := c.slices[r.Pool]; ok {
		for _, d := range s.Spec.Devices {
			if d.Name == r.Device {
				return d
			}
		}
	}
	c.t.Fatalf("allocated device %s/%s/%s is not one of the case's", r.Driver, r.Pool, r.Device)
	return resourcev1.Device{}
}

// allocatedDevices returns the sorted names of the claim's allocated devices.
func (c *draCase) allocatedDevices(claim *resourcev1.ResourceClaim) []string {
	var out []string
	if claim.Status.Allocation != nil {
		for _, r := range claim.Status.Allocation.Devices.Results {
			out = append(out, r.Device)
		}
	}
	slices.Sort(out)
	return out
}

// checkAllocations checks every claim of the case and returns them by name:
//   - an allocated claim's node selector names one node of the case, and every device it was
//     given is a device of gpuDriver in that node's pool, given to no other claim nor twice to it,
//     for a request want knows ("gpu", or "gpu/small" for a subrequest) and accepted by want's
//     function for it (the Go twin of the request's selectors and class);
//   - every consumer it is reserved for is a pod of the case bound to that node;
//   - every bound pod's claims are allocated and reserved for it.
func (c *draCase) checkAllocations(want map[string]func(resourcev1.Device) bool) map[string]*resourcev1.ResourceClaim {
	c.t.Helper()
	claimList, err := c.admin.ResourceV1().ResourceClaims(c.ns).List(c.ctx, metav1.ListOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	podList, err := c.admin.CoreV1().Pods(c.ns).List(c.ctx, metav1.ListOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	pods := map[string]*v1.Pod{} // by UID
	for i := range podList.Items {
		pods[string(podList.Items[i].UID)] = &podList.Items[i]
	}
	claims := map[string]*resourcev1.ResourceClaim{}
	given := map[string]string{} // pool/device -> claim
	for i := range claimList.Items {
		claim := &claimList.Items[i]
		claims[claim.Name] = claim
		alloc := claim.Status.Allocation
		if alloc == nil {
			continue
		}
		node := allocationNode(alloc)
		if !slices.Contains(c.nodes, node) {
			c.t.Errorf("claim %s allocated on node %q (node selector %+v), not one of the case's nodes %v", claim.Name, node, alloc.NodeSelector, c.nodes)
			continue
		}
		for _, r := range alloc.Devices.Results {
			key := r.Pool + "/" + r.Device
			switch {
			case r.Driver != gpuDriver || r.Pool != node:
				c.t.Errorf("claim %s on %s: device %s/%s/%s, want one of %s in pool %s", claim.Name, node, r.Driver, r.Pool, r.Device, gpuDriver, node)
			case given[key] != "":
				c.t.Errorf("device %s given to claim %s and to claim %s", key, given[key], claim.Name)
			case want[r.Request] == nil:
				c.t.Errorf("claim %s: device %s given for request %q, want one of %v", claim.Name, key, r.Request, slices.Sorted(maps.Keys(want)))
			case !want[r.Request](c.device(r)):
				c.t.Errorf("claim %s: device %s %s given for request %s does not satisfy its selectors", claim.Name, key, describe(c.device(r)), r.Request)
			}
			given[key] = claim.Name
		}
		for _, ref := range claim.Status.ReservedFor {
			p := pods[string(ref.UID)]
			if ref.Resource != "pods" || p == nil || p.Name != ref.Name {
				c.t.Errorf("claim %s reserved for %+v, not a pod of the case", claim.Name, ref)
			} else if p.Spec.NodeName != node {
				c.t.Errorf("claim %s on %s is reserved for pod %s, bound to %q", claim.Name, node, p.Name, p.Spec.NodeName)
			}
		}
	}
	for _, p := range pods {
		if p.Spec.NodeName == "" {
			continue
		}
		for _, pc := range p.Spec.ResourceClaims {
			claim := claims[c.claimName(p, pc.Name)]
			switch {
			case claim == nil:
				c.t.Errorf("pod %s bound to %s, its claim for %s does not exist", p.Name, p.Spec.NodeName, pc.Name)
			case claim.Status.Allocation == nil || allocationNode(claim.Status.Allocation) != p.Spec.NodeName:
				c.t.Errorf("pod %s bound to %s, its claim %s is allocated %+v", p.Name, p.Spec.NodeName, claim.Name, claim.Status.Allocation)
			case !slices.ContainsFunc(claim.Status.ReservedFor, func(r resourcev1.ResourceClaimConsumerReference) bool { return r.UID == p.UID }):
				c.t.Errorf("pod %s bound to %s, its claim %s is not reserved for it: %+v", p.Name, p.Spec.NodeName, claim.Name, claim.Status.ReservedFor)
			}
		}
	}
	return claims
}

// allocationNode returns the node an allocation's node selector names: one term matching field
// metadata.name to one node, as kube-scheduler writes it for node-local devices; "" otherwise.
func allocationNode(alloc *resourcev1.AllocationResult) string {
	sel := alloc.NodeSelector
	if sel == nil || len(sel.NodeSelectorTerms) != 1 {
		return ""
	}
	term := sel.NodeSelectorTerms[0]
	if len(term.MatchExpressions) != 0 || len(term.MatchFields) != 1 {
		return ""
	}
	f := term.MatchFields[0]
	if f.Key != "metadata.name" || f.Operator != v1.NodeSelectorOpIn || len(f.Values) != 1 {
		return ""
	}
	return f.Values[0]
}

// boundAndPending waits until want of the pods are bound and the others pending for reason on
// every node of the case (pendingWith's message), then checks the FailedScheduling events of the
// pending ones, and returns both.
func (c *draCase) boundAndPending(names []string, want int, reason string) (bound, pending []*v1.Pod) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	var seen []string // each pod's state at the last complete look, for the failure report
	for {
		var now []string
		bound, pending = nil, nil
		for _, name := range names {
			p, err := c.admin.CoreV1().Pods(c.ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				now = nil
				break
			}
			cond := scheduledFalse(p)
			switch {
			case p.Spec.NodeName != "":
				bound = append(bound, p)
				now = append(now, name+" bound to "+p.Spec.NodeName)
			case cond != nil && cond.Reason == v1.PodReasonUnschedulable && c.filterMessageIs(cond.Message, reason):
				pending = append(pending, p)
				now = append(now, name+" pending: "+cond.Message)
			case cond != nil:
				now = append(now, fmt.Sprintf("%s %s, not the expected message: %s", name, cond.Reason, cond.Message))
			default:
				now = append(now, name+" without a PodScheduled=False condition")
			}
		}
		if now != nil {
			seen = now
		}
		if len(bound) == want && len(bound)+len(pending) == len(names) {
			for _, p := range pending {
				c.logf("%s pending: %s", p.Name, scheduledFalse(p).Message)
				c.eventWith(p.Name, "FailedScheduling", func(msg string) bool { return c.filterMessageIs(msg, reason) })
			}
			c.logf("%d bound, %d pending", len(bound), len(pending))
			return bound, pending
		}
		select {
		case <-ctx.Done():
			c.t.Fatalf("want %d of %v bound and the others pending for %q; last seen:\n%s", want, names, reason, strings.Join(seen, "\n"))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// totalNodes reads the number of nodes from kube-scheduler's message.
var totalNodes = regexp.MustCompile(`^0/(\d+) nodes are available: `)

// filterMessageIs reports whether msg is exactly kube-scheduler v1.37's message for a pod of the
// case that its Filter plugins rejected on every node: the case's nodes for reason, every other
// node for the pod's node selector, then preemption's verdict (not helpful: both reasons are
// unresolvable), e.g.
//
//	0/14 nodes are available: 12 node(s) didn't match Pod's node affinity/selector, 2 cannot allocate all claims. preemption: 0/14 nodes are available: 14 Preemption is not helpful for scheduling.
//
// (reasons sorted as strings). The total is read from msg: other tests add nodes at any time.
func (c *draCase) filterMessageIs(msg, reason string) bool {
	m := totalNodes.FindStringSubmatch(msg)
	if m == nil {
		return false
	}
	n, _ := strconv.Atoi(m[1])
	reasons := []string{fmt.Sprintf("%d %s", len(c.nodes), reason)}
	if other := n - len(c.nodes); other > 0 {
		reasons = append(reasons, fmt.Sprintf("%d %s", other, reasonNodeSelector))
	}
	sort.Strings(reasons)
	return msg == fmt.Sprintf("0/%d nodes are available: %s. preemption: 0/%d nodes are available: %d Preemption is not helpful for scheduling.",
		n, strings.Join(reasons, ", "), n, n)
}

// preFilterMessageIs reports whether msg is exactly kube-scheduler v1.37's message for a pod
// its PreFilter rejected with reason (on every node at once), then preemption's verdict, e.g.
//
//	0/14 nodes are available: request gpu: device class x does not exist. preemption: 0/14 nodes are available: 14 Preemption is not helpful for scheduling.
func preFilterMessageIs(msg, reason string) bool {
	m := totalNodes.FindStringSubmatch(msg)
	if m == nil {
		return false
	}
	n, _ := strconv.Atoi(m[1])
	return msg == fmt.Sprintf("0/%d nodes are available: %s. preemption: 0/%d nodes are available: %d Preemption is not helpful for scheduling.", n, reason, n, n)
}

// pendingWith waits until the pod is pending with filterMessageIs's message for reason, checks
// its FailedScheduling event, and returns its condition.
func (c *draCase) pendingWith(name, reason string) *v1.PodCondition {
	c.t.Helper()
	ok := func(msg string) bool { return c.filterMessageIs(msg, reason) }
	cond := c.pending(name, ok)
	c.eventWith(name, "FailedScheduling", ok)
	return cond
}

// pendingPreFilter is pendingWith for preFilterMessageIs's message.
func (c *draCase) pendingPreFilter(name, reason string) *v1.PodCondition {
	c.t.Helper()
	ok := func(msg string) bool { return preFilterMessageIs(msg, reason) }
	cond := c.pending(name, ok)
	c.eventWith(name, "FailedScheduling", ok)
	return cond
}

// eventWith checks that a Warning event of reason about the pod has a note ok accepts. It does
// not look for the note of the pod's condition: kube-scheduler writes one event per attempt and
// may be late with the last one (or drop it), while other tests' nodes change the counts.
func (c *draCase) eventWith(name, reason string, ok func(note string) bool) {
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
				if e.Type == v1.EventTypeWarning && ok(e.Note) {
					return
				}
				notes = append(notes, e.Type+": "+e.Note)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Errorf("no %s event about %s has the expected note; got %q", reason, name, notes)
}

// noEvent checks that no event of reason is about the pod.
func (c *draCase) noEvent(name, reason string) {
	c.t.Helper()
	list, err := c.admin.EventsV1().Events(c.ns).List(c.ctx, metav1.ListOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Reason == reason {
			c.t.Errorf("%s event about %s: %s %q, want none", reason, name, e.Type, e.Note)
		}
	}
}

// attr returns the device's attribute name as a string ("" when it has none).
func attr(d resourcev1.Device, name string) string {
	a, ok := d.Attributes[resourcev1.QualifiedName(name)]
	switch {
	case !ok:
		return ""
	case a.StringValue != nil:
		return *a.StringValue
	case a.IntValue != nil:
		return strconv.FormatInt(*a.IntValue, 10)
	case a.BoolValue != nil:
		return strconv.FormatBool(*a.BoolValue)
	case a.VersionValue != nil:
		return *a.VersionValue
	}
	return ""
}

// describe returns the device's name, attributes and capacity: "gpu-0 {firmware=1.2.0 model=small memory=16Gi}".
func describe(d resourcev1.Device) string {
	var kv []string
	for name := range d.Attributes {
		kv = append(kv, fmt.Sprintf("%s=%s", name, attr(d, string(name))))
	}
	for name, c := range d.Capacity {
		kv = append(kv, fmt.Sprintf("%s=%s", name, c.Value.String()))
	}
	slices.Sort(kv)
	return d.Name + " {" + strings.Join(kv, " ") + "}"
}

// capacity returns the device's capacity name (zero when it has none).
func capacity(d resourcev1.Device, name string) resource.Quantity {
	return d.Capacity[resourcev1.QualifiedName(name)].Value
}

// versionGreater reports whether version a ("1.2.0") is greater than b, as CEL's semver compares
// them (major, minor, patch; the test's versions have no pre-release part).
func versionGreater(a, b string) bool {
	parse := func(s string) (v [3]int) {
		if _, err := fmt.Sscanf(s, "%d.%d.%d", &v[0], &v[1], &v[2]); err != nil {
			panic(fmt.Sprintf("version %q: %v", s, err))
		}
		return v
	}
	va, vb := parse(a), parse(b)
	return slices.Compare(va[:], vb[:]) > 0
}
