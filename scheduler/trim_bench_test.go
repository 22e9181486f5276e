package scheduler

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/benchdata"
)

// serverPod is bound pod i of the named benchmark workload as the API server returns it: the
// workload's pod with the fields the server fills in (identity, defaults, default tolerations,
// status). The startup benchmark's pods are basic's.
func serverPod(workload string, i int) *v1.Pod {
	w, _ := benchdata.Get(workload)
	p := w.Pods("bound", benchdata.Size{Nodes: 10, Pods: 1})[0].Pod
	p.Name = fmt.Sprintf("pod-%05d", i)
	p.UID = types.UID(fmt.Sprintf("8f0d6a3e-1b2c-4d5e-9f00-%012d", i))
	p.ResourceVersion = fmt.Sprint(100000 + i)
	p.CreationTimestamp = metav1.NewTime(time.Unix(1700000000, 0))
	p.Spec.NodeName = benchdata.NodeName(i % 5000)
	p.Spec.RestartPolicy = v1.RestartPolicyAlways
	p.Spec.DNSPolicy = v1.DNSClusterFirst
	p.Spec.SchedulerName = "default-scheduler"
	p.Spec.SecurityContext = &v1.PodSecurityContext{}
	sec := int64(300)
	p.Spec.Tolerations = []v1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: &sec},
		{Key: "node.kubernetes.io/unreachable", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: &sec}}
	prio := int32(0)
	p.Spec.Priority = &prio
	pp := v1.PreemptLowerPriority
	p.Spec.PreemptionPolicy = &pp
	t := true
	p.Spec.EnableServiceLinks = &t
	c := &p.Spec.Containers[0]
	c.TerminationMessagePath = "/dev/termination-log"
	c.TerminationMessagePolicy = "File"
	c.ImagePullPolicy = "IfNotPresent"
	c.Ports[0].Protocol = "TCP"
	p.Status.Phase = v1.PodPending
	p.Status.QOSClass = v1.PodQOSBurstable
	return p
}

// BenchmarkDecodeTrimPods decodes 10,000 bound pods from protobuf and trims them, as the pod
// informer does, keeping them all: ns and allocations per pod, and the heap they retain
// (retained-B/pod, after a collection). Pods of the basic workload, and of spread (one
// topology spread constraint each, as the pods of one Deployment carry).
func BenchmarkDecodeTrimPods(b *testing.B) {
	for _, w := range []string{"basic", "spread"} {
		b.Run(w, func(b *testing.B) { benchmarkDecodeTrimPods(b, w) })
	}
}

func benchmarkDecodeTrimPods(b *testing.B, workload string) {
	const n = 10000
	raw := make([][]byte, n)
	for i := range raw {
		data, err := serverPod(workload, i).Marshal()
		if err != nil {
			b.Fatal(err)
		}
		raw[i] = data
	}
	kept := make([]*v1.Pod, n)
	var retained uint64
	b.ReportAllocs()
	for b.Loop() {
		clear(kept)
		b.StopTimer()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		for i := range raw {
			p := &v1.Pod{}
			if err := p.Unmarshal(raw[i]); err != nil {
				b.Fatal(err)
			}
			Trim(p)
			kept[i] = p
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		retained = (after.HeapAlloc - before.HeapAlloc) / n
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/pod")
	b.ReportMetric(float64(retained), "retained-B/pod")
	b.ReportMetric(0, "ns/op")
}
