package volumebinding

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
)

func TestBoundVolume(t *testing.T) {
	c := newClaim("data", "local", "1Gi")
	pv, changed := Binding{PV: newPV("v", "local", "1Gi"), Claim: c}.BoundVolume()
	if !changed || pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.UID != c.UID || pv.Spec.ClaimRef.Kind != "PersistentVolumeClaim" ||
		pv.Annotations[AnnBoundByController] != "yes" {
		t.Errorf("bound volume %+v (changed %v): want a claimRef to the claim and the bound-by-controller annotation", pv, changed)
	}
	// Pre-bound by name only: the UID is filled in, but the binding was not the controller's.
	prebound := claimRef(newPV("v", "local", "1Gi"), "data")
	pv, changed = Binding{PV: prebound, Claim: c}.BoundVolume()
	if !changed || pv.Spec.ClaimRef.UID != c.UID || pv.Annotations[AnnBoundByController] != "" {
		t.Errorf("pre-bound volume %+v (changed %v): want the UID set and no bound-by-controller annotation", pv, changed)
	}
	if prebound.Spec.ClaimRef.UID != "" {
		t.Error("BoundVolume changed its input")
	}
}

// apiState is a fixed view of the API server's objects.
type apiState struct {
	claims map[string]*v1.PersistentVolumeClaim
	pvs    map[string]*v1.PersistentVolume
	nodes  map[string]*v1.Node
}

func (s apiState) APIClaim(_, name string) *v1.PersistentVolumeClaim { return s.claims[name] }
func (s apiState) APIVolume(name string) *v1.PersistentVolume        { return s.pvs[name] }
func (s apiState) Node(name string) *v1.Node                         { return s.nodes[name] }

func TestPlanDone(t *testing.T) {
	nodeA := node("a", "z1").Node
	rv := func(v string) func(*v1.PersistentVolumeClaim) {
		return func(c *v1.PersistentVolumeClaim) { c.ResourceVersion = v }
	}
	provisioned := func(mutate ...func(*v1.PersistentVolumeClaim)) *v1.PersistentVolumeClaim {
		return newClaim("dyn", "dyn", "1Gi", append([]func(*v1.PersistentVolumeClaim){func(c *v1.PersistentVolumeClaim) {
			c.Annotations = map[string]string{AnnSelectedNode: "a", AnnBindCompleted: "yes"}
			c.Spec.VolumeName = "pv-dyn"
		}}, mutate...)...)
	}
	written := newClaim("dyn", "dyn", "1Gi", selected("a"), rv("5"))
	tests := []struct {
		name  string
		claim *v1.PersistentVolumeClaim
		pv    *v1.PersistentVolume
		done  bool
		err   string
	}{
		{"bound, PV on the node", provisioned(rv("7")), newPV("pv-dyn", "dyn", "1Gi", "a"), true, ""},
		{"the informer has not seen our write yet", provisioned(rv("4")), newPV("pv-dyn", "dyn", "1Gi", "a"), false, ""},
		{"provisioned, PV not seen yet", provisioned(rv("7")), nil, false, ""},
		{"not bound yet", newClaim("dyn", "dyn", "1Gi", selected("a"), rv("6")), nil, false, ""},
		{"the annotation was reset: provisioning failed", newClaim("dyn", "dyn", "1Gi", selected("b"), rv("6")), nil, false,
			`provisioning failed for PVC "dyn"`},
		{"the PV does not fit the node", provisioned(rv("7")), newPV("pv-dyn", "dyn", "1Gi", "b"), false,
			`pv "pv-dyn" node affinity doesn't match node "a"`},
		{"the claim is gone", nil, nil, false, "persistentvolumeclaim \"ns/dyn\" not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := apiState{claims: map[string]*v1.PersistentVolumeClaim{}, pvs: map[string]*v1.PersistentVolume{}, nodes: map[string]*v1.Node{"a": nodeA}}
			if tc.claim != nil {
				st.claims["dyn"] = tc.claim
			}
			if tc.pv != nil {
				st.pvs[tc.pv.Name] = tc.pv
			}
			plan := &Plan{Node: "a", Provisions: []Provision{{Claim: newClaim("dyn", "dyn", "1Gi")}}}
			done, err := plan.Done(st, nil, []*v1.PersistentVolumeClaim{written})
			if done != tc.done || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Done = %v, %v; want %v, %q", done, err, tc.done, tc.err)
			}
		})
	}
	t.Run("the node is gone", func(t *testing.T) {
		plan := &Plan{Node: "a"}
		if _, err := plan.Done(apiState{nodes: map[string]*v1.Node{}}, nil, nil); err == nil {
			t.Error("no error for a missing node")
		}
	})
	t.Run("a static binding whose claimRef was reset", func(t *testing.T) {
		pv := newPV("v", "local", "1Gi")
		c := newClaim("data", "local", "1Gi", bound("v"))
		plan := &Plan{Node: "a", Bindings: []Binding{{PV: pv, Claim: c}}}
		st := apiState{claims: map[string]*v1.PersistentVolumeClaim{"data": c}, pvs: map[string]*v1.PersistentVolume{"v": pv},
			nodes: map[string]*v1.Node{"a": nodeA}}
		if _, err := plan.Done(st, nil, nil); err == nil || !strings.Contains(err.Error(), "ClaimRef got reset") {
			t.Errorf("err %v, want the claimRef reset", err)
		}
		pv2 := pv.DeepCopy()
		pv2.Spec.ClaimRef = &v1.ObjectReference{Namespace: ns, Name: "data", UID: c.UID}
		st.pvs["v"] = pv2
		if done, err := plan.Done(st, nil, nil); !done || err != nil {
			t.Errorf("Done = %v, %v for a bound claim and PV", done, err)
		}
	})
}
