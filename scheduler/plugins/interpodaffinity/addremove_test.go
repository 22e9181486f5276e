package interpodaffinity

import (
	"reflect"
	"testing"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
	v1 "k8s.io/api/core/v1"
)

// TestAddRemovePod checks that AddPod and RemovePod leave the filter judging exactly as a fresh
// PreFilter over a snapshot that has (or lacks) the pod.
func TestAddRemovePod(t *testing.T) {
	web := labelsAre("app", "web")
	tests := []struct {
		name string
		pod  *v1.Pod
		// base is the cluster without the changing pod.
		base map[string][]*v1.Pod
		// change is the pod added to (or removed from) node onNode.
		change *v1.Pod
		onNode string
		// wantBefore and wantAfter pin the behaviour down, so that both sides cannot be wrong together.
		wantBefore, wantAfter verdicts
	}{
		{
			name:       "added pod's anti-affinity rejects the newcomer in its zone",
			pod:        testPod("in").labels("app", "web").anti(term(hostKey, labelsAre("app", "x"))).obj(),
			change:     testPod("a").anti(term(zoneKey, web)).obj(),
			onNode:     "n2",
			wantBefore: verdicts{"n1": fit, "n2": fit, "n3": fit, "n4": fit, "n5": fit},
			wantAfter:  verdicts{"n1": noExisting, "n2": noExisting, "n3": fit, "n4": fit, "n5": fit},
		},
		{
			name:       "added pod matches the newcomer's anti-affinity",
			pod:        testPod("in").anti(term(zoneKey, web)).obj(),
			base:       map[string][]*v1.Pod{"n1": {testPod("b").labels("app", "web").obj()}},
			change:     testPod("a").labels("app", "web").obj(),
			onNode:     "n3",
			wantBefore: verdicts{"n1": noAnti, "n2": noAnti, "n3": fit, "n4": fit, "n5": fit},
			wantAfter:  verdicts{"n1": noAnti, "n2": noAnti, "n3": noAnti, "n4": fit, "n5": fit},
		},
		{
			name:       "added matching pod ends the first-pod rule",
			pod:        testPod("in").labels("app", "web").affinity(term(zoneKey, web)).obj(),
			change:     testPod("a").labels("app", "web").obj(),
			onNode:     "n3",
			wantBefore: verdicts{"n1": fit, "n2": fit, "n3": fit, "n4": noAff, "n5": noAff},
			wantAfter:  verdicts{"n1": noAff, "n2": noAff, "n3": fit, "n4": noAff, "n5": noAff},
		},
		{
			name:       "added pod on a node without the key changes nothing",
			pod:        testPod("in").labels("app", "web").affinity(term(zoneKey, web)).anti(term(zoneKey, web)).obj(),
			change:     testPod("a").labels("app", "web").anti(term(zoneKey, web)).obj(),
			onNode:     "n4",
			wantBefore: verdicts{"n1": fit, "n2": fit, "n3": fit, "n4": noAff, "n5": noAff},
			wantAfter:  verdicts{"n1": fit, "n2": fit, "n3": fit, "n4": noAff, "n5": noAff},
		},
		{
			name:       "added pod matching only some affinity terms does not count",
			pod:        testPod("in").affinity(term(zoneKey, web), term(regionKey, labelsAre("tier", "front"))).obj(),
			base:       map[string][]*v1.Pod{"n1": {testPod("b").labels("app", "web", "tier", "front").obj()}},
			change:     testPod("a").labels("app", "web").obj(),
			onNode:     "n3",
			wantBefore: verdicts{"n1": fit, "n2": fit, "n3": noAff, "n4": noAff, "n5": noAff},
			wantAfter:  verdicts{"n1": fit, "n2": fit, "n3": noAff, "n4": noAff, "n5": noAff},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pl := newPlugin(t, DefaultArgs())
			incoming := snapshot.NewPodInfo(tc.pod)
			without := buildSnapshot(t, fiveNodes(tc.base), nil)
			withPods := map[string][]*v1.Pod{}
			for k, v := range tc.base {
				withPods[k] = v
			}
			withPods[tc.onNode] = append(append([]*v1.Pod(nil), withPods[tc.onNode]...), tc.change)
			with := buildSnapshot(t, fiveNodes(withPods), nil)

			fBefore, _ := pl.PreFilter(incoming, without)
			fAfter, _ := pl.PreFilter(incoming, with)
			if got := filterAll(t, fBefore, without); !reflect.DeepEqual(got, tc.wantBefore) {
				t.Fatalf("fresh PreFilter without the pod:\n got %v\nwant %v", got, tc.wantBefore)
			}
			if got := filterAll(t, fAfter, with); !reflect.DeepEqual(got, tc.wantAfter) {
				t.Fatalf("fresh PreFilter with the pod:\n got %v\nwant %v", got, tc.wantAfter)
			}

			changed := snapshot.NewPodInfo(tc.change)
			// Adding to the state prepared without the pod. A nil filter had nothing to update
			// (like kube-scheduler skipping the plugin), so start from a filter that exists.
			if fBefore != nil {
				added := fBefore.(*PodFilter).Clone().(*PodFilter)
				added.AddPod(changed, without.Get(tc.onNode))
				if got := filterAll(t, added, without); !reflect.DeepEqual(got, tc.wantAfter) {
					t.Errorf("after AddPod:\n got %v\nwant %v", got, tc.wantAfter)
				}
				if got := filterAll(t, fBefore, without); !reflect.DeepEqual(got, tc.wantBefore) {
					t.Errorf("AddPod on a clone changed the original:\n got %v\nwant %v", got, tc.wantBefore)
				}
			}
			if fAfter != nil {
				removed := fAfter.(*PodFilter).Clone().(*PodFilter)
				removed.RemovePod(changed, with.Get(tc.onNode))
				if got := filterAll(t, removed, with); !reflect.DeepEqual(got, tc.wantBefore) {
					t.Errorf("after RemovePod:\n got %v\nwant %v", got, tc.wantBefore)
				}
				removed.AddPod(changed, with.Get(tc.onNode))
				if got := filterAll(t, removed, with); !reflect.DeepEqual(got, tc.wantAfter) {
					t.Errorf("after RemovePod then AddPod:\n got %v\nwant %v", got, tc.wantAfter)
				}
			}
		})
	}
}

func TestAddRemovePodIgnoresNil(t *testing.T) {
	pod := testPod("in").anti(term(hostKey, labelsAre("app", "web"))).obj()
	snap := buildSnapshot(t, fiveNodes(nil), nil)
	f, _ := newPlugin(t, DefaultArgs()).PreFilter(snapshot.NewPodInfo(pod), snap)
	pf := f.(*PodFilter)
	pf.AddPod(nil, snap.Nodes[0])
	pf.RemovePod(snapshot.NewPodInfo(testPod("a").obj()), nil)
	pf.AddPod(snapshot.NewPodInfo(testPod("b").labels("app", "web").obj()), snapshot.NewNodeInfo(nil))
	want := verdicts{"n1": fit, "n2": fit, "n3": fit, "n4": fit, "n5": fit}
	if got := filterAll(t, pf, snap); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
