package snapshot

import (
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

func TestLabelsID(t *testing.T) {
	many := func(n, from int) map[string]string { // n labels, inserted from the from-th on
		m := map[string]string{}
		for i := range n {
			k := (i + from) % n
			m[fmt.Sprintf("example.com/k%02d", k)] = fmt.Sprint(k)
		}
		return m
	}
	for _, tc := range []struct {
		name      string
		nsA, nsB  string
		a, b      map[string]string
		wantEqual bool
	}{
		{name: "same labels built in another order", nsA: "ns", nsB: "ns",
			a: map[string]string{"app": "web", "tier": "front"}, b: map[string]string{"tier": "front", "app": "web"}, wantEqual: true},
		{name: "as many labels as sort on the stack, in another order", nsA: "ns", nsB: "ns", a: many(maxStackLabels, 0), b: many(maxStackLabels, 5), wantEqual: true},
		{name: "more labels than sort on the stack, in another order", nsA: "ns", nsB: "ns", a: many(40, 0), b: many(40, 17), wantEqual: true},
		{name: "one label more", nsA: "ns", nsB: "ns", a: many(maxStackLabels, 0), b: many(maxStackLabels+1, 0)},
		{name: "no labels and nil labels", nsA: "ns", nsB: "ns", a: map[string]string{}, b: nil, wantEqual: true},
		{name: "other namespace", nsA: "ns", nsB: "other", a: map[string]string{"app": "web"}, b: map[string]string{"app": "web"}},
		{name: "other value", nsA: "ns", nsB: "ns", a: map[string]string{"app": "web"}, b: map[string]string{"app": "db"}},
		{name: "extra empty label", nsA: "ns", nsB: "ns", a: map[string]string{"app": "web"}, b: map[string]string{"app": "web", "x": ""}},
		{name: "key and value boundary", nsA: "ns", nsB: "ns", a: map[string]string{"ab": "c"}, b: map[string]string{"a": "bc"}},
		{name: "namespace and labels boundary", nsA: "a", nsB: "", a: map[string]string{"b": "c"}, b: map[string]string{"ab": "c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := NewLabelsID(tc.nsA, tc.a), NewLabelsID(tc.nsB, tc.b)
			if !a.Known() || !b.Known() {
				t.Fatal("a computed LabelsID reports unknown")
			}
			if got := a == b; got != tc.wantEqual {
				t.Errorf("IDs equal: %v, want %v", got, tc.wantEqual)
			}
		})
	}
	if (LabelsID{}).Known() {
		t.Error("the zero LabelsID reports known")
	}
}

func TestTermID(t *testing.T) {
	sel := func(s *metav1.LabelSelector) labels.Selector {
		t.Helper()
		out, err := metav1.LabelSelectorAsSelector(s)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	ns := func(names ...string) map[string]struct{} {
		m := map[string]struct{}{}
		for _, n := range names {
			m[n] = struct{}{}
		}
		return m
	}
	web := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	twoExprs := func(first, second string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: first, Operator: metav1.LabelSelectorOpExists},
			{Key: second, Operator: metav1.LabelSelectorOpIn, Values: []string{"y", "x"}},
		}}
	}
	for _, tc := range []struct {
		name      string
		a, b      TermID
		wantEqual bool
	}{
		{name: "same term", a: newTermID(ns("ns"), labels.Nothing(), sel(web)), b: newTermID(ns("ns"), labels.Nothing(), sel(web)), wantEqual: true},
		{name: "requirements in another order", wantEqual: true,
			a: newTermID(ns("ns"), labels.Nothing(), sel(twoExprs("a", "b"))),
			b: newTermID(ns("ns"), labels.Nothing(), sel(&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "b", Operator: metav1.LabelSelectorOpIn, Values: []string{"x", "y"}},
				{Key: "a", Operator: metav1.LabelSelectorOpExists},
			}}))},
		{name: "namespaces in another order", wantEqual: true,
			a: newTermID(ns("a", "b"), labels.Nothing(), sel(web)), b: newTermID(ns("b", "a"), labels.Nothing(), sel(web))},
		{name: "other namespace", a: newTermID(ns("a"), labels.Nothing(), sel(web)), b: newTermID(ns("b"), labels.Nothing(), sel(web))},
		{name: "nothing and everything select differently",
			a: newTermID(ns("ns"), labels.Nothing(), labels.Nothing()), b: newTermID(ns("ns"), labels.Nothing(), labels.Everything())},
		{name: "no namespace selector and an empty one",
			a: newTermID(ns(), labels.Nothing(), sel(web)), b: newTermID(ns(), labels.Everything(), sel(web))},
		{name: "other selector", a: newTermID(ns("ns"), labels.Nothing(), sel(web)),
			b: newTermID(ns("ns"), labels.Nothing(), sel(&metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}))},
		{name: "selector moved to the namespace selector",
			a: newTermID(ns(), labels.Nothing(), sel(web)), b: newTermID(ns(), sel(web), labels.Nothing())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.a.Known() || !tc.b.Known() {
				t.Fatal("a computed TermID reports unknown")
			}
			if got := tc.a == tc.b; got != tc.wantEqual {
				t.Errorf("IDs equal: %v, want %v", got, tc.wantEqual)
			}
		})
	}
	if (TermID{}).Known() {
		t.Error("the zero TermID reports known")
	}
}

// TestNewLabelsIDAllocations: a pod's LabelsID costs one allocation (its key) for up to
// maxStackLabels labels, none without labels; it is computed for every pod the informer delivers.
func TestNewLabelsIDAllocations(t *testing.T) {
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"none", nil, 0},
		{"three", map[string]string{"app": "web", "pod-template-hash": "5d8f7c9b4d", "tier": "front"}, 1},
		{"sixteen", func() map[string]string {
			m := map[string]string{}
			for i := range maxStackLabels {
				m[fmt.Sprint("k", i)] = "v"
			}
			return m
		}(), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			NewLabelsID("ns", tc.labels) // interned before counting, as most pods' labels are
			if got := testing.AllocsPerRun(100, func() { NewLabelsID("ns", tc.labels) }); got > tc.want {
				t.Errorf("%.0f allocations, want at most %.0f", got, tc.want)
			}
		})
	}
}

// BenchmarkNewLabelsID computes the LabelsIDs of pods with a few labels, already interned (the
// common case: most pods share their labels with others).
func BenchmarkNewLabelsID(b *testing.B) {
	for _, c := range []struct {
		name   string
		labels map[string]string
	}{
		{"none", nil},
		{"one", map[string]string{"app": "web"}},
		{"deployment", map[string]string{"app": "web", "pod-template-hash": "5d8f7c9b4d", "tier": "front"}},
		{"twenty", func() map[string]string {
			m := map[string]string{}
			for i := range 20 {
				m["example.com/label-"+string(rune('a'+i))] = "value"
			}
			return m
		}()},
	} {
		b.Run(c.name, func(b *testing.B) {
			keep := NewLabelsID("ns", c.labels)
			b.ReportAllocs()
			for b.Loop() {
				if NewLabelsID("ns", c.labels) != keep {
					b.Fatal("another ID")
				}
			}
		})
	}
}
