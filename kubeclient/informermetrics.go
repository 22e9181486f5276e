package kubeclient

import (
	"errors"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	"github.com/berth-scheduler/berth/metrics"
)

// informerName is what kube-scheduler names its informers for client-go's informer metrics.
const informerName = "kube-scheduler"

// informerMetrics are client-go's informer families as kube-scheduler exposes them
// (informer_queued_items, informer_processing_latency_seconds, informer_store_resource_version),
// labelled by the informers' name and resource. client-go sets and observes them through
// cache.InformerMetricsProvider, which this implements over berth's registry.
type informerMetrics struct {
	queued, version *metrics.GaugeVec
	latency         *metrics.HistogramVec
}

var informerLabels = []string{"name", "group", "version", "resource"}

func newInformerMetrics(r *metrics.Registry) (*informerMetrics, error) {
	var m informerMetrics
	var err1, err2, err3 error
	m.queued, err1 = r.Gauge("informer_queued_items", "[ALPHA] Number of items currently queued in the FIFO.", informerLabels...)
	m.latency, err2 = r.Histogram("informer_processing_latency_seconds", "[ALPHA] Time taken to process events after popping from the queue.",
		[]float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}, informerLabels...)
	m.version, err3 = r.Gauge("informer_store_resource_version", "[ALPHA] The 15 least significant digits of the resource version of the store.", informerLabels...)
	return &m, errors.Join(err1, err2, err3)
}

func labelsOf(id cache.InformerNameAndResource) []string {
	gvr := id.GroupVersionResource()
	return []string{id.Name(), gvr.Group, gvr.Version, gvr.Resource}
}

func (m *informerMetrics) NewQueuedItemMetric(id cache.InformerNameAndResource) cache.GaugeMetric {
	return reservedGauge{id, m.queued.With(labelsOf(id)...)}
}

func (m *informerMetrics) NewProcessingLatencyMetric(id cache.InformerNameAndResource) cache.HistogramMetric {
	return reservedHistogram{id, m.latency.With(labelsOf(id)...)}
}

func (m *informerMetrics) NewStoreResourceVersionMetric(id cache.InformerNameAndResource) cache.GaugeMetric {
	return reservedGauge{id, m.version.With(labelsOf(id)...)}
}

// reservedGauge and reservedHistogram record only while their informer's name is reserved, as
// client-go asks of a provider.
type reservedGauge struct {
	id cache.InformerNameAndResource
	g  *metrics.Gauge
}

func (r reservedGauge) Set(v float64) {
	if r.id.Reserved() {
		r.g.Set(v)
	}
}

type reservedHistogram struct {
	id cache.InformerNameAndResource
	h  *metrics.Histogram
}

func (r reservedHistogram) Observe(v float64) {
	if r.id.Reserved() {
		r.h.Observe(v)
	}
}

// WithMetrics has the informers count client-go's informer families into r, as kube-scheduler's
// do, under the informer name "kube-scheduler". client-go lets one name be reserved once per
// process: a second set of informers with metrics in the same process counts nothing (tests).
func WithMetrics(r *metrics.Registry) InformerOption {
	return func(f *Informers) {
		m, err := newInformerMetrics(r)
		if err != nil {
			f.metricsErr = err
			return
		}
		name, err := cache.NewInformerName(informerName)
		if err != nil {
			return // reserved by other informers of this process: they count
		}
		f.metrics, f.name = m, name
	}
}

// identity returns the informer options that publish the metrics of resource ("plural" or
// "plural.group", every one at version v1), or none without WithMetrics.
func (f *Informers) identity(resource string) cache.SharedIndexInformerOptions {
	if f.metrics == nil {
		return cache.SharedIndexInformerOptions{}
	}
	plural, group, _ := strings.Cut(resource, ".")
	return cache.SharedIndexInformerOptions{
		Identifier:              f.name.WithResource(schema.GroupVersionResource{Group: group, Version: "v1", Resource: plural}),
		InformerMetricsProvider: f.metrics,
	}
}
