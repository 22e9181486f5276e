package snapshot

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func pv(name, class string, claim string) *v1.PersistentVolume {
	p := &v1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.PersistentVolumeSpec{StorageClassName: class}}
	if claim != "" {
		p.Spec.ClaimRef = &v1.ObjectReference{Namespace: "ns", Name: claim}
	}
	return p
}

func TestStorageVolumeIndexes(t *testing.T) {
	s := NewStorage()
	s.SetVolume(pv("a", "fast", ""))
	s.SetVolume(pv("b", "fast", "c1"))
	s.SetVolume(pv("c", "slow", ""))
	if got := len(s.UnclaimedVolumes("fast")); got != 1 || s.UnclaimedVolumes("fast")["a"] == nil {
		t.Fatalf("unclaimed fast = %v, want a only", s.UnclaimedVolumes("fast"))
	}
	if got := s.PreboundVolumes("ns", "c1"); len(got) != 1 || got[0].Name != "b" {
		t.Fatalf("prebound c1 = %v, want b", got)
	}
	// a is claimed: it leaves the unclaimed index and joins c1's prebound list, in name order.
	s.SetVolume(pv("a", "fast", "c1"))
	if len(s.UnclaimedVolumes("fast")) != 0 {
		t.Errorf("a is still unclaimed: %v", s.UnclaimedVolumes("fast"))
	}
	if got := s.PreboundVolumes("ns", "c1"); len(got) != 2 || got[0].Name != "a" || got[1].Name != "b" {
		t.Errorf("prebound c1 = %v, want [a b]", got)
	}
	s.DeleteVolume("b")
	s.DeleteVolume("a")
	if s.PreboundVolumes("ns", "c1") != nil || s.Volume("a") != nil {
		t.Errorf("deleted volumes remain: %v", s.PreboundVolumes("ns", "c1"))
	}
	beta := pv("d", "", "")
	beta.Annotations = map[string]string{v1.BetaStorageClassAnnotation: "old"}
	s.SetVolume(beta)
	if s.UnclaimedVolumes("old")["d"] == nil {
		t.Errorf("the beta class annotation is not honoured")
	}
}

func TestStorageCapacitiesAndUsers(t *testing.T) {
	capacity := func(ns, name, class string) *storagev1.CSIStorageCapacity {
		return &storagev1.CSIStorageCapacity{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StorageClassName: class}
	}
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}, Spec: v1.PodSpec{Volumes: []v1.Volume{
		{Name: "data", VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: "c1"}}},
		{Name: "scratch", VolumeSource: v1.VolumeSource{Ephemeral: &v1.EphemeralVolumeSource{}}},
		{Name: "cm", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{}}},
	}}}
	s := StorageOf([]*v1.Pod{pod, pod}, capacity("b", "x", "fast"), capacity("a", "y", "fast"), capacity("a", "z", "slow"))
	if got := s.Capacities("fast"); len(got) != 2 || got[0].Namespace != "a" || got[1].Namespace != "b" {
		t.Errorf("capacities of fast = %v, want a/y then b/x", got)
	}
	// A capacity that changes class moves.
	s.SetCapacity(capacity("a", "y", "slow"))
	if len(s.Capacities("fast")) != 1 || len(s.Capacities("slow")) != 2 {
		t.Errorf("after the class change: fast %d, slow %d capacities, want 1 and 2", len(s.Capacities("fast")), len(s.Capacities("slow")))
	}
	if s.ClaimUsers("ns", "c1") != 2 || s.ClaimUsers("ns", "p-scratch") != 2 || s.ClaimUsers("ns", "cm") != 0 {
		t.Errorf("claim users: c1 %d, p-scratch %d, want 2 and 2", s.ClaimUsers("ns", "c1"), s.ClaimUsers("ns", "p-scratch"))
	}
}
