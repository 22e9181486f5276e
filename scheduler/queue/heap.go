package queue

import "container/heap"

// podHeap is a binary heap of pods ordered by less. Each pod records its own index, so any
// pod can be removed or re-sorted in O(log n). A pod is in at most one podHeap at a time.
type podHeap struct {
	items []*QueuedPod
	less  func(a, b *QueuedPod) bool
}

// container/heap plumbing; use the lower-case methods below instead.

func (h *podHeap) Len() int           { return len(h.items) }
func (h *podHeap) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *podHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].index = i
	h.items[j].index = j
}
func (h *podHeap) Push(x any) {
	qp := x.(*QueuedPod)
	qp.index = len(h.items)
	h.items = append(h.items, qp)
}
func (h *podHeap) Pop() any {
	n := len(h.items) - 1
	qp := h.items[n]
	h.items[n] = nil
	h.items = h.items[:n]
	qp.index = -1
	return qp
}

func (h *podHeap) push(qp *QueuedPod) { heap.Push(h, qp) }

// pop removes and returns the first pod, or nil if the heap is empty.
func (h *podHeap) pop() *QueuedPod {
	if len(h.items) == 0 {
		return nil
	}
	return heap.Pop(h).(*QueuedPod)
}

// peek returns the first pod without removing it, or nil if the heap is empty.
func (h *podHeap) peek() *QueuedPod {
	if len(h.items) == 0 {
		return nil
	}
	return h.items[0]
}

// remove takes qp, which must be in this heap, out of it.
func (h *podHeap) remove(qp *QueuedPod) { heap.Remove(h, qp.index) }

// fix restores order after qp's sort key changed.
func (h *podHeap) fix(qp *QueuedPod) { heap.Fix(h, qp.index) }
