package podtopologyspread

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

func indexer(t *testing.T, objs ...any) cache.Indexer {
	t.Helper()
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, o := range objs {
		if err := idx.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	return idx
}

func TestListersPodSelectors(t *testing.T) {
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: "default"} }
	services := []any{
		&v1.Service{ObjectMeta: meta("web"), Spec: v1.ServiceSpec{Selector: map[string]string{"app": "web"}}},
		&v1.Service{ObjectMeta: meta("tier"), Spec: v1.ServiceSpec{Selector: map[string]string{"tier": "front"}}},
		&v1.Service{ObjectMeta: meta("headless")}, // nil selector: selects nothing
		&v1.Service{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere", Namespace: "other"}, Spec: v1.ServiceSpec{Selector: map[string]string{"app": "web"}}},
	}
	rsSelector := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "pod-template-hash", Operator: metav1.LabelSelectorOpExists}}}
	l := Listers{
		Services:               corelisters.NewServiceLister(indexer(t, services...)),
		ReplicationControllers: corelisters.NewReplicationControllerLister(indexer(t, &v1.ReplicationController{ObjectMeta: meta("rc"), Spec: v1.ReplicationControllerSpec{Selector: map[string]string{"rc": "x"}}})),
		ReplicaSets:            appslisters.NewReplicaSetLister(indexer(t, &appsv1.ReplicaSet{ObjectMeta: meta("rs"), Spec: appsv1.ReplicaSetSpec{Selector: rsSelector}})),
		StatefulSets:           appslisters.NewStatefulSetLister(indexer(t, &appsv1.StatefulSet{ObjectMeta: meta("ss"), Spec: appsv1.StatefulSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"ss": "y"}}}})),
	}
	owned := func(apiVersion, kind, name string, controller bool) podOpt {
		return func(p *v1.Pod) {
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: name, Controller: &controller}}
		}
	}
	tests := []struct {
		name    string
		pod     *v1.Pod
		matches labels.Set // labels the combined selectors must match
		misses  labels.Set // labels they must not match
		want    int        // number of selectors
	}{
		{name: "matching services only", pod: mkPod([]string{"app", "web", "tier", "front"}),
			matches: labels.Set{"app": "web", "tier": "front"}, misses: labels.Set{"app": "web"}, want: 2},
		{name: "no matching service", pod: mkPod([]string{"app", "db"}), want: 0},
		{name: "replica set controller", pod: mkPod([]string{"app", "web"}, owned("apps/v1", "ReplicaSet", "rs", true)),
			matches: labels.Set{"app": "web", "pod-template-hash": "1"}, misses: labels.Set{"app": "web"}, want: 2},
		{name: "stateful set controller", pod: mkPod(nil, owned("apps/v1", "StatefulSet", "ss", true)),
			matches: labels.Set{"ss": "y"}, misses: labels.Set{"ss": "z"}, want: 1},
		{name: "replication controller", pod: mkPod(nil, owned("v1", "ReplicationController", "rc", true)),
			matches: labels.Set{"rc": "x"}, misses: labels.Set{}, want: 1},
		{name: "an owner that is not the controller", pod: mkPod(nil, owned("apps/v1", "ReplicaSet", "rs", false)), want: 0},
		{name: "an unsupported controller kind", pod: mkPod(nil, owned("batch/v1", "Job", "rs", true)), want: 0},
		{name: "a controller missing from the cache", pod: mkPod(nil, owned("apps/v1", "StatefulSet", "gone", true)), want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sels := l.PodSelectors(tt.pod)
			if len(sels) != tt.want {
				t.Fatalf("got %d selectors %v, want %d", len(sels), sels, tt.want)
			}
			all := func(set labels.Set) bool {
				for _, s := range sels {
					if !s.Matches(set) {
						return false
					}
				}
				return true
			}
			if tt.matches != nil && !all(tt.matches) {
				t.Errorf("selectors %v do not all match %v", sels, tt.matches)
			}
			if tt.misses != nil && all(tt.misses) {
				t.Errorf("selectors %v all match %v", sels, tt.misses)
			}
		})
	}
	if got := (Listers{}).PodSelectors(mkPod([]string{"app", "web"}, owned("apps/v1", "ReplicaSet", "rs", true))); len(got) != 0 {
		t.Errorf("nil listers gave %v", got)
	}
}
