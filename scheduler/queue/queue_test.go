package queue

import (
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

func TestNewConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // substring naming the bad field; empty means success
		want    Config
	}{
		{
			name: "zero value gets upstream defaults",
			want: Config{InitialBackoff: time.Second, MaxBackoff: 10 * time.Second, MaxInUnschedulable: 5 * time.Minute},
		},
		{
			name: "explicit values are kept",
			cfg:  Config{InitialBackoff: 2 * time.Second, MaxBackoff: 2 * time.Second, MaxInUnschedulable: time.Minute},
			want: Config{InitialBackoff: 2 * time.Second, MaxBackoff: 2 * time.Second, MaxInUnschedulable: time.Minute},
		},
		{name: "negative initial backoff", cfg: Config{InitialBackoff: -time.Second}, wantErr: "InitialBackoff"},
		{name: "negative max backoff", cfg: Config{MaxBackoff: -time.Second}, wantErr: "MaxBackoff"},
		{name: "max below initial", cfg: Config{InitialBackoff: 3 * time.Second, MaxBackoff: 2 * time.Second}, wantErr: "MaxBackoff"},
		{name: "initial above default max", cfg: Config{InitialBackoff: 20 * time.Second}, wantErr: "MaxBackoff"},
		{name: "negative max in unschedulable", cfg: Config{MaxInUnschedulable: -time.Minute}, wantErr: "MaxInUnschedulable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := New(tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("New() error = %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New() error = %v", err)
			}
			got := q.cfg
			if got.InitialBackoff != tc.want.InitialBackoff || got.MaxBackoff != tc.want.MaxBackoff ||
				got.MaxInUnschedulable != tc.want.MaxInUnschedulable {
				t.Errorf("resolved config = %+v, want %+v", got, tc.want)
			}
			if got.Clock == nil {
				t.Error("resolved config has no clock")
			}
		})
	}
}

func TestPopOrder(t *testing.T) {
	type added struct {
		pod   *v1.Pod
		after time.Duration // clock step before adding it
	}
	tests := []struct {
		name string
		adds []added
		want []string
	}{
		{
			name: "higher priority first",
			adds: []added{
				{pod: makePod("low", withPriority(1))},
				{pod: makePod("high", withPriority(100))},
				{pod: makePod("mid", withPriority(50))},
			},
			want: []string{"high", "mid", "low"},
		},
		{
			name: "nil priority counts as zero",
			adds: []added{
				{pod: makePod("negative", withPriority(-5))},
				{pod: makePod("nil")},
				{pod: makePod("one", withPriority(1))},
			},
			want: []string{"one", "nil", "negative"},
		},
		{
			name: "equal priority is first in first out",
			adds: []added{
				{pod: makePod("a")},
				{pod: makePod("b"), after: time.Millisecond},
				{pod: makePod("c"), after: time.Millisecond},
			},
			want: []string{"a", "b", "c"},
		},
		{
			name: "equal priority and equal time keep insertion order",
			adds: []added{
				{pod: makePod("x")}, {pod: makePod("y")}, {pod: makePod("z")}, {pod: makePod("w")},
			},
			want: []string{"x", "y", "z", "w"},
		},
		{
			name: "priority beats age",
			adds: []added{
				{pod: makePod("old")},
				{pod: makePod("young-important", withPriority(10)), after: time.Hour},
			},
			want: []string{"young-important", "old"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, clock := newTestQueue(t, Config{})
			for _, a := range tc.adds {
				clock.Step(a.after)
				q.Add(a.pod)
			}
			if got := popAll(t, q); !slices.Equal(got, tc.want) {
				t.Errorf("pop order = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPriorityUpdateReorders(t *testing.T) {
	q, _ := newTestQueue(t, Config{})
	a, b := makePod("a", withPriority(5)), makePod("b", withPriority(1))
	q.Add(a)
	q.Add(b)
	q.Update(b, modified(b, withPriority(9)))
	if got, want := popAll(t, q), []string{"b", "a"}; !slices.Equal(got, want) {
		t.Errorf("pop order = %v, want %v", got, want)
	}
}

func TestGatedPods(t *testing.T) {
	tests := []struct {
		name       string
		update     func(p *v1.Pod) *v1.Pod
		wantActive bool
	}{
		{name: "stays gated while a gate remains", update: func(p *v1.Pod) *v1.Pod {
			np := modified(p)
			np.Spec.SchedulingGates = np.Spec.SchedulingGates[1:]
			return np
		}},
		{name: "label change keeps it gated", update: func(p *v1.Pod) *v1.Pod { return modified(p, withLabel("k", "v")) }},
		{name: "released when all gates are removed", update: func(p *v1.Pod) *v1.Pod { return modified(p, withoutGates()) }, wantActive: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &incomingRecorder{}
			q, _ := newTestQueue(t, Config{OnIncoming: rec.record})
			gatedPod := makePod("gated", withGates("one", "two"), withPriority(100))
			q.Add(gatedPod)
			q.Add(makePod("plain"))
			assertLens(t, q, Lens{Active: 1, Gated: 1})
			if got := popAll(t, q); !slices.Equal(got, []string{"plain"}) {
				t.Fatalf("popped %v while a pod is gated, want only [plain]", got)
			}

			q.Update(gatedPod, tc.update(gatedPod))
			if !tc.wantActive {
				assertLens(t, q, Lens{Gated: 1, InFlight: 1})
				return
			}
			assertLens(t, q, Lens{Active: 1, InFlight: 1})
			qp := popName(t, q, "gated")
			if len(qp.Pod.Spec.SchedulingGates) != 0 {
				t.Errorf("popped the stale gated version of the pod")
			}
			want := []string{"unschedulable/UnscheduledPodAdd", "active/UnscheduledPodAdd",
				"active/TargetPodUpdatePodSchedulingGatesEliminated"}
			if got := rec.take(); !slices.Equal(got, want) {
				t.Errorf("incoming = %v, want %v", got, want)
			}
		})
	}
}

func TestGatedTimeExcludedFromInitialAttempt(t *testing.T) {
	q, clock := newTestQueue(t, Config{})
	pod := makePod("p", withGates("g"))
	q.Add(pod)
	clock.Step(time.Minute)
	released := clock.Now()
	q.Update(pod, modified(pod, withoutGates()))
	qp := popNow(t, q)
	if !qp.InitialAttempt.Equal(released) {
		t.Errorf("InitialAttempt = %v, want the release time %v", qp.InitialAttempt, released)
	}
	q.Retry(qp)
	clock.Step(time.Minute)
	q.Flush()
	if qp := popNow(t, q); !qp.InitialAttempt.Equal(released) || qp.Attempts != 2 {
		t.Errorf("second pop: InitialAttempt = %v, Attempts = %d; want %v, 2", qp.InitialAttempt, qp.Attempts, released)
	}
}

// place puts pod p into the named sub-queue of q (Add, then pop and fail it as needed).
func place(t *testing.T, q *Queue, p *v1.Pod, where string) *QueuedPod {
	t.Helper()
	if where == "gated" {
		q.Add(modified(p, withGates("g")))
		return nil
	}
	q.Add(p)
	if where == "active" {
		return nil
	}
	qp := popName(t, q, p.Name)
	switch where {
	case "in flight":
	case "backoff":
		q.Retry(qp)
	case "unschedulable":
		q.Unschedulable(qp, NodeAdd)
	default:
		t.Fatalf("unknown place %q", where)
	}
	return qp
}

var places = []string{"active", "backoff", "unschedulable", "gated", "in flight"}

func TestDelete(t *testing.T) {
	for _, where := range places {
		t.Run("from "+where, func(t *testing.T) {
			q, clock := newTestQueue(t, Config{})
			p := makePod("p")
			qp := place(t, q, p, where)
			q.Add(makePod("other"))

			q.Delete(p)
			want := Lens{Active: 1}
			if where == "in flight" {
				want.InFlight = 1 // until the cycle reports back
			}
			assertLens(t, q, want)

			if qp != nil && where == "in flight" {
				// The cycle's late result must not resurrect the pod, whatever it is.
				q.Unschedulable(qp, AllEvents)
				q.Retry(qp)
				q.Done(qp)
			}
			q.OnEvent(AllEvents)
			clock.Step(time.Hour)
			q.Flush()
			if got := popAll(t, q); !slices.Equal(got, []string{"other"}) {
				t.Errorf("after delete popped %v, want [other]", got)
			}
			assertLens(t, q, Lens{InFlight: 1})
		})
	}
}

func TestDeleteIgnoresOtherIncarnation(t *testing.T) {
	q, _ := newTestQueue(t, Config{})
	q.Add(makePod("p", withUID("new")))
	q.Delete(makePod("p", withUID("old")))
	assertLens(t, q, Lens{Active: 1})
	q.Delete(makePod("p", withUID("new")))
	assertLens(t, q, Lens{})
}

func TestRecreatedPodReplacesOld(t *testing.T) {
	for _, where := range places {
		for _, via := range []string{"Add", "Update"} {
			t.Run(where+" via "+via, func(t *testing.T) {
				q, _ := newTestQueue(t, Config{})
				old := makePod("p", withUID("old"), withResourceVersion("1"))
				oldQP := place(t, q, old, where)

				recreated := makePod("p", withUID("new"), withResourceVersion("2"))
				if via == "Add" {
					q.Add(recreated)
				} else {
					q.Update(old, recreated)
				}
				if oldQP != nil && where == "in flight" {
					q.Unschedulable(oldQP, AllEvents) // must be discarded
				}
				want := Lens{Active: 1}
				assertLens(t, q, want)
				qp := popNow(t, q)
				if qp.Pod.UID != "new" || qp.Attempts != 1 {
					t.Errorf("popped UID %q with %d attempts, want the new pod on its first attempt", qp.Pod.UID, qp.Attempts)
				}
				// Deleting the old incarnation must not touch the new one.
				q.Delete(old)
				q.Retry(qp)
				assertLens(t, q, Lens{Backoff: 1})
			})
		}
	}
}

func TestAddKnownPodActsAsUpdate(t *testing.T) {
	q, _ := newTestQueue(t, Config{})
	p := makePod("p", withPriority(1))
	q.Add(p)
	q.Add(modified(p, withPriority(2)))
	assertLens(t, q, Lens{Active: 1})
	if qp := popNow(t, q); priority(qp.Pod) != 2 {
		t.Errorf("popped priority %d, want the newer version's 2", priority(qp.Pod))
	}
}

func TestNilPodsAreIgnored(t *testing.T) {
	q, _ := newTestQueue(t, Config{})
	q.Add(nil)
	q.Update(nil, nil)
	q.Delete(nil)
	q.Done(nil)
	q.Retry(nil)
	q.Unschedulable(nil, AllEvents)
	assertLens(t, q, Lens{})
}

func TestLens(t *testing.T) {
	q, _ := newTestQueue(t, Config{})
	assertLens(t, q, Lens{})
	// Order matters: place pops the pod it places, so the active one goes last.
	steps := []struct {
		where string
		want  Lens
	}{
		{where: "in flight", want: Lens{InFlight: 1}},
		{where: "backoff", want: Lens{InFlight: 1, Backoff: 1}},
		{where: "unschedulable", want: Lens{InFlight: 1, Backoff: 1, Unschedulable: 1}},
		{where: "gated", want: Lens{InFlight: 1, Backoff: 1, Unschedulable: 1, Gated: 1}},
		{where: "active", want: Lens{InFlight: 1, Backoff: 1, Unschedulable: 1, Gated: 1, Active: 1}},
	}
	for _, s := range steps {
		place(t, q, makePod(strings.ReplaceAll(s.where, " ", "-")), s.where)
		assertLens(t, q, s.want)
	}
}

func TestOnIncoming(t *testing.T) {
	rec := &incomingRecorder{}
	q, clock := newTestQueue(t, Config{OnIncoming: rec.record})
	q.Add(makePod("a"))
	qp := popNow(t, q)
	q.Unschedulable(qp, NodeAdd)
	q.OnEvent(NodeAdd | NodeChange)
	clock.Step(time.Second)
	q.Flush()
	qp = popNow(t, q)
	q.Unschedulable(qp, NodeAdd)
	clock.Step(6 * time.Minute)
	q.Flush()
	want := []string{
		"active/UnscheduledPodAdd",
		"unschedulable/ScheduleAttemptFailure",
		"backoff/NodeAdd|NodeUpdate",
		"active/BackoffComplete",
		"unschedulable/ScheduleAttemptFailure",
		"active/UnschedulableTimeout",
	}
	if got := rec.take(); !slices.Equal(got, want) {
		t.Errorf("incoming =\n%v\nwant\n%v", got, want)
	}
}

func TestEventsString(t *testing.T) {
	tests := []struct {
		name string
		ev   Events
		want string
	}{
		{name: "none", ev: 0, want: "None"},
		{name: "single", ev: AssignedPodDelete, want: "AssignedPodDelete"},
		{name: "several in bit order", ev: PodChange | NodeAdd, want: "NodeAdd|TargetPodUpdate"},
		{name: "all", ev: AllEvents, want: "NodeAdd|NodeUpdate|AssignedPodAdd|AssignedPodUpdate|AssignedPodDelete|NamespaceUpdate|TargetPodUpdate|" +
			"PersistentVolumeClaimAdd|PersistentVolumeClaimUpdate|PersistentVolumeAdd|PersistentVolumeUpdate|StorageClassAdd|StorageClassUpdate|" +
			"CSINodeAdd|CSINodeUpdate|CSIDriverUpdate|CSIStorageCapacityAdd|CSIStorageCapacityUpdate|VolumeAttachmentDelete|" +
			"ResourceClaimAdd|ResourceClaimUpdate|ResourceClaimDelete|ResourceSliceAdd|ResourceSliceUpdate|DeviceClassAdd|DeviceClassUpdate"},
		{name: "storage", ev: PVAdd | CSINodeChange, want: "PersistentVolumeAdd|CSINodeUpdate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.ev.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}
