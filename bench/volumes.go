package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/berth-scheduler/berth/scheduler/benchdata"
	"github.com/berth-scheduler/berth/testenv"
)

// A volumes run (benchdata.Workload.Volumes) sets up, before anything is measured, what a
// cluster with WaitForFirstConsumer volumes has: the StorageClass, one unbound claim per pod (as a
// StatefulSet creates them), kube-controller-manager with the PV binder, and a dynamic provisioner
// (testenv.StartProvisioner, in the harness's process) that creates a local PV with node
// affinity to the claim's selected node. Binding a pod then takes: the scheduler writes the claim's
// selected-node annotation, the provisioner creates the PV, the PV binder binds claim and PV, and
// the scheduler, having waited for that, binds the pod.

// volumeBinderController is the one kube-controller-manager controller a volumes run starts.
const volumeBinderController = "persistentvolume-binder-controller"

// controllerManagerClientLimit is kube-controller-manager's client QPS and burst in a volumes
// run, lifted from its defaults (QPS 20, burst 30): the PV binder makes a few writes per claim, and
// at its default limit it, not the scheduler, would set the pace of every run.
const controllerManagerClientLimit = 5000

var controllerManagerArgs = []string{
	fmt.Sprintf("--kube-api-qps=%d", controllerManagerClientLimit),
	fmt.Sprintf("--kube-api-burst=%d", controllerManagerClientLimit),
}

// volumeSetup is what a volumes run started: stop ends the provisioner (kube-controller-manager
// goes with the control plane).
type volumeSetup struct {
	kcm             *testenv.Process
	stopProvisioner func()
	claims          int
}

func (s *volumeSetup) stop() {
	if s == nil {
		return
	}
	if s.stopProvisioner != nil {
		s.stopProvisioner()
	}
	if s.kcm != nil {
		s.kcm.Kill()
	}
}

// setUpVolumes creates the workload's StorageClasses and claims, then starts kube-controller-
// manager (PV binder alone) and the provisioner, and waits until the PV binder has been through
// the claims (its events settled). It returns nil for a workload without volumes. On error what
// it started is in the returned setup, for the caller to stop.
func setUpVolumes(ctx context.Context, cp *testenv.ControlPlane, admin kubernetes.Interface, w benchdata.Workload, s benchdata.Size, workers int) (*volumeSetup, error) {
	if !w.Volumes {
		return nil, nil
	}
	for _, sc := range w.StorageClasses() {
		if _, err := admin.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("creating storage class %s: %w", sc.Name, err)
		}
	}
	claims := w.Claims(benchNamespace, s)
	err := parallel(ctx, len(claims), workers, func(ctx context.Context, i int) error {
		if _, err := admin.CoreV1().PersistentVolumeClaims(benchNamespace).Create(ctx, claims[i], metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating claim %s: %w", claims[i].Name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	vs := &volumeSetup{claims: len(claims)}
	if vs.kcm, err = cp.StartControllerManagerWithArgs(ctx, controllerManagerArgs, volumeBinderController); err != nil {
		return vs, fmt.Errorf("starting kube-controller-manager: %w", err)
	}
	if vs.stopProvisioner, err = testenv.StartProvisioner(ctx, admin, benchdata.StorageClass, benchdata.Provisioner); err != nil {
		return vs, fmt.Errorf("starting the provisioner: %w", err)
	}
	// The PV binder syncs every claim once at its start, and records an event for each (waiting
	// for a first consumer): let that settle, so the measured window holds none of it.
	if err := waitEventsSettled(ctx, admin, benchNamespace, time.Second, 2*time.Minute); err != nil {
		return vs, err
	}
	return vs, nil
}

// waitEventsSettled polls the events of namespace ns until their count has not changed for quiet,
// or fails after limit.
func waitEventsSettled(ctx context.Context, c kubernetes.Interface, ns string, quiet, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	last, since := -1, time.Now()
	for {
		l, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("listing events: %w", err)
		}
		if n := len(l.Items); n != last {
			last, since = n, time.Now()
		} else if time.Since(since) >= quiet {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("events of namespace %s still changing after %s (%d so far)", ns, limit, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// podClaims returns the names of the claims pod's volumes use.
func podClaims(pod *v1.Pod) []string {
	var out []string
	for _, vol := range pod.Spec.Volumes {
		if vol.PersistentVolumeClaim != nil {
			out = append(out, vol.PersistentVolumeClaim.ClaimName)
		}
	}
	return out
}

// claimBound reports whether the PV binder has bound c: phase Bound, with a volume.
func claimBound(c *v1.PersistentVolumeClaim) bool {
	return c.Status.Phase == v1.ClaimBound && c.Spec.VolumeName != ""
}

// claimWatch tells the ceiling when each claim of the run's namespace is bound. Its methods are
// safe for concurrent use.
type claimWatch struct {
	mu    sync.Mutex
	bound map[string]chan struct{} // closed once the claim is seen bound
	seen  map[string]bool
	stop  func()
}

// watchClaims starts a claimWatch on the claims of namespace ns and returns once it has synced.
func watchClaims(ctx context.Context, c kubernetes.Interface, ns string) (*claimWatch, error) {
	w := &claimWatch{bound: map[string]chan struct{}{}, seen: map[string]bool{}}
	f := informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithNamespace(ns))
	inf := f.Core().V1().PersistentVolumeClaims().Informer()
	record := func(obj any) {
		if pvc, ok := obj.(*v1.PersistentVolumeClaim); ok && claimBound(pvc) {
			w.markBound(pvc.Name)
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: record, UpdateFunc: func(_, obj any) { record(obj) }}); err != nil {
		return nil, fmt.Errorf("adding the claim watch handler: %w", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	f.Start(wctx.Done())
	w.stop = func() { cancel(); f.Shutdown() }
	if !cache.WaitForCacheSync(wctx.Done(), inf.HasSynced) {
		w.stop()
		return nil, fmt.Errorf("claim watch on namespace %s did not sync: %w", ns, ctx.Err())
	}
	return w, nil
}

func (w *claimWatch) ch(name string) chan struct{} {
	c, ok := w.bound[name]
	if !ok {
		c = make(chan struct{})
		w.bound[name] = c
	}
	return c
}

func (w *claimWatch) markBound(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.seen[name] {
		w.seen[name] = true
		close(w.ch(name))
	}
}

// waitBound blocks until claim name is seen bound or ctx ends.
func (w *claimWatch) waitBound(ctx context.Context, name string) error {
	w.mu.Lock()
	c := w.ch(name)
	w.mu.Unlock()
	select {
	case <-c:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ceiling: waiting for claim %s to be bound: %w", name, ctx.Err())
	}
}

// selectNode writes the claim's selected-node annotation as the ceiling's (scheduler) identity:
// the write a scheduler's VolumeBinding PreBind makes for a WaitForFirstConsumer claim.
func selectNode(ctx context.Context, c kubernetes.Interface, ns, claim, node string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{testenv.AnnSelectedNode: node}}})
	if err != nil {
		return fmt.Errorf("ceiling: encoding claim patch: %w", err)
	}
	if _, err := c.CoreV1().PersistentVolumeClaims(ns).Patch(ctx, claim, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("ceiling: selecting node %s for claim %s: %w", node, claim, err)
	}
	return nil
}

// checkVolumes checks the volumes of the bound pods against the final claims and PVs: each claim
// a pod uses is Bound to a PV that is Bound back to it and whose node affinity selects the pod's
// node; no claim is used by two pods, and no PV by two claims.
func checkVolumes(p placement, bound []*v1.Pod) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	usedBy := map[string]string{} // claim -> pod
	for _, pod := range bound {
		name := pod.Namespace + "/" + pod.Name
		node := p.nodes[pod.Spec.NodeName]
		for _, cn := range podClaims(pod) {
			key := pod.Namespace + "/" + cn
			if other, ok := usedBy[key]; ok {
				add("claim %s: used by pods %s and %s", key, other, name)
			}
			usedBy[key] = name
			c := p.claims[key]
			switch {
			case c == nil:
				add("%s on %s: claim %s does not exist", name, node.Name, key)
				continue
			case !claimBound(c):
				add("%s on %s: claim %s not bound (phase %q, volume %q)", name, node.Name, key, c.Status.Phase, c.Spec.VolumeName)
				continue
			}
			pv := p.volumes[c.Spec.VolumeName]
			if pv == nil {
				add("%s on %s: claim %s bound to PV %s, which does not exist", name, node.Name, key, c.Spec.VolumeName)
				continue
			}
			if ref := pv.Spec.ClaimRef; ref == nil || ref.Namespace != c.Namespace || ref.Name != c.Name || ref.UID != c.UID {
				add("%s on %s: PV %s of claim %s is not bound back to it (claimRef %s)", name, node.Name, pv.Name, key, fmtClaimRef(ref))
			} else if pv.Status.Phase != v1.VolumeBound {
				add("%s on %s: PV %s of claim %s is %q, not Bound", name, node.Name, pv.Name, key, pv.Status.Phase)
			}
			if na := pv.Spec.NodeAffinity; na == nil || na.Required == nil {
				add("%s on %s: PV %s of claim %s has no required node affinity", name, node.Name, pv.Name, key)
			} else if ok, err := matchNodeSelector(na.Required, node); err != nil {
				add("%s on %s: cannot check the node affinity of PV %s: %v", name, node.Name, pv.Name, err)
			} else if !ok {
				add("%s on %s: PV %s of claim %s: its node affinity does not select the pod's node", name, node.Name, pv.Name, key)
			}
		}
	}
	claimOf := map[string]string{} // PV -> claim
	keys := make([]string, 0, len(p.claims))
	for k := range p.claims {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c := p.claims[k]
		if c.Spec.VolumeName == "" {
			continue
		}
		if other, ok := claimOf[c.Spec.VolumeName]; ok {
			add("PV %s: used by claims %s and %s", c.Spec.VolumeName, other, k)
			continue
		}
		claimOf[c.Spec.VolumeName] = k
	}
	return out
}

func fmtClaimRef(ref *v1.ObjectReference) string {
	if ref == nil {
		return "none"
	}
	return fmt.Sprintf("%s/%s uid %s", ref.Namespace, ref.Name, ref.UID)
}
