package imagelocality

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

var _ decide.ScorePlugin = (*ImageLocality)(nil)

// img is an image a node holds: its names and size in MiB.
type img struct {
	names []string
	mib   int64
}

func nodeWithImages(name string, images ...img) *snapshot.NodeInfo {
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for _, i := range images {
		n.Status.Images = append(n.Status.Images, v1.ContainerImage{Names: i.names, SizeBytes: i.mib * mib})
	}
	return snapshot.NewNodeInfo(n)
}

func containers(images ...string) []v1.Container {
	out := make([]v1.Container, len(images))
	for i, im := range images {
		out[i] = v1.Container{Name: fmt.Sprintf("c%d", i), Image: im}
	}
	return out
}

func TestScore(t *testing.T) {
	// Four nodes, so spreads are exact binary fractions: a on 2 (0.5), b on 1 (0.25), the rest on 4.
	a := img{names: []string{"registry.example/a:1", "registry.example/a@sha256:aaaa"}, mib: 400}
	b := img{names: []string{"registry.example/b:1"}, mib: 800}
	c := img{names: []string{"registry.example/c:1"}, mib: 40}
	huge := img{names: []string{"registry.example/huge:1"}, mib: 3000}
	small := img{names: []string{"registry.example/small:1"}, mib: 20}
	untagged := img{names: []string{"nginx"}, mib: 500}
	nodes := []*snapshot.NodeInfo{
		nodeWithImages("n1", a, b, c, huge, small, untagged),
		nodeWithImages("n2", a, c, huge, small, untagged),
		nodeWithImages("n3", c, huge, small, untagged),
		nodeWithImages("n4", c, huge, small, untagged),
	}
	snap := snapshot.New(nodes, nil)

	tests := []struct {
		name string
		spec v1.PodSpec
		want [4]int64
	}{
		{
			// n1: 400*0.5 + 800*0.25 = 400 MiB of max 2000: 100*(400-23)/(2000-23) = 19.
			// n2: 200 MiB: 100*177/1977 = 8.
			name: "two images scaled by spread",
			spec: v1.PodSpec{Containers: containers("registry.example/a:1", "registry.example/b:1")},
			want: [4]int64{19, 8, 0, 0},
		},
		{
			name: "digest name of the same image matches",
			spec: v1.PodSpec{Containers: containers("registry.example/a@sha256:aaaa", "registry.example/b:1")},
			want: [4]int64{19, 8, 0, 0},
		},
		{
			// 40 MiB everywhere: 100*(40-23)/(1000-23) = 1.
			name: "image on every node",
			spec: v1.PodSpec{Containers: containers("registry.example/c:1")},
			want: [4]int64{1, 1, 1, 1},
		},
		{
			name: "sum above the maximum is clamped",
			spec: v1.PodSpec{Containers: containers("registry.example/huge:1")},
			want: [4]int64{100, 100, 100, 100},
		},
		{
			name: "sum below the minimum scores zero",
			spec: v1.PodSpec{Containers: containers("registry.example/small:1")},
			want: [4]int64{0, 0, 0, 0},
		},
		{
			name: "image nowhere",
			spec: v1.PodSpec{Containers: containers("registry.example/missing:1")},
			want: [4]int64{0, 0, 0, 0},
		},
		{
			// n1: 200 + 40 = 240 MiB of max 2000: 100*217/1977 = 10; n2: 200+40 too; n3, n4: 40 MiB.
			name: "init containers count",
			spec: v1.PodSpec{InitContainers: containers("registry.example/a:1"), Containers: containers("registry.example/c:1")},
			want: [4]int64{10, 10, 0, 0},
		},
		{
			name: "image volumes count",
			spec: v1.PodSpec{
				Containers: containers("registry.example/c:1"),
				Volumes:    []v1.Volume{{Name: "v", VolumeSource: v1.VolumeSource{Image: &v1.ImageVolumeSource{Reference: "registry.example/b:1"}}}},
			},
			// n1: 200 + 40 = 240 of 2000 → 10; others: 40 of 2000 → 0.
			want: [4]int64{10, 0, 0, 0},
		},
		{
			name: "a repeated image counts once per container",
			spec: v1.PodSpec{Containers: containers("registry.example/a:1", "registry.example/a:1")},
			want: [4]int64{19, 19, 0, 0},
		},
		{
			// "nginx" normalises to "nginx:latest" on both sides: 500 MiB everywhere → 100*477/977 = 48.
			name: "untagged names normalise to latest",
			spec: v1.PodSpec{Containers: containers("nginx")},
			want: [4]int64{48, 48, 48, 48},
		},
		{
			name: "explicit latest tag matches an untagged node image",
			spec: v1.PodSpec{Containers: containers("nginx:latest")},
			want: [4]int64{48, 48, 48, 48},
		},
	}
	pl := New()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := snapshot.NewPodInfo(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: tc.spec})
			s := pl.PreScore(pod, snap, snap.Nodes)
			if s == nil {
				t.Fatal("PreScore returned nil")
			}
			var got [4]int64
			for i, n := range nodes {
				got[i] = s.Score(n)
			}
			if got != tc.want {
				t.Errorf("scores = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPreScoreEmptySnapshot(t *testing.T) {
	pod := snapshot.NewPodInfo(&v1.Pod{Spec: v1.PodSpec{Containers: containers("x")}})
	if s := New().PreScore(pod, snapshot.New(nil, nil), nil); s != nil {
		t.Errorf("PreScore on an empty snapshot = %v, want nil", s)
	}
}

func TestScaledScoreBounds(t *testing.T) {
	tests := []struct {
		name   string
		sum    int64
		images int
		want   int64
	}{
		{name: "zero", sum: 0, images: 1, want: 0},
		{name: "exactly the minimum", sum: minThreshold, images: 1, want: 0},
		{name: "exactly the maximum", sum: maxThresholdPerImage, images: 1, want: 100},
		{name: "maximum grows with images", sum: maxThresholdPerImage, images: 2, want: 100 * (1000 - 23) / (2000 - 23)},
		{name: "no images at all", sum: 0, images: 0, want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := scaledScore(tc.sum, tc.images); got != tc.want {
				t.Errorf("scaledScore(%d, %d) = %d, want %d", tc.sum, tc.images, got, tc.want)
			}
		})
	}
}

func BenchmarkScore5000(b *testing.B) {
	nodes := make([]*snapshot.NodeInfo, 5000)
	for i := range nodes {
		nodes[i] = nodeWithImages(fmt.Sprintf("node-%d", i),
			img{names: []string{fmt.Sprintf("registry.example/app-%d:1", i%20)}, mib: 300},
			img{names: []string{"registry.example/base:1"}, mib: 100})
	}
	snap := snapshot.New(nodes, nil)
	pod := snapshot.NewPodInfo(&v1.Pod{Spec: v1.PodSpec{
		InitContainers: containers("registry.example/base:1"),
		Containers:     containers("registry.example/app-3:1", "registry.example/sidecar:2"),
	}})
	s := New().PreScore(pod, snap, nodes)
	b.ReportAllocs()
	for b.Loop() {
		for _, n := range nodes {
			s.Score(n)
		}
	}
}
