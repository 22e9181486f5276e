package cache

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

func TestDryRunSnapshot(t *testing.T) {
	tests := []struct {
		name    string
		without string
		want    map[string]int64 // node -> requested millicpu
	}{
		{name: "everything", want: map[string]int64{"n1": 1500, "n2": 0}},
		{name: "without a bound pod", without: "a", want: map[string]int64{"n1": 500, "n2": 0}},
		{name: "without an unknown pod", without: "zzz", want: map[string]int64{"n1": 1500, "n2": 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := New()
			c.AddNode(node("n1", "z1"))
			loop := c.UpdateSnapshot(nil)
			c.AddNode(node("n2", "z1"))
			c.AddPod(pod("a", "n1", "1"))
			c.AddPod(pod("b", "n1", "500m"))
			dry := c.DryRunSnapshot(types.UID(tc.without))
			for n, want := range tc.want {
				if got := requested(dry, n); got != want {
					t.Errorf("dry run: %s requested %d, want %d", n, got, want)
				}
			}
			// The loop's next snapshot still gets every change made before the dry run.
			loop = c.UpdateSnapshot(loop)
			if got := requested(loop, "n1"); got != 1500 || loop.Get("n2") == nil {
				t.Errorf("loop's snapshot after a dry run: n1 requested %d, n2 %v; want 1500 and present", got, loop.Get("n2"))
			}
		})
	}
}
