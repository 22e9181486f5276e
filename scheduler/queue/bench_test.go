package queue

import (
	"context"
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
)

// BenchmarkAddPop10k adds 10,000 pods of mixed priority and pops them all.
func BenchmarkAddPop10k(b *testing.B) {
	const n = 10_000
	pods := make([]*v1.Pod, n)
	for i := range pods {
		pods[i] = makePod(fmt.Sprintf("pod-%05d", i), withPriority(int32(i%7)))
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		q, _ := newTestQueue(b, Config{})
		for _, p := range pods {
			q.Add(p)
		}
		for range n {
			qp, err := q.Pop(ctx)
			if err != nil {
				b.Fatal(err)
			}
			q.Done(qp)
		}
	}
}
