package main

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Builders for volume checks: a pod mounting claims, a claim bound (or not) to a PV, a PV bound
// back to a claim with node affinity to a hostname.

func withClaims(names ...string) podOpt {
	return func(p *v1.Pod) {
		for _, n := range names {
			p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: n, VolumeSource: v1.VolumeSource{
				PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: n},
			}})
		}
	}
}

func claim(name, volume string, phase v1.PersistentVolumeClaimPhase) *v1.PersistentVolumeClaim {
	return &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name)},
		Spec:       v1.PersistentVolumeClaimSpec{VolumeName: volume},
		Status:     v1.PersistentVolumeClaimStatus{Phase: phase},
	}
}

type pvOpt func(*v1.PersistentVolume)

// volume is a Bound PV of claim (namespace ns), with node affinity to hostname node ("": none).
func volume(name, claim, node string, opts ...pvOpt) *v1.PersistentVolume {
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.PersistentVolumeSpec{ClaimRef: &v1.ObjectReference{Kind: "PersistentVolumeClaim",
			Namespace: "ns", Name: claim, UID: types.UID("uid-" + claim)}},
		Status: v1.PersistentVolumeStatus{Phase: v1.VolumeBound},
	}
	if node != "" {
		pv.Spec.NodeAffinity = &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
			MatchExpressions: []v1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: v1.NodeSelectorOpIn, Values: []string{node}}},
		}}}}
	}
	for _, o := range opts {
		o(pv)
	}
	return pv
}

func TestCheckVolumes(t *testing.T) {
	bound := v1.ClaimBound
	tests := []struct {
		name        string
		pods        []*v1.Pod
		claims      []*v1.PersistentVolumeClaim
		pvs         []*v1.PersistentVolume
		incomplete  bool
		constraints bool
		want        []string // substrings, one per expected violation, in sorted order
	}{
		{name: "each pod's claim bound to a volume on its node", constraints: true,
			pods:   []*v1.Pod{pod("a", "n-a", withClaims("c-a")), pod("b", "n-c", withClaims("c-b")), pod("plain", "n-b")},
			claims: []*v1.PersistentVolumeClaim{claim("c-a", "pv-a", bound), claim("c-b", "pv-b", bound)},
			pvs:    []*v1.PersistentVolume{volume("pv-a", "c-a", "n-a"), volume("pv-b", "c-b", "n-c")}},
		{name: "the ceiling is checked too", pods: []*v1.Pod{pod("a", "n-b", withClaims("c-a"))},
			claims: []*v1.PersistentVolumeClaim{claim("c-a", "pv-a", bound)}, pvs: []*v1.PersistentVolume{volume("pv-a", "c-a", "n-a")},
			want: []string{"ns/a on n-b: PV pv-a of claim ns/c-a: its node affinity does not select the pod's node"}},
		{name: "volume on another node", constraints: true, pods: []*v1.Pod{pod("a", "n-b", withClaims("c-a"))},
			claims: []*v1.PersistentVolumeClaim{claim("c-a", "pv-a", bound)}, pvs: []*v1.PersistentVolume{volume("pv-a", "c-a", "n-c")},
			want: []string{"its node affinity does not select the pod's node"}},
		{name: "volume without node affinity", constraints: true, pods: []*v1.Pod{pod("a", "n-a", withClaims("c-a"))},
			claims: []*v1.PersistentVolumeClaim{claim("c-a", "pv-a", bound)}, pvs: []*v1.PersistentVolume{volume("pv-a", "c-a", "")},
			want: []string{"PV pv-a of claim ns/c-a has no required node affinity"}},
		{name: "claim pending", constraints: true, pods: []*v1.Pod{pod("a", "n-a", withClaims("c-a"))},
			claims: []*v1.PersistentVolumeClaim{claim("c-a", "", v1.ClaimPending)},
			want:   []string{`ns/a on n-a: claim ns/c-a not bound (phase "Pending", volume "")`}},
		{name: "claim missing", constraints: true, pods: []*v1.Pod{pod("a", "n-a", withClaims("c-a"))},
			want: []string{"claim ns/c-a does not exist"}},
		{name: "volume missing", constraints: true, pods: []*v1.Pod{pod("a", "n-a", withClaims("c-a"))},
			claims: []*v1.PersistentVolumeClaim{claim("c-a", "pv-a", bound)},
			want:   []string{"bound to PV pv-a, which does not exist"}},
		{name: "volume bound to another claim of the same name", constraints: true, pods: []*v1.Pod{pod("a", "n-a", withClaims("c-a"))},
			claims: []*v1.PersistentVolumeClaim{claim("c-a", "pv-a", bound)},
			pvs:    []*v1.PersistentVolume{volume("pv-a", "c-a", "n-a", func(pv *v1.PersistentVolume) { pv.Spec.ClaimRef.UID = "old" })},
			want:   []string{"PV pv-a of claim ns/c-a is not bound back to it (claimRef ns/c-a uid old)"}},
		{name: "volume not Bound yet", constraints: true, pods: []*v1.Pod{pod("a", "n-a", withClaims("c-a"))},
			claims: []*v1.PersistentVolumeClaim{claim("c-a", "pv-a", bound)},
			pvs:    []*v1.PersistentVolume{volume("pv-a", "c-a", "n-a", func(pv *v1.PersistentVolume) { pv.Status.Phase = v1.VolumeAvailable })},
			want:   []string{`PV pv-a of claim ns/c-a is "Available", not Bound`}},
		{name: "one PV for two claims", constraints: true,
			pods:   []*v1.Pod{pod("a", "n-a", withClaims("c-a")), pod("b", "n-a", withClaims("c-b"))},
			claims: []*v1.PersistentVolumeClaim{claim("c-a", "pv-a", bound), claim("c-b", "pv-a", bound)},
			pvs:    []*v1.PersistentVolume{volume("pv-a", "c-a", "n-a")},
			want:   []string{"PV pv-a: used by claims ns/c-a and ns/c-b", "ns/b on n-a: PV pv-a of claim ns/c-b is not bound back to it"}},
		{name: "one claim for two pods", constraints: true,
			pods:   []*v1.Pod{pod("a", "n-a", withClaims("c-a")), pod("b", "n-a", withClaims("c-a"))},
			claims: []*v1.PersistentVolumeClaim{claim("c-a", "pv-a", bound)}, pvs: []*v1.PersistentVolume{volume("pv-a", "c-a", "n-a")},
			want: []string{"claim ns/c-a: used by pods ns/a and ns/b"}},
		{name: "incomplete: a pending pod's claim is not judged", constraints: true, incomplete: true,
			pods:   []*v1.Pod{pod("a", "", withClaims("c-a")), pod("b", "n-a", withClaims("c-b"))},
			claims: []*v1.PersistentVolumeClaim{claim("c-a", "", v1.ClaimPending), claim("c-b", "pv-b", bound)},
			pvs:    []*v1.PersistentVolume{volume("pv-b", "c-b", "n-a")}},
		{name: "complete: a pending pod is reported once", constraints: true,
			pods:   []*v1.Pod{pod("a", "", withClaims("c-a"))},
			claims: []*v1.PersistentVolumeClaim{claim("c-a", "", v1.ClaimPending)},
			want:   []string{"ns/a: never bound, but it fits"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := placement{nodes: testNodes(), pods: tc.pods, incomplete: tc.incomplete,
				claims: map[string]*v1.PersistentVolumeClaim{}, volumes: map[string]*v1.PersistentVolume{}}
			for _, c := range tc.claims {
				p.claims[c.Namespace+"/"+c.Name] = c
			}
			for _, pv := range tc.pvs {
				p.volumes[pv.Name] = pv
			}
			got := check(p, tc.constraints)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d violations, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("violation %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

// TestCheckWithoutVolumes: a run that is no volumes run lists no claims, and its pods' volumes are
// not judged.
func TestCheckWithoutVolumes(t *testing.T) {
	if got := check(placement{nodes: testNodes(), pods: []*v1.Pod{pod("a", "n-a", withClaims("c-a"))}}, true); len(got) != 0 {
		t.Fatalf("violations %v", got)
	}
}
