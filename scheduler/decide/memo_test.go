package decide

import (
	"fmt"
	"sync/atomic"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// labelled is a node-only filter: it rejects the nodes that carry the label its pod names in its
// "avoid" annotation, and counts its calls.
type labelled struct{ calls *atomic.Int64 }

func (labelled) Name() string { return "Labelled" }
func (l labelled) PreFilter(p *snapshot.PodInfo, _ *snapshot.Snapshot) (NodeFilter, snapshot.Verdict) {
	return labelledFilter{avoid: p.Pod.Annotations["avoid"], calls: l.calls}, snapshot.Verdict{}
}

type labelledFilter struct {
	avoid string
	calls *atomic.Int64
}

func (f labelledFilter) Filter(n *snapshot.NodeInfo) snapshot.Verdict {
	f.calls.Add(1)
	if _, ok := n.Node.Labels[f.avoid]; ok {
		return snapshot.RejectUnresolvable("node(s) had label " + f.avoid)
	}
	return snapshot.Verdict{}
}

func (f labelledFilter) AppendKey(b []byte) ([]byte, bool) { return AppendKeyString(b, f.avoid), true }
func (labelledFilter) NodeObjectOnly()                     {}

// cordoned is a NodeObjectFilter run every time: it rejects nodes labelled "cordon".
type cordoned struct{ calls *atomic.Int64 }

func (cordoned) Name() string { return "Cordoned" }
func (c cordoned) PreFilter(*snapshot.PodInfo, *snapshot.Snapshot) (NodeFilter, snapshot.Verdict) {
	return c, snapshot.Verdict{}
}
func (c cordoned) Filter(n *snapshot.NodeInfo) snapshot.Verdict {
	c.calls.Add(1)
	if _, ok := n.Node.Labels["cordon"]; ok {
		return snapshot.RejectUnresolvable("node(s) were cordoned")
	}
	return snapshot.Verdict{}
}
func (cordoned) NodeObjectOnly() {}

// counting is a filter that reads the node's pods (not node-only); it rejects nothing.
type counting struct{ calls *atomic.Int64 }

func (counting) Name() string { return "Counting" }
func (c counting) PreFilter(*snapshot.PodInfo, *snapshot.Snapshot) (NodeFilter, snapshot.Verdict) {
	return c, snapshot.Verdict{}
}
func (c counting) Filter(*snapshot.NodeInfo) snapshot.Verdict {
	c.calls.Add(1)
	return snapshot.Verdict{}
}

func avoiding(label string) *snapshot.PodInfo {
	return snapshot.NewPodInfo(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p-" + label, Annotations: map[string]string{"avoid": label}}})
}

// labelledNodes returns n nodes, those in marked with the label "gpu".
func labelledNodes(n int, marked ...int) []*snapshot.NodeInfo {
	out := make([]*snapshot.NodeInfo, n)
	for i := range out {
		out[i] = snapshot.NewNodeInfo(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("n%02d", i)}})
	}
	for _, i := range marked {
		relabel(out, i, map[string]string{"gpu": ""})
	}
	return out
}

// relabel gives node i a new node object with labels (as an informer update does).
func relabel(ns []*snapshot.NodeInfo, i int, labels map[string]string) {
	node := ns[i].Node.DeepCopy()
	node.Labels = labels
	c := ns[i].Clone()
	c.SetNode(node)
	ns[i] = c
}

func TestNodeOnlyVerdictsAreRemembered(t *testing.T) {
	var nodeOnly, other atomic.Int64
	d, err := New(Profile{Filters: []FilterPlugin{labelled{&nodeOnly}, counting{&other}}, PercentageOfNodesToScore: 100})
	if err != nil {
		t.Fatal(err)
	}
	fresh := func() *Decider { // a decider that has remembered nothing
		f, err := New(Profile{Filters: []FilterPlugin{labelled{new(atomic.Int64)}, counting{new(atomic.Int64)}}, PercentageOfNodesToScore: 100})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	ns := labelledNodes(10, 2, 5)
	steps := []struct {
		name          string
		change        func()
		pod           *snapshot.PodInfo
		wantNodeOnly  int64 // calls of the node-only filter
		wantOther     int64
		wantRejected  int // nodes rejected in the diagnosis (every node when the pod fits nowhere)
		fitsNowhere   bool
		wantNotChosen []string
	}{
		{name: "first pod judges every node", pod: avoiding("gpu"), wantNodeOnly: 10, wantOther: 8, wantNotChosen: []string{"n02", "n05"}},
		{name: "same key: nothing judged again", pod: avoiding("gpu"), wantNodeOnly: 0, wantOther: 8, wantNotChosen: []string{"n02", "n05"}},
		{name: "another key judges afresh", pod: avoiding("ssd"), wantNodeOnly: 10, wantOther: 10},
		{name: "a changed node object is judged again", change: func() { relabel(ns, 7, map[string]string{"gpu": ""}) },
			pod: avoiding("gpu"), wantNodeOnly: 1, wantOther: 7, wantNotChosen: []string{"n02", "n05", "n07"}},
		{name: "a node that lost the label fits again", change: func() { relabel(ns, 2, nil) },
			pod: avoiding("gpu"), wantNodeOnly: 1, wantOther: 8, wantNotChosen: []string{"n05", "n07"}},
		{name: "remembered rejections make the diagnosis", change: func() {
			for i := range ns {
				if i != 5 && i != 7 {
					relabel(ns, i, map[string]string{"gpu": ""})
				}
			}
		}, pod: avoiding("gpu"), wantNodeOnly: 8, fitsNowhere: true},
		{name: "the diagnosis again, from memory", pod: avoiding("gpu"), wantNodeOnly: 0, fitsNowhere: true},
	}
	for _, st := range steps {
		if st.change != nil {
			st.change()
		}
		snap := snapshot.New(ns, nil)
		nodeOnly.Store(0)
		other.Store(0)
		res := d.Decide(st.pod, snap)
		if got := nodeOnly.Load(); got != st.wantNodeOnly {
			t.Errorf("%s: node-only filter called %d times, want %d", st.name, got, st.wantNodeOnly)
		}
		if got := other.Load(); got != st.wantOther {
			t.Errorf("%s: other filter called %d times, want %d", st.name, got, st.wantOther)
		}
		want := fresh().Decide(st.pod, snap)
		if st.fitsNowhere {
			if res.Node != "" || res.Diagnosis == nil {
				t.Fatalf("%s: chose %q, want no node", st.name, res.Node)
			}
			if got, want := res.Diagnosis.Message(), want.Diagnosis.Message(); got != want {
				t.Errorf("%s: message %q, a fresh decider's %q", st.name, got, want)
			}
			continue
		}
		if res.Node == "" {
			t.Fatalf("%s: no node chosen: %v", st.name, res.Diagnosis.Message())
		}
		for _, bad := range st.wantNotChosen {
			if res.Node == bad {
				t.Errorf("%s: chose %s, which carries the label", st.name, bad)
			}
		}
	}
}

func TestMemoKeysAreUnambiguous(t *testing.T) {
	a := appendKeyPart(appendKeyPart(nil, []byte("ab")), []byte("c"))
	b := appendKeyPart(appendKeyPart(nil, []byte("a")), []byte("bc"))
	if string(a) == string(b) {
		t.Errorf("parts ab|c and a|bc make the same key %q", a)
	}
	if x, y := AppendKeyString(AppendKeyString(nil, "a"), ""), AppendKeyString(nil, "a"); string(x) == string(y) {
		t.Errorf("strings a|\"\" and a make the same key %q", x)
	}
}

func TestMemoKeepsAtMostMaxEntries(t *testing.T) {
	var calls atomic.Int64
	d, err := New(Profile{Filters: []FilterPlugin{labelled{&calls}}, PercentageOfNodesToScore: 100})
	if err != nil {
		t.Fatal(err)
	}
	ns := labelledNodes(6)
	for i := range ns { // node i carries label l<i>
		relabel(ns, i, map[string]string{fmt.Sprintf("l%d", i): ""})
	}
	snap := snapshot.New(ns, nil)
	for round := range 3 {
		for k := range maxMemoEntries + 3 {
			label := fmt.Sprintf("l%d", k%len(ns))
			if k >= len(ns) {
				label = fmt.Sprintf("x%d", k) // on no node
			}
			res := d.Decide(avoiding(label), snap)
			if res.Node == "" || ns[k%len(ns)].Node.Name == res.Node && k < len(ns) {
				t.Fatalf("round %d, key %s: chose %q", round, label, res.Node)
			}
		}
	}
	d.memo.mu.Lock()
	defer d.memo.mu.Unlock()
	if n := len(d.memo.entries); n > maxMemoEntries {
		t.Errorf("%d entries kept, at most %d wanted", n, maxMemoEntries)
	}
}

// TestMemoUnderConcurrentDryRuns runs decisions and dry runs (Explain may run beside Decide) of
// one key together, over enough nodes that filter passes are parallel: run with -race.
func TestMemoUnderConcurrentDryRuns(t *testing.T) {
	var calls atomic.Int64
	d, err := New(Profile{Filters: []FilterPlugin{labelled{&calls}}, PercentageOfNodesToScore: 100, Parallelism: 4})
	if err != nil {
		t.Fatal(err)
	}
	marked := make([]int, 0, 300)
	for i := 0; i < 600; i += 2 {
		marked = append(marked, i)
	}
	ns := labelledNodes(600, marked...)
	snap := snapshot.New(ns, nil)
	isMarked := map[string]bool{}
	for _, i := range marked {
		isMarked[ns[i].Node.Name] = true
	}
	errs := make(chan error, 2)
	run := func(decide func() Result) {
		for range 30 {
			if res := decide(); res.Node == "" || isMarked[res.Node] {
				errs <- fmt.Errorf("chose %q", res.Node)
				return
			}
		}
		errs <- nil
	}
	go run(func() Result { return d.Decide(avoiding("gpu"), snap) })
	go run(func() Result { res, _ := d.Explain(avoiding("gpu"), snap); return res })
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestMemoKeepsFilterOrder checks that a remembered rejection and one of a filter run every time
// come out as the first of them in the profile's order would, before or after the other.
func TestMemoKeepsFilterOrder(t *testing.T) {
	cordonedFirst := []FilterPlugin{cordoned{new(atomic.Int64)}, labelled{new(atomic.Int64)}}
	labelledFirst := []FilterPlugin{labelled{new(atomic.Int64)}, cordoned{new(atomic.Int64)}}
	for _, tc := range []struct {
		name    string
		filters []FilterPlugin
		want    string
	}{
		{name: "live filter first", filters: cordonedFirst, want: "0/4 nodes are available: 1 node(s) had label gpu, 3 node(s) were cordoned."},
		{name: "remembered filter first", filters: labelledFirst, want: "0/4 nodes are available: 1 node(s) were cordoned, 3 node(s) had label gpu."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(Profile{Filters: tc.filters, PercentageOfNodesToScore: 100})
			if err != nil {
				t.Fatal(err)
			}
			ns := labelledNodes(4)
			relabel(ns, 0, map[string]string{"gpu": "", "cordon": ""})
			relabel(ns, 1, map[string]string{"gpu": "", "cordon": ""})
			relabel(ns, 2, map[string]string{"gpu": ""})
			relabel(ns, 3, map[string]string{"cordon": ""})
			snap := snapshot.New(ns, nil)
			for round := range 2 { // the second from memory
				res := d.Decide(avoiding("gpu"), snap)
				if res.Node != "" {
					t.Fatalf("round %d: chose %s", round, res.Node)
				}
				if got := res.Diagnosis.Message(); got != tc.want {
					t.Errorf("round %d: %q, want %q", round, got, tc.want)
				}
			}
		})
	}
}
