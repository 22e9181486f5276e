// Package snapshot holds the scheduler's view of the cluster for one scheduling decision: the nodes,
// the pods already placed on them (with their requests, host ports and affinity terms precomputed),
// and the namespaces' labels.
//
// A Snapshot is plain data. It is built by the scheduler cache between decisions and is read-only
// while a decision runs, so filters and scorers may read it from several goroutines without locks.
// Nothing in this package talks to the API server, starts goroutines or reads the clock.
//
// Typical use, in tests as in the cache:
//
//	n := snapshot.NewNodeInfo(node)
//	n.AddPod(snapshot.NewPodInfo(existingPod))
//	s := snapshot.New([]*snapshot.NodeInfo{n}, namespaceLabels)
//	pod := snapshot.NewPodInfo(incomingPod)
package snapshot
