package scheduler

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/scheduler/cache"
	"github.com/berth-scheduler/berth/scheduler/plugins/volumebinding"
)

// fakeVolumes records the writes of a volume step and answers like the API server: a new
// resource version, or err.
type fakeVolumes struct {
	mu     sync.Mutex
	claims []*v1.PersistentVolumeClaim
	err    error
}

func (f *fakeVolumes) UpdateVolume(_ context.Context, pv *v1.PersistentVolume) (*v1.PersistentVolume, error) {
	return nil, errors.New("unexpected PV write")
}

func (f *fakeVolumes) UpdateClaim(_ context.Context, pvc *v1.PersistentVolumeClaim) (*v1.PersistentVolumeClaim, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	out := pvc.DeepCopy()
	out.ResourceVersion = "2"
	f.claims = append(f.claims, out)
	return out, nil
}

// TestVolumeStep runs a VolumeBinding plan for one claim to provision through its binding step:
// reserve shows the selected node to decisions, a failed write or a timeout undoes it, and the
// step ends once the informer delivers the claim bound.
func TestVolumeStep(t *testing.T) {
	class := "dyn"
	pvc := &v1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "data", ResourceVersion: "1"},
		Spec: v1.PersistentVolumeClaimSpec{StorageClassName: &class,
			Resources: v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")}}}}
	boundClaim := pvc.DeepCopy()
	boundClaim.ResourceVersion = "3"
	boundClaim.Spec.VolumeName = "pv-1"
	boundClaim.Annotations = map[string]string{volumebinding.AnnSelectedNode: "a", volumebinding.AnnBindCompleted: "yes"}
	pv := &v1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-1", ResourceVersion: "3"}}

	tests := []struct {
		name     string
		writeErr error
		timeout  time.Duration
		informer func(c *cache.Cache) // what the informers deliver while the step waits
		wantErr  string
	}{
		{"bound by the PV controller", nil, time.Minute, func(c *cache.Cache) { c.SetVolume(pv); c.SetClaim(boundClaim) }, ""},
		{"the write fails", errors.New("conflict"), time.Minute, nil, "conflict"},
		{"the PV controller never binds", nil, 50 * time.Millisecond, nil, "binding volumes: context deadline exceeded"},
		{"the selected node is reset", nil, time.Minute, func(c *cache.Cache) {
			reset := pvc.DeepCopy()
			reset.ResourceVersion = "3"
			c.SetClaim(reset)
		}, `binding volumes: selectedNode annotation reset for PVC "data"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := cache.New()
			c.AddNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "a"}})
			c.SetClaim(pvc)
			snap := c.UpdateSnapshot(nil)
			w := &fakeVolumes{err: tc.writeErr}
			plan := &volumebinding.Plan{Node: "a", Provisions: []volumebinding.Provision{{Claim: pvc}}, BindTimeout: tc.timeout}
			step := &volumeStep{plan: plan, cache: c, w: w, podGone: func() bool { return false }}
			step.reserve()
			snap = c.UpdateSnapshot(snap)
			if got := snap.Storage.Claim("ns", "data").Annotations[volumebinding.AnnSelectedNode]; got != "a" {
				t.Fatalf("after reserve decisions see selected node %q, want a", got)
			}
			done := make(chan error, 1)
			go func() { done <- step.preBind(context.Background()) }()
			if tc.informer != nil {
				time.Sleep(10 * time.Millisecond) // let the step wait first
				tc.informer(c)
			}
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("preBind did not return")
			}
			if (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("preBind = %v, want %q", err, tc.wantErr)
			}
			if err == nil {
				if len(w.claims) != 1 || w.claims[0].Annotations[volumebinding.AnnSelectedNode] != "a" {
					t.Errorf("written claims %v, want one with the selected node", w.claims)
				}
				return
			}
			step.unreserve(context.Background())
			snap = c.UpdateSnapshot(snap)
			want := c.APIClaim("ns", "data").Annotations[volumebinding.AnnSelectedNode]
			if got := snap.Storage.Claim("ns", "data").Annotations[volumebinding.AnnSelectedNode]; got != want {
				t.Errorf("after unreserve decisions see selected node %q, want the informer's %q", got, want)
			}
		})
	}
}
