package conformance

import (
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/conformance/placementcheck"
)

// TestGenerateIsReproducible: a seed always gives the same scenario, and different seeds differ.
func TestGenerateIsReproducible(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		a, b := generate(seed).String(), generate(seed).String()
		if a != b {
			t.Fatalf("seed %d generated two different scenarios:\n%s\n%s", seed, a, b)
		}
	}
	if generate(1).String() == generate(2).String() {
		t.Error("seeds 1 and 2 generated the same scenario")
	}
}

// TestGenerateKeepsPlacementOrderFree checks the properties the comparison relies on, over many
// seeds: capacity decides fits pod by pod, independent pods select only pre-existing pods, and
// incoming host port numbers are not shared between groups.
func TestGenerateKeepsPlacementOrderFree(t *testing.T) {
	for seed := uint64(1); seed <= 500; seed++ {
		s := generate(seed)
		incoming := s.incoming()
		if n := len(incoming); n < 5 || n > 20 {
			t.Errorf("seed %d: %d incoming pods, want 5..20", seed, n)
		}
		for _, n := range s.nodes {
			alloc := placementcheck.ToAmounts(n.Status.Allocatable)
			used := placementcheck.Amounts{}
			for _, p := range s.existing {
				if p.Spec.NodeName == n.Name {
					used.Add(placementcheck.PodRequests(p))
					used[v1.ResourcePods]++
				}
			}
			for _, r := range fitResources {
				var sum int64
				for _, p := range incoming {
					want := requestsAfterAdmission(p)
					want[v1.ResourcePods] = 1
					if v := want[r]; v > 0 && v <= alloc[r]-used[r] {
						sum += v
					}
				}
				if sum > 0 && sum > alloc[r]-used[r] {
					t.Errorf("seed %d node %s: incoming pods fitting %s alone need %d together, free %d", seed, n.Name, r, sum, alloc[r]-used[r])
				}
			}
		}
		last := s.nodes[len(s.nodes)-1]
		if placementcheck.ToAmounts(last.Status.Allocatable)[v1.ResourcePods] < 1 {
			t.Errorf("seed %d: the probe node %s has no room for a pod", seed, last.Name)
		}
		ports := map[int32]string{}
		for _, g := range s.groups {
			for _, p := range g.pods {
				if _, ok := p.Labels[labelApp]; ok {
					t.Errorf("seed %d: incoming pod %s carries the app label", seed, p.Name)
				}
				for _, hp := range append(placementcheck.HostPorts(p), initPorts(p)...) {
					if owner, ok := ports[hp.HostPort]; ok && owner != g.name {
						t.Errorf("seed %d: host port %d used by groups %s and %s", seed, hp.HostPort, owner, g.name)
					}
					ports[hp.HostPort] = g.name
				}
			}
		}
	}
}

func initPorts(p *v1.Pod) []v1.ContainerPort {
	var out []v1.ContainerPort
	for _, c := range p.Spec.InitContainers {
		for _, hp := range c.Ports {
			if hp.HostPort > 0 {
				out = append(out, hp)
			}
		}
	}
	return out
}
