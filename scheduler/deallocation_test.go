package scheduler

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"

	"github.com/berth-scheduler/berth/kubeclient"
	"github.com/berth-scheduler/berth/scheduler/plugins/dynamicresources"
	"github.com/berth-scheduler/berth/scheduler/queue"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

func TestPostFilterMessage(t *testing.T) {
	const preemption = "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
	tests := []struct {
		name         string
		preemptFirst bool
		preemptMsg   string
		found        bool
		delete       bool
		want         string
	}{
		{name: "no preemption", want: "deallocation of ResourceClaim completed"},
		{name: "the default order", preemptMsg: preemption, want: "deallocation of ResourceClaim completed, " + preemption},
		{name: "preemption first", preemptFirst: true, preemptMsg: preemption, want: preemption + ", deallocation of ResourceClaim completed"},
		{name: "preemption found a node: its success alone", preemptMsg: "preemption: found", found: true, want: "preemption: found"},
		{name: "a stale extended resource claim deleted", delete: true, preemptMsg: preemption, want: "deletion of ResourceClaim completed, " + preemption},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := postFilterMessage(&Profile{PreemptFirst: tc.preemptFirst}, &dynamicresources.Deallocation{Delete: tc.delete}, tc.preemptMsg, tc.found); got != tc.want {
				t.Errorf("postFilterMessage = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestDeallocation runs a pod whose claim is allocated for a node the pod cannot use through one
// attempt of the scheduling loop with the default profile: nodes a (rack r1, one free GPU) and b
// (rack r2), the pod selecting rack r1, its claim allocated on b. It checks what is written to
// the claim, what the cache then shows, the pod's message, and that the claim's change sends the
// pod back to the queue and the next decision places it on a.
func TestDeallocation(t *testing.T) {
	mkNode := func(name, rack string) *v1.Node {
		return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name, "rack": rack}},
			Status: v1.NodeStatus{Allocatable: v1.ResourceList{v1.ResourceCPU: resource.MustParse("4"),
				v1.ResourceMemory: resource.MustParse("8Gi"), v1.ResourcePods: resource.MustParse("110")}}}
	}
	onB := func(reservedFor ...string) *resourcev1.ResourceClaim {
		c := &resourcev1.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "gpu", UID: "claim-uid", ResourceVersion: "10"},
			Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{Requests: []resourcev1.DeviceRequest{{Name: "gpu",
				Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: "gpu", AllocationMode: resourcev1.DeviceAllocationModeExactCount, Count: 1}}}}}}
		c.Status.Allocation = &resourcev1.AllocationResult{
			NodeSelector: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchFields: []v1.NodeSelectorRequirement{
				{Key: "metadata.name", Operator: v1.NodeSelectorOpIn, Values: []string{"b"}}}}}},
			Devices: resourcev1.DeviceAllocationResult{Results: []resourcev1.DeviceRequestAllocationResult{
				{Request: "gpu", Driver: "gpu.example.com", Pool: "b", Device: "gpu-0"}}}}
		for _, name := range reservedFor {
			c.Status.ReservedFor = append(c.Status.ReservedFor, resourcev1.ResourceClaimConsumerReference{Resource: "pods", Name: name, UID: types.UID("uid-" + name)})
		}
		return c
	}
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid-p", ResourceVersion: "1"},
		Spec: v1.PodSpec{SchedulerName: DefaultSchedulerName, NodeSelector: map[string]string{"rack": "r1"},
			Containers:     []v1.Container{{Name: "c"}},
			ResourceClaims: []v1.PodResourceClaim{{Name: "gpu", ResourceClaimName: ptr("gpu")}}}}
	const filters = "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 resourceclaim not available on the node."
	const preemption = "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
	tests := []struct {
		name    string
		claim   *resourcev1.ResourceClaim
		before  func(stored *resourcev1.ResourceClaim) // changes the API server's claim before the write
		noDRA   bool                                   // DynamicResources is no postFilter plugin
		message string
		// deallocated: the API server's claim and the cache's have no allocation afterwards
		deallocated bool
	}{
		{name: "reserved for no pod: deallocated", claim: onB(),
			message: filters + " deallocation of ResourceClaim completed, " + preemption, deallocated: true},
		{name: "reserved for the pod alone: deallocated", claim: onB("p"),
			message: filters + " deallocation of ResourceClaim completed, " + preemption, deallocated: true},
		{name: "reserved for another pod: left alone", claim: onB("other"), message: filters + " " + preemption},
		{name: "changed meanwhile: a conflict, left alone", claim: onB(),
			before:  func(s *resourcev1.ResourceClaim) { s.ResourceVersion = "11" },
			message: filters + ` Operation cannot be fulfilled on resourceclaims.resource.k8s.io "gpu": stale`},
		{name: "DynamicResources is no postFilter plugin", claim: onB(), noDRA: true, message: filters + " " + preemption},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := kubeclient.New(&rest.Config{Host: "http://127.0.0.1:1"})
			if err != nil {
				t.Fatal(err)
			}
			prof, err := DefaultProfile(DefaultSchedulerName, nil, 1)
			if err != nil {
				t.Fatal(err)
			}
			if !prof.DeallocateClaims || prof.PreemptFirst {
				t.Fatalf("the default profile: DeallocateClaims %v, PreemptFirst %v; want true, false", prof.DeallocateClaims, prof.PreemptFirst)
			}
			prof.DeallocateClaims = !tc.noDRA
			fc := fake.NewClientset(pod.DeepCopy())
			claims := &fakeClaims{claims: map[string]*resourcev1.ResourceClaim{"ns/gpu": tc.claim.DeepCopy()}, rv: 20, before: tc.before}
			s, err := New(Config{
				Pods:      func(ns string) PodWriter { return fc.CoreV1().Pods(ns) },
				Events:    func(ns string) EventWriter { return fc.EventsV1().Events(ns) },
				Informers: kubeclient.NewInformers(c), Profiles: []Profile{prof}, ResourceClaims: claims,
			})
			if err != nil {
				t.Fatal(err)
			}
			s.cache.AddNode(mkNode("a", "r1"))
			s.cache.AddNode(mkNode("b", "r2"))
			s.cache.SetDeviceClass(&resourcev1.DeviceClass{ObjectMeta: metav1.ObjectMeta{Name: "gpu"}})
			slice := &resourcev1.ResourceSlice{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: resourcev1.ResourceSliceSpec{
				Driver: "gpu.example.com", NodeName: ptr("a"), Pool: resourcev1.ResourcePool{Name: "a", Generation: 1, ResourceSliceCount: 1},
				Devices: []resourcev1.Device{{Name: "gpu-0"}}}}
			s.cache.SetResourceSlice(slice)
			s.cache.SetResourceClaim(tc.claim)
			s.onPodAdd(pod)

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			qp, err := s.queue.Pop(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pool := newPool(2)
			s.scheduleOne(ctx, pool, qp)
			pool.wait()

			got, err := fc.CoreV1().Pods("ns").Get(ctx, "p", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if msg := conditionMessage(got); msg != tc.message {
				t.Errorf("message\n  %q, want\n  %q", msg, tc.message)
			}
			stored := claims.claims["ns/gpu"]
			cached := s.cache.UpdateSnapshot(nil).Devices.Claim("ns", "gpu")
			if deallocated := stored.Status.Allocation == nil; deallocated != tc.deallocated {
				t.Fatalf("the API server's claim deallocated: %v, want %v (calls %v)", deallocated, tc.deallocated, claims.calls)
			}
			if (cached.Status.Allocation == nil) != tc.deallocated {
				t.Errorf("the cache's claim deallocated: %v, want %v", cached.Status.Allocation == nil, tc.deallocated)
			}
			if st, _ := s.queue.Status("ns/p"); st.State != queue.StateUnschedulable {
				t.Errorf("the pod is %q, want unschedulable", st.State)
			}
			if !tc.deallocated {
				return
			}
			if len(stored.Status.ReservedFor) != 0 || stored.Status.Devices != nil {
				t.Errorf("status after the deallocation %+v, want it empty", stored.Status)
			}
			// The informer delivers the claim: the pod is queued again and now fits on a.
			s.cache.SetResourceClaim(stored)
			s.queue.OnEvent(queue.ResourceClaimChange)
			qp, err = s.queue.Pop(ctx)
			if err != nil {
				t.Fatal(err)
			}
			res := prof.Decider.Decide(snapshot.NewPodInfo(qp.Pod), s.cache.UpdateSnapshot(nil))
			if res.Node != "a" {
				t.Errorf("the next attempt chose %q (%v), want a", res.Node, res.Diagnosis)
			}
			s.queue.Done(qp)
		})
	}
}

func conditionMessage(p *v1.Pod) string {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodScheduled {
			return c.Message
		}
	}
	return fmt.Sprintf("(no PodScheduled condition: %v)", p.Status.Conditions)
}

func ptr[T any](v T) *T { return &v }

// TestStaleExtendedClaim runs a pod whose extended resource claim an earlier attempt created (and
// could not delete) through one attempt of the scheduling loop with the default profile: every
// node rejects the pod, PostFilter deletes the claim (finalizer first) and says so in the pod's
// message, as upstream's does; once the informer delivers the deletion, the pod is queued again
// and the next decision allocates devices for a new claim.
func TestStaleExtendedClaim(t *testing.T) {
	gpu := "example.com/gpu"
	node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"kubernetes.io/hostname": "a"}},
		Status: v1.NodeStatus{Allocatable: v1.ResourceList{v1.ResourceCPU: resource.MustParse("4"),
			v1.ResourceMemory: resource.MustParse("8Gi"), v1.ResourcePods: resource.MustParse("110")}}}
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid-p", ResourceVersion: "1"},
		Spec: v1.PodSpec{SchedulerName: DefaultSchedulerName, Containers: []v1.Container{{Name: "c", Resources: v1.ResourceRequirements{
			Requests: v1.ResourceList{v1.ResourceName(gpu): resource.MustParse("1")}, Limits: v1.ResourceList{v1.ResourceName(gpu): resource.MustParse("1")}}}}}}
	controller := true
	stale := &resourcev1.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p-extended-resources-old", UID: "claim-uid", ResourceVersion: "10",
		Annotations:     map[string]string{resourcev1.ExtendedResourceClaimAnnotation: "true"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "p", UID: "uid-p", Controller: &controller}},
		Finalizers:      []string{resourcev1.Finalizer}},
		Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{Requests: []resourcev1.DeviceRequest{{Name: "container-0-request-0",
			Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: "gpu", AllocationMode: resourcev1.DeviceAllocationModeExactCount, Count: 1}}}}}}
	const want = "0/1 nodes are available: 1 cannot schedule extended resource claim. deletion of ResourceClaim completed, " +
		"preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."

	c, err := kubeclient.New(&rest.Config{Host: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	prof, err := DefaultProfile(DefaultSchedulerName, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	fc := fake.NewClientset(pod.DeepCopy())
	claims := &fakeClaims{claims: map[string]*resourcev1.ResourceClaim{"ns/" + stale.Name: stale.DeepCopy()}, rv: 20}
	s, err := New(Config{
		Pods:      func(ns string) PodWriter { return fc.CoreV1().Pods(ns) },
		Events:    func(ns string) EventWriter { return fc.EventsV1().Events(ns) },
		Informers: kubeclient.NewInformers(c), Profiles: []Profile{prof}, ResourceClaims: claims,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.cache.AddNode(node)
	s.cache.SetDeviceClass(&resourcev1.DeviceClass{ObjectMeta: metav1.ObjectMeta{Name: "gpu"}, Spec: resourcev1.DeviceClassSpec{ExtendedResourceName: &gpu}})
	s.cache.SetResourceSlice(&resourcev1.ResourceSlice{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: resourcev1.ResourceSliceSpec{
		Driver: "gpu.example.com", NodeName: ptr("a"), Pool: resourcev1.ResourcePool{Name: "a", Generation: 1, ResourceSliceCount: 1},
		Devices: []resourcev1.Device{{Name: "gpu-0"}}}})
	s.cache.SetResourceClaim(stale)
	s.onPodAdd(pod)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	qp, err := s.queue.Pop(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pool := newPool(2)
	s.scheduleOne(ctx, pool, qp)
	pool.wait()

	got, err := fc.CoreV1().Pods("ns").Get(ctx, "p", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if msg := conditionMessage(got); msg != want {
		t.Errorf("message\n  %q, want\n  %q", msg, want)
	}
	if calls := strings.Join(claims.calls, " "); calls != "update delete" || len(claims.claims) != 0 {
		t.Fatalf("claim calls %q, claims left %v; want the stale claim's finalizer removed, then the claim deleted", calls, claims.claims)
	}
	// The informer delivers the deletion: the pod is queued again and gets devices anew.
	s.cache.RemoveResourceClaim(stale)
	s.queue.OnEvent(queue.ResourceClaimDelete)
	qp, err = s.queue.Pop(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res := prof.Decider.Decide(snapshot.NewPodInfo(qp.Pod), s.cache.UpdateSnapshot(nil))
	if res.Node != "a" {
		t.Fatalf("the next attempt chose %q (%v), want a", res.Node, res.Diagnosis)
	}
	var x *dynamicresources.ExtendedClaim
	for _, p := range res.Plans {
		if plan, ok := p.(*dynamicresources.Plan); ok {
			x = plan.Extended
		}
	}
	if x == nil || len(x.Allocation.Devices.Results) != 1 || x.Allocation.Devices.Results[0].Device != "gpu-0" {
		t.Errorf("the next attempt's extended claim %+v, want gpu-0 allocated", x)
	}
	s.queue.Done(qp)
}
