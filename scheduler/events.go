package scheduler

import (
	"context"
	"fmt"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// EventWriter creates and patches the events.k8s.io/v1 Events of one namespace. kubeclient's
// Events(namespace) and client-go's EventsV1().Events(namespace) satisfy it. It is called from
// the binder pool, concurrently.
type EventWriter interface {
	Create(ctx context.Context, event *eventsv1.Event, opts metav1.CreateOptions) (*eventsv1.Event, error)
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (*eventsv1.Event, error)
}

// eventWindow is how long an event is remembered for folding repeats into a series, as
// client-go's events broadcaster does.
const eventWindow = 6 * time.Minute

// eventKey identifies repeats of one event: same object, reason, type and note.
type eventKey struct {
	uid               types.UID
	typ, reason, note string
}

type seenEvent struct {
	name     string
	count    int32
	lastSeen time.Time
}

// recorder turns events.k8s.io/v1 events into API writes. Like client-go's broadcaster it folds
// repeats: the first occurrence is created, the second turns it into a series (count 2), later
// ones within the window are only counted, so an unschedulable pod retried often costs one or two
// writes, not one per attempt. Safe for concurrent use.
type recorder struct {
	events func(namespace string) EventWriter
	host   string // reportingInstance is "<controller>-<host>", as kube-scheduler's

	mu    sync.Mutex
	seen  map[eventKey]*seenEvent
	sweep time.Time
}

func newRecorder(events func(namespace string) EventWriter, host string) *recorder {
	return &recorder{events: events, host: host, seen: map[eventKey]*seenEvent{}}
}

// record folds one event about pod (and related, when not nil), reported by controller (the
// profile's scheduler name), into
// what it has recorded, and returns the API write it needs: a create for a new event, a patch
// for its first repeat (which makes it a series); nil for later repeats, which are only counted.
// It makes no API call itself (see eventSink).
func (r *recorder) record(controller string, pod, related *v1.Pod, typ, reason, action, note string) *eventWrite {
	note = truncate(note, 1024)
	now := time.Now()
	key := eventKey{uid: pod.UID, typ: typ, reason: reason, note: note}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sweepLocked(now)
	if prev, ok := r.seen[key]; ok {
		prev.count++
		prev.lastSeen = now
		if prev.count != 2 {
			return nil
		}
		ns, name := pod.Namespace, prev.name
		return &eventWrite{what: "updating event series " + ns + "/" + name, write: func(ctx context.Context) error {
			return r.markSeries(ctx, ns, name, now)
		}}
	}
	name := fmt.Sprintf("%s.%x", pod.Name, now.UnixNano())
	r.seen[key] = &seenEvent{name: name, count: 1, lastSeen: now}
	ev := &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: name, Namespace: pod.Namespace},
		EventTime:           metav1.NewMicroTime(now),
		ReportingController: controller,
		ReportingInstance:   controller + "-" + r.host,
		Action:              action,
		Reason:              reason,
		Type:                typ,
		Note:                note,
		Regarding:           podRef(pod),
	}
	if related != nil {
		ref := podRef(related)
		ev.Related = &ref
	}
	return &eventWrite{
		what: fmt.Sprintf("recording %s event for pod %s/%s", reason, pod.Namespace, pod.Name),
		write: func(ctx context.Context) error {
			_, err := r.events(ev.Namespace).Create(ctx, ev, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) { // an earlier attempt went through after all
				return nil
			}
			return err
		},
		// Not written: the next occurrence creates it again.
		dropped: func() {
			r.mu.Lock()
			delete(r.seen, key)
			r.mu.Unlock()
		},
	}
}

func podRef(pod *v1.Pod) v1.ObjectReference {
	return v1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace,
		Name: pod.Name, UID: pod.UID, ResourceVersion: pod.ResourceVersion}
}

func (r *recorder) markSeries(ctx context.Context, ns, name string, now time.Time) error {
	patch := fmt.Sprintf(`{"series":{"count":2,"lastObservedTime":%q}}`, now.UTC().Format("2006-01-02T15:04:05.000000Z07:00"))
	_, err := r.events(ns).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	return err
}

// sweepLocked forgets events not seen within the window, at most once a minute.
func (r *recorder) sweepLocked(now time.Time) {
	if now.Sub(r.sweep) < time.Minute {
		return
	}
	r.sweep = now
	for k, e := range r.seen {
		if now.Sub(e.lastSeen) > eventWindow {
			delete(r.seen, k)
		}
	}
}
