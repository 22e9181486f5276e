package benchdata

import (
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/cache"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// Cluster is a workload's cluster held in berth's cache, as the in-memory micro-benchmarks start
// from: every node, the first half of the pods bound where Place puts them, and the other half
// pending.
type Cluster struct {
	Cache *cache.Cache
	Nodes []*v1.Node
	// Pending are the pods still to decide, in creation order, for schedulerName; gated pods
	// are left out, since the queue never hands them to a decision.
	Pending []*snapshot.PodInfo
}

// NewCluster builds w's cluster at size s in namespace ns, every pod (bound or pending) with a
// UID and spec.schedulerName set to schedulerName. It fails when s is not a size w can place.
func (w Workload) NewCluster(ns string, s Size, schedulerName string) (*Cluster, error) {
	if err := w.Validate(s); err != nil {
		return nil, err
	}
	c := &Cluster{Cache: cache.New(), Nodes: w.Nodes(s.Nodes)}
	c.Cache.SetNamespace(&v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	for _, n := range c.Nodes {
		c.Cache.AddNode(n)
	}
	pods := w.Pods(ns, s)
	half := len(pods) / 2
	for i, node := range w.Place(s, half) {
		if node >= 0 {
			bound := withIdentity(pods[i].Pod, schedulerName)
			bound.Spec.NodeName = c.Nodes[node].Name
			c.Cache.AddPod(bound)
		}
	}
	for _, p := range pods[half:] {
		if len(p.Pod.Spec.SchedulingGates) == 0 {
			c.Pending = append(c.Pending, snapshot.NewPodInfo(withIdentity(p.Pod, schedulerName)))
		}
	}
	return c, nil
}

// Assume places pi on node in the cache, as the scheduling loop does after a decision.
func (c *Cluster) Assume(pi *snapshot.PodInfo, node string) error {
	bound := pi.Pod.DeepCopy()
	bound.Spec.NodeName = node
	return c.Cache.Assume(snapshot.NewPodInfo(bound), node)
}

// withIdentity is a copy of p with a UID (its namespace/name) and the scheduler's name.
func withIdentity(p *v1.Pod, schedulerName string) *v1.Pod {
	p = p.DeepCopy()
	p.UID = types.UID(p.Namespace + "/" + p.Name)
	p.Spec.SchedulerName = schedulerName
	return p
}
