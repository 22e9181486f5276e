package failover

import (
	"context"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestLeaderElectDisabled starts berth with --leader-elect=false and the default Lease name: it
// schedules at once, without campaigning, and never creates or touches kube-system/kube-scheduler.
func TestLeaderElectDisabled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := newWorkspace(t, ctx, "noelect")
	leases := w.admin.CoordinationV1().Leases(leaseNamespace)
	before, err := leases.Get(ctx, "kube-scheduler", metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		before = nil
	case err != nil:
		t.Fatal(err)
	}
	rec := recordLease(t, "kube-scheduler")
	pods := w.createPods(t, ctx, 5)

	begun := time.Now()
	r := startReplica(t, replicaSpec{kind: berth, name: "berth", extra: []string{"--leader-elect=false"}})
	boundAt := w.waitBound(t, ctx, pods, 30*time.Second)
	t.Logf("%d pending pods bound %s after the process started", len(pods), boundAt.Sub(begun).Round(time.Millisecond))

	for _, msg := range []string{`component="election"`, `] "Attempting to acquire leader lease..."`, `] "Successfully acquired lease"`} {
		if ls := r.logs(msg); len(ls) > 0 {
			t.Errorf("berth logged %q with --leader-elect=false", ls[0].text)
		}
	}
	if _, found, err := r.metric(ctx, "leader_election_master_status"); err != nil || found {
		t.Errorf("leader_election_master_status exported with --leader-elect=false (err %v)", err)
	}
	checkBindings(t, ctx, &fleet{replicas: []*replica{r}}, map[*replica]int{r: len(pods)})

	_, err = leases.Get(ctx, "kube-scheduler", metav1.GetOptions{})
	if before == nil && !apierrors.IsNotFound(err) {
		t.Errorf("lease kube-system/kube-scheduler: want it still absent after the run, got err %v", err)
	}
	want := 0
	if before != nil {
		want = 1 // the version listed when recording began
	}
	if h := rec.history(); len(h) != want {
		t.Errorf("lease kube-system/kube-scheduler written during the run: %v", h)
	}
}
