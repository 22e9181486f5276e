package benchdata

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
)

var sizes = []Size{{Nodes: 8, Pods: 20}, {Nodes: 20, Pods: 60}, {Nodes: 101, Pods: 333}, {Nodes: 1000, Pods: 3000}, {Nodes: 5000, Pods: 10000}}

func TestPodsFollowTheShapes(t *testing.T) {
	tests := []struct {
		workload    string
		wantPending float64 // share of pods that must stay pending
		check       func(p *v1.Pod) bool
	}{
		{"basic", 0, func(p *v1.Pod) bool { return p.Spec.Affinity == nil && len(p.Spec.Tolerations) == 0 }},
		{"spread", 0, func(p *v1.Pod) bool { return len(p.Spec.TopologySpreadConstraints) == 1 }},
		{"antiaffinity", 0, func(p *v1.Pod) bool {
			return p.Spec.Affinity.PodAntiAffinity != nil && p.Labels[AntiGroupLabel] != ""
		}},
		{"nodeaffinity", 0, func(p *v1.Pod) bool { return p.Spec.Affinity.NodeAffinity != nil }},
		{"taints", 0, func(p *v1.Pod) bool { return true }},
		{"mixed", 0, func(p *v1.Pod) bool { return true }},
		{"unschedulable", 0.2, func(p *v1.Pod) bool { return true }},
		{"gated", 0.5, func(p *v1.Pod) bool { return true }},
		{"firstpass", 1, func(p *v1.Pod) bool { return len(p.Spec.SchedulingGates) == 0 }},
		{"preemption", 0, func(p *v1.Pod) bool {
			return p.Spec.PriorityClassName == HighPriorityClass && p.Spec.Containers[0].Resources.Requests.Cpu().String() == VictimCPU
		}},
		{"volumes", 0, func(p *v1.Pod) bool {
			return len(p.Spec.Volumes) == 1 && p.Spec.Volumes[0].PersistentVolumeClaim.ClaimName == ClaimName(p.Name)
		}},
	}
	for _, tc := range tests {
		w, ok := Get(tc.workload)
		if !ok {
			t.Fatalf("workload %s missing", tc.workload)
		}
		for _, s := range sizes {
			t.Run(fmt.Sprintf("%s/%dx%d", tc.workload, s.Nodes, s.Pods), func(t *testing.T) {
				if err := w.Validate(s); err != nil {
					t.Fatal(err)
				}
				pods := w.Pods("ns", s)
				if len(pods) != s.Pods {
					t.Fatalf("%d pods, want %d", len(pods), s.Pods)
				}
				names, pending := map[string]bool{}, 0
				for _, p := range pods {
					if names[p.Pod.Name] {
						t.Fatalf("duplicate pod name %s", p.Pod.Name)
					}
					names[p.Pod.Name] = true
					if p.Pod.Namespace != "ns" {
						t.Fatalf("pod %s in namespace %q", p.Pod.Name, p.Pod.Namespace)
					}
					if !tc.check(p.Pod) {
						t.Fatalf("pod %s does not have the workload's shape: %+v", p.Pod.Name, p.Pod.Spec)
					}
					gated, tooBig := len(p.Pod.Spec.SchedulingGates) > 0, p.Pod.Spec.Containers[0].Resources.Requests.Cpu().Value() > 4
					if p.MustStayPending != (gated || tooBig) {
						t.Fatalf("pod %s: MustStayPending %v, gated %v, too big %v", p.Pod.Name, p.MustStayPending, gated, tooBig)
					}
					if p.MustStayPending {
						pending++
					}
				}
				if got := float64(pending) / float64(s.Pods); got < tc.wantPending-0.01 || got > tc.wantPending+0.01 {
					t.Errorf("pending share %.3f, want %.2f", got, tc.wantPending)
				}
				if got, want := w.Bindable(s.Pods), s.Pods-pending; got != want {
					t.Errorf("Bindable = %d, want %d", got, want)
				}
			})
		}
	}
}

// TestPlaceIsValid checks Place's promise with the constraints re-derived from the objects.
func TestPlaceIsValid(t *testing.T) {
	for _, w := range append(All(), optIn...) {
		for _, s := range sizes {
			t.Run(fmt.Sprintf("%s/%dx%d", w.Name, s.Nodes, s.Pods), func(t *testing.T) {
				nodes, pods := w.Nodes(s.Nodes), w.Pods("ns", s)
				place := w.Place(s, s.Pods)
				if len(place) != len(pods) {
					t.Fatalf("%d placements for %d pods", len(place), len(pods))
				}
				perNode := map[int]int{}
				groupNodes := map[string]bool{} // group/node pairs taken
				zoneCount := map[string]int{}
				for i, n := range place {
					p := pods[i]
					if (n < 0) != p.MustStayPending {
						t.Fatalf("pod %s: node %d, MustStayPending %v", p.Pod.Name, n, p.MustStayPending)
					}
					if n < 0 {
						continue
					}
					node := nodes[n]
					if why := nodeRejects(p.Pod, node); why != "" {
						t.Fatalf("pod %s on %s: %s", p.Pod.Name, node.Name, why)
					}
					if perNode[n]++; perNode[n] > podsPerNode {
						t.Fatalf("node %s holds more than %d pods", node.Name, podsPerNode)
					}
					if g := p.Pod.Labels[AntiGroupLabel]; g != "" {
						key := g + "/" + node.Name
						if groupNodes[key] {
							t.Fatalf("pod %s: anti-affinity group %s already on %s", p.Pod.Name, g, node.Name)
						}
						groupNodes[key] = true
					}
					if len(p.Pod.Spec.TopologySpreadConstraints) > 0 {
						zoneCount[node.Labels[ZoneLabel]]++
						if skew := maxMin(zoneCount, Zones); skew > 1 {
							t.Fatalf("after pod %s zone skew is %d: %v", p.Pod.Name, skew, zoneCount)
						}
					}
				}
			})
		}
	}
}

// nodeRejects re-derives the node-local constraints the shapes use (taints, pool affinity).
func nodeRejects(p *v1.Pod, n *v1.Node) string {
	for _, taint := range n.Spec.Taints {
		tolerated := false
		for _, tol := range p.Spec.Tolerations {
			tolerated = tolerated || (tol.Key == taint.Key && tol.Value == taint.Value && tol.Effect == taint.Effect)
		}
		if !tolerated {
			return "untolerated taint"
		}
	}
	if a := p.Spec.Affinity; a != nil && a.NodeAffinity != nil {
		vals := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Values
		pool := n.Labels[PoolLabel]
		if pool != vals[0] && pool != vals[1] {
			return "pool " + pool + " not in " + strings.Join(vals, ",")
		}
	}
	return ""
}

func maxMin(counts map[string]int, domains int) int {
	if len(counts) < domains {
		hi := 0
		for _, c := range counts {
			hi = max(hi, c)
		}
		return hi
	}
	lo, hi := -1, 0
	for _, c := range counts {
		if lo < 0 || c < lo {
			lo = c
		}
		hi = max(hi, c)
	}
	return hi - lo
}

func TestNodes(t *testing.T) {
	for _, w := range append(All(), optIn...) {
		t.Run(w.Name, func(t *testing.T) {
			nodes := w.Nodes(12)
			zones := map[string]bool{}
			for i, n := range nodes {
				if n.Name != NodeName(i) || n.Labels[HostnameLabel] != n.Name {
					t.Fatalf("node %d: name %q, hostname %q", i, n.Name, n.Labels[HostnameLabel])
				}
				zones[n.Labels[ZoneLabel]] = true
				if got := n.Status.Allocatable.Cpu().Value(); got != 4 {
					t.Errorf("node %s: %d cpus, want 4", n.Name, got)
				}
				if got := n.Status.Allocatable.Pods().Value(); got != NodePods {
					t.Errorf("node %s: %d pods, want %d", n.Name, got, NodePods)
				}
				if tainted := len(n.Spec.Taints) > 0; tainted != (w.Tainted && i%2 == 1) {
					t.Errorf("node %s: tainted %v", n.Name, tainted)
				}
			}
			if len(zones) != Zones {
				t.Errorf("%d zones, want %d", len(zones), Zones)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	basic, _ := Get("basic")
	mixed, _ := Get("mixed")
	firstpass, _ := Get("firstpass")
	preemption, _ := Get("preemption")
	volumes, _ := Get("volumes")
	tests := []struct {
		name    string
		w       Workload
		size    Size
		wantErr string
	}{
		{"fits", basic, Size{Nodes: 8, Pods: 8 * podsPerNode}, ""},
		{"too few nodes", basic, Size{Nodes: 7, Pods: 1}, "nodes 7"},
		{"no pods", basic, Size{Nodes: 8, Pods: 0}, "pods 0"},
		{"more pods than room", basic, Size{Nodes: 8, Pods: 8*podsPerNode + 1}, "too many pods"},
		{"mixed is bounded by its narrowest shape", mixed, Size{Nodes: 8, Pods: 2*podsPerNode + 1}, "too many pods"},
		{"no shapes", Workload{Name: "empty"}, Size{Nodes: 8, Pods: 1}, "no pod shapes"},
		{"first pass over nothing unschedulable", Workload{Name: "fp", FirstPass: true, Shapes: []Shape{Basic, Gated}}, Size{Nodes: 8, Pods: 2}, "fit nowhere"},
		{"first pass at the make target's size", firstpass, Size{Nodes: 100, Pods: 20000}, ""},
		{"preemption: one preemptor per victim", preemption, Size{Nodes: 8, Pods: 8 * VictimsPerNode}, ""},
		{"preemption: more preemptors than victims", preemption, Size{Nodes: 8, Pods: 8*VictimsPerNode + 1}, "too many pods"},
		{"preemptors need a preemption workload", Workload{Name: "p", Shapes: []Shape{Basic, Preemptor}}, Size{Nodes: 8, Pods: 2}, "preemptors alone"},
		{"a preemption workload has preemptors alone", Workload{Name: "p", Preemption: true, Shapes: []Shape{Preemptor, Basic}}, Size{Nodes: 8, Pods: 2}, "preemptors alone"},
		{"victims are no pods of a run", Workload{Name: "p", Shapes: []Shape{Victim}}, Size{Nodes: 8, Pods: 2}, "Victims alone"},
		{"no taints with preemption", Workload{Name: "p", Preemption: true, Tainted: true, Shapes: []Shape{Preemptor}}, Size{Nodes: 8, Pods: 2}, "no tainted nodes"},
		{"volumes at the make target's size", volumes, Size{Nodes: 500, Pods: 1000}, ""},
		{"pods with volumes need a volumes workload", Workload{Name: "v", Shapes: []Shape{Basic, WithVolume}}, Size{Nodes: 8, Pods: 2}, "pods with volumes alone"},
		{"a volumes workload has pods with volumes alone", Workload{Name: "v", Volumes: true, Shapes: []Shape{WithVolume, Basic}}, Size{Nodes: 8, Pods: 2}, "pods with volumes alone"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.w.Validate(tc.size)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	tests := []struct {
		name    string
		list    string
		want    []string
		wantErr error
	}{
		{"empty means all", "", Names(), nil},
		{"all", "all", Names(), nil},
		{"list order kept, duplicates dropped", "spread, basic,spread", []string{"spread", "basic"}, nil},
		{"opt-in when named", "firstpass", []string{"firstpass"}, nil},
		{"opt-in among others", "basic,firstpass", []string{"basic", "firstpass"}, nil},
		{"preemption when named", "preemption", []string{"preemption"}, nil},
		{"volumes when named", "volumes,basic", []string{"volumes", "basic"}, nil},
		{"unknown", "basic,nope", nil, ErrUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws, err := Select(tc.list)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error = %v, want %v", err, tc.wantErr)
			}
			var got []string
			for _, w := range ws {
				got = append(got, w.Name)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestOptIn checks that "all" keeps its eight workloads and that the opt-in ones are apart:
// named, distinct, and the only ones measured by their first pass or starting from a full cluster.
func TestOptIn(t *testing.T) {
	if got := fmt.Sprint(Names()); got != "[basic spread antiaffinity nodeaffinity taints mixed unschedulable gated]" {
		t.Errorf("Names() = %s", got)
	}
	tests := []struct {
		name                                       string
		optIn                                      bool
		wantFirstPass, wantPreemption, wantVolumes bool
	}{
		{"basic", false, false, false, false},
		{"unschedulable", false, false, false, false},
		{"gated", false, false, false, false},
		{"firstpass", true, true, false, false},
		{"preemption", true, false, true, false},
		{"volumes", true, false, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, ok := Get(tc.name)
			if !ok {
				t.Fatalf("workload %s missing", tc.name)
			}
			inAll := strings.Contains(" "+strings.Join(Names(), " ")+" ", " "+tc.name+" ")
			inOptIn := strings.Contains(" "+strings.Join(OptInNames(), " ")+" ", " "+tc.name+" ")
			if inAll == tc.optIn || inOptIn != tc.optIn {
				t.Errorf("in all %v, opt-in %v; want opt-in %v", inAll, inOptIn, tc.optIn)
			}
			if w.FirstPass != tc.wantFirstPass {
				t.Errorf("FirstPass = %v, want %v", w.FirstPass, tc.wantFirstPass)
			}
			if w.Preemption != tc.wantPreemption || (len(w.PriorityClasses()) > 0) != tc.wantPreemption {
				t.Errorf("Preemption = %v with %d priority classes, want %v", w.Preemption, len(w.PriorityClasses()), tc.wantPreemption)
			}
			s := Size{Nodes: 8, Pods: 5}
			if w.Volumes != tc.wantVolumes || (len(w.StorageClasses()) > 0) != tc.wantVolumes || (len(w.Claims("ns", s)) > 0) != tc.wantVolumes {
				t.Errorf("Volumes = %v with %d storage classes and %d claims, want %v", w.Volumes, len(w.StorageClasses()), len(w.Claims("ns", s)), tc.wantVolumes)
			}
		})
	}
}
