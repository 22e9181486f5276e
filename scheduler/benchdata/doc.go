// Package benchdata defines the benchmark workloads that berth is measured on: the nodes of a
// cluster and the pods created into it, each workload with its own pod shape in the manner of
// upstream's scheduler_perf (basic, hard zone spread, hostname anti-affinity, required node
// affinity, taints, a mix, pods that fit nowhere, gated pods), plus opt-in ones that run only
// when named: firstpass, where every pod fits nowhere and what is measured is the scheduler's
// first pass over them, preemption, where every node starts full of low-priority pods and
// each pod of the run fits only once the scheduler preempts one of them, and volumes, where each
// pod mounts its own WaitForFirstConsumer claim, provisioned on the node chosen for it.
//
// The same definitions feed the end-to-end harness (./bench, against a real API server) and the
// in-memory decision micro-benchmarks (scheduler/decide), so that a slow workload in one can be
// looked at in the other. The package is never linked into berth.
//
//	w, _ := benchdata.Get("spread")
//	nodes := w.Nodes(1000)
//	pods := w.Pods("bench", benchdata.Size{Nodes: 1000, Pods: 3000})
//
// Every workload is built so that all pods not marked MustStayPending can be placed at once
// without breaking any hard constraint (in a preemption workload, once one victim per pod is
// gone); Validate checks a size against that promise.
package benchdata
