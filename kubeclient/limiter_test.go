package kubeclient

import (
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

// TestRateLimiterShared checks that one --kube-api-qps budget covers every API group, as with
// client-go's Clientset, and that a caller's own limiter is used as given.
func TestRateLimiterShared(t *testing.T) {
	own := flowcontrol.NewFakeAlwaysRateLimiter()
	tests := []struct {
		name     string
		cfg      rest.Config
		wantNil  bool
		wantSame flowcontrol.RateLimiter // nil: any shared limiter
	}{
		{name: "QPS and burst make one token bucket", cfg: rest.Config{QPS: 50, Burst: 100}},
		{name: "the caller's limiter", cfg: rest.Config{QPS: 50, Burst: 100, RateLimiter: own}, wantSame: own},
		{name: "negative QPS disables limiting", cfg: rest.Config{QPS: -1}, wantNil: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Host = "https://127.0.0.1:1"
			c, err := New(&tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			var clients []*rest.RESTClient
			for _, g := range []group{c.core, c.apps, c.coordination, c.events, c.authentication, c.authorization, c.resource, c.policy, c.storage} {
				clients = append(clients, g.rest, g.stream)
			}
			first := clients[0].GetRateLimiter()
			if tc.wantNil != (first == nil) {
				t.Fatalf("rate limiter = %v, want nil: %v", first, tc.wantNil)
			}
			if tc.wantSame != nil && first != tc.wantSame {
				t.Errorf("rate limiter = %v, want the caller's", first)
			}
			for i, rc := range clients {
				if rc.GetRateLimiter() != first {
					t.Errorf("group %d has its own rate limiter", i)
				}
			}
		})
	}
}
