package snapshot

import (
	"fmt"
	"maps"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// antiSummary renders an AntiAffinityIndex as "selector@key" -> value -> count, for comparison.
func antiSummary(x *AntiAffinityIndex) map[string]map[string]int {
	out := map[string]map[string]int{}
	for e := range x.Terms() {
		k := fmt.Sprintf("%s@%s", e.Term.Selector, e.Term.TopologyKey)
		if out[k] == nil {
			out[k] = map[string]int{}
		}
		for v, n := range e.Counts {
			out[k][v] += n
		}
	}
	return out
}

// topologySummary renders a TopologyIndex of one key as "ns/labels" -> value -> count.
func topologySummary(x *TopologyIndex) map[string]map[string]int {
	out := map[string]map[string]int{}
	for set := range x.LabelSets() {
		k := set.Pod.Pod.Namespace + "/" + fmt.Sprint(set.Pod.Pod.Labels)
		out[k] = maps.Clone(set.Counts[0])
	}
	return out
}

func equalSummaries(a, b map[string]map[string]int) bool {
	return maps.EqualFunc(a, b, func(x, y map[string]int) bool { return maps.Equal(x, y) })
}

// The inter-pod affinity indexes, built on one snapshot and carried through Updates, always
// equal the indexes a fresh snapshot of the same nodes builds.
func TestAffinityIndexesFollowUpdates(t *testing.T) {
	antiTerm := func(app, key string) v1.PodAffinityTerm {
		return v1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}, TopologyKey: key}
	}
	pod := func(uid, app string, terms ...v1.PodAffinityTerm) *PodInfo {
		p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid), Name: uid, Namespace: "ns", Labels: map[string]string{"app": app}}}
		if len(terms) > 0 {
			p.Spec.Affinity = &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: terms}}
		}
		return NewPodInfo(p)
	}
	terminating := func(p *PodInfo) *PodInfo {
		q := p.Pod.DeepCopy()
		q.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)}
		return NewPodInfo(q)
	}
	node := func(name, zone string) *v1.Node {
		l := map[string]string{"kubernetes.io/hostname": name}
		if zone != "" {
			l["zone"] = zone
		}
		return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}
	}
	type step func(nodes map[string]*NodeInfo) *NodeInfo // returns the changed node
	addPod := func(n string, p *PodInfo) step {
		return func(nodes map[string]*NodeInfo) *NodeInfo { c := nodes[n].Clone(); c.AddPod(p); return c }
	}
	removePod := func(n, uid string) step {
		return func(nodes map[string]*NodeInfo) *NodeInfo {
			c := nodes[n].Clone()
			for _, p := range c.Pods {
				if p.Pod.UID == types.UID(uid) {
					c.RemovePod(p)
					return c
				}
			}
			panic("no pod " + uid)
		}
	}
	relabel := func(n, zone string) step {
		return func(nodes map[string]*NodeInfo) *NodeInfo { c := nodes[n].Clone(); c.SetNode(node(n, zone)); return c }
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"an anti-affinity pod arrives", []step{addPod("n1", pod("a", "web", antiTerm("web", "zone")))}},
		{"a second pod with the same term", []step{addPod("n2", pod("b", "web", antiTerm("web", "zone")))}},
		{"the term's last pod leaves", []step{removePod("n0", "x")}},
		{"a pod with two terms, one on a key its node lacks", []step{addPod("n3", pod("c", "db", antiTerm("db", "zone"), antiTerm("db", "kubernetes.io/hostname")))}},
		{"a node changes zone under its pods", []step{relabel("n0", "z9")}},
		{"a node loses its zone", []step{relabel("n1", "")}},
		{"a terminating pod", []step{addPod("n1", terminating(pod("t", "web", antiTerm("web", "zone"))))}},
		{"several steps", []step{addPod("n1", pod("d", "web")), removePod("n0", "y"), relabel("n2", "z1"), addPod("n2", pod("e", "api", antiTerm("web", "zone")))}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nodes := map[string]*NodeInfo{
				"n0": NewNodeInfo(node("n0", "z1"), pod("x", "web", antiTerm("web", "zone")), pod("y", "web")),
				"n1": NewNodeInfo(node("n1", "z1")),
				"n2": NewNodeInfo(node("n2", "z2"), pod("z", "api")),
				"n3": NewNodeInfo(node("n3", "")),
			}
			list := func() []*NodeInfo {
				return []*NodeInfo{nodes["n0"], nodes["n1"], nodes["n2"], nodes["n3"]}
			}
			s := New(list(), nil)
			s.AntiAffinity()
			s.TopologyAll("zone")
			s.Topology("zone")
			for _, st := range tc.steps {
				c := st(nodes)
				nodes[c.Name()] = c
				if !s.Update([]*NodeInfo{c}) {
					t.Fatal("Update refused a known node")
				}
			}
			fresh := New(list(), nil)
			if got, want := antiSummary(s.AntiAffinity()), antiSummary(fresh.AntiAffinity()); !equalSummaries(got, want) {
				t.Errorf("anti-affinity index after updates = %v, fresh %v", got, want)
			}
			if got, want := topologySummary(s.TopologyAll("zone")), topologySummary(fresh.TopologyAll("zone")); !equalSummaries(got, want) {
				t.Errorf("TopologyAll(zone) after updates = %v, fresh %v", got, want)
			}
			if got, want := topologySummary(s.Topology("zone")), topologySummary(fresh.Topology("zone")); !equalSummaries(got, want) {
				t.Errorf("Topology(zone) after updates = %v, fresh %v", got, want)
			}
		})
	}
	// Terminating pods: counted by TopologyAll, not by Topology.
	n := NewNodeInfo(node("n0", "z1"), pod("a", "web"), terminating(pod("b", "web")))
	s := New([]*NodeInfo{n}, nil)
	if got := topologySummary(s.TopologyAll("zone"))["ns/map[app:web]"]["z1"]; got != 2 {
		t.Errorf("TopologyAll counts %d pods, want 2 (the terminating one too)", got)
	}
	if got := topologySummary(s.Topology("zone"))["ns/map[app:web]"]["z1"]; got != 1 {
		t.Errorf("Topology counts %d pods, want 1 (not the terminating one)", got)
	}
}
