// Package imagelocality implements kube-scheduler's ImageLocality score plugin: nodes that already
// hold the pod's images score higher, so the pod starts without a long pull.
//
// Each of the pod's images (init and app containers, image volumes; one entry per container, so
// repeated images count again) that the node holds adds its size scaled by its spread: the share
// of the cluster's nodes that hold it. This damps the "node heating" problem where one node with a
// popular image attracts every pod. The sum is clamped to [23 MiB, 1000 MiB × number of images]
// and mapped linearly onto 0..100.
package imagelocality

import (
	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// Name is the plugin's name in kube-scheduler configuration.
const Name = "ImageLocality"

const (
	mib int64 = 1024 * 1024
	// minThreshold is the sum below which a node scores 0: small images are cheap to pull.
	minThreshold = 23 * mib
	// maxThresholdPerImage, times the number of images, is the sum at which a node scores 100.
	maxThresholdPerImage = 1000 * mib
)

// ImageLocality is the plugin. It has no configuration and no state; the zero value is ready.
type ImageLocality struct{}

// New returns the plugin.
func New() *ImageLocality { return &ImageLocality{} }

// Name returns "ImageLocality".
func (*ImageLocality) Name() string { return Name }

// PreScore normalises the pod's image names and looks up each image's spread over all nodes of
// snap (not only the feasible ones), so Score does one map lookup per image. It returns nil when
// the snapshot has no nodes.
func (*ImageLocality) PreScore(pod *snapshot.PodInfo, snap *snapshot.Snapshot, _ []*snapshot.NodeInfo) decide.NodeScorer {
	total := len(snap.Nodes)
	if total == 0 {
		return nil
	}
	spec := &pod.Pod.Spec
	s := &scorer{images: make([]image, 0, len(spec.InitContainers)+len(spec.Containers))}
	add := func(ref string) {
		name := snapshot.NormalizeImageName(ref)
		s.images = append(s.images, image{name: name, spread: float64(snap.ImageNodes(name)) / float64(total)})
	}
	for i := range spec.InitContainers {
		add(spec.InitContainers[i].Image)
	}
	for i := range spec.Containers {
		add(spec.Containers[i].Image)
	}
	for i := range spec.Volumes {
		if v := spec.Volumes[i].Image; v != nil {
			add(v.Reference)
		}
	}
	return s
}

// image is one of the pod's images with the share of all nodes that hold it.
type image struct {
	name   string
	spread float64
}

// scorer scores one pod's images on a node. It is read-only after PreScore.
type scorer struct {
	images []image
}

// Score returns 0..100: the clamped sum of spread-scaled sizes of the pod's images on the node.
func (s *scorer) Score(n *snapshot.NodeInfo) int64 {
	var sum int64
	if len(n.Images) > 0 {
		for _, img := range s.images {
			if size, ok := n.Images[img.name]; ok {
				sum += int64(float64(size) * img.spread)
			}
		}
	}
	return scaledScore(sum, len(s.images))
}

// scaledScore maps sum onto 0..MaxNodeScore between minThreshold and imageCount ×
// maxThresholdPerImage.
func scaledScore(sum int64, imageCount int) int64 {
	maxThreshold := maxThresholdPerImage * int64(imageCount)
	switch {
	case sum < minThreshold:
		sum = minThreshold
	case sum > maxThreshold:
		sum = maxThreshold
	}
	return decide.MaxNodeScore * (sum - minThreshold) / (maxThreshold - minThreshold)
}
