// Package election elects one leader among processes sharing a coordination.k8s.io/v1 Lease.
//
// It reads and writes the Lease exactly as client-go's LeaseLock does (holderIdentity,
// leaseDurationSeconds, acquireTime, renewTime, leaseTransitions; on release an empty holder and a
// one-second duration), so berth and kube-scheduler candidates can share a Lease and respect each
// other's terms during a mixed rollout.
//
// Usage:
//
//	e, err := election.New(election.Config{Client: client.Leases("kube-system"), LeaseDuration: 15 * time.Second,
//		RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second})
//	...
//	err = e.Run(ctx, func(ctx context.Context) error { return work(ctx) }) // work runs only while leading
//
// # Time and clock skew
//
// Candidates never compare a timestamp from the Lease with their own clock: the acquire and renew
// times written by another process come from another machine's clock, which may be minutes off.
// Instead a candidate remembers the local time at which it first saw the current record (any change
// of any field counts) and considers the holder's lease expired once leaseDurationSeconds, as the
// holder wrote it, has passed on the candidate's own clock without the record changing. A holder
// that keeps renewing keeps changing the record, so it is never judged expired. Skew between clocks
// therefore does not matter; only a difference in the RATE at which clocks advance does. The
// leader stops acting once RenewDeadline has passed on its own clock since it sent its last
// successful renewal, while a candidate waits LeaseDuration from a moment no earlier than that
// renewal reached the server. As long as no clock runs faster than another by more than the ratio
// LeaseDuration/RenewDeadline (1.5 with the defaults 15s/10s), the old leader stops before a
// candidate takes over.
//
// # What is guaranteed, and what is not
//
// Writes are guarded by the Lease's resourceVersion, so two candidates can never both believe they
// won the same term: one of them gets a conflict and tries again later. A leader's context is
// cancelled the moment RenewDeadline passes without a successful renewal, even while a call to the
// API server is still hanging, and each call has its own timeout.
//
// There is no fencing. Nothing stops a deposed leader's in-flight writes to other objects: the
// margin between RenewDeadline and LeaseDuration is the only protection, and a process that is
// paused (stopped, swapped out, starved of CPU) for longer than that margin can still act briefly
// after another has taken over. Work done under the lead context must tolerate that, or be fenced
// by other means. On a clean shutdown the lease is released only after the work has returned, so
// a standby takes over at once without overlap.
//
// Candidates learn of a release or takeover through a watch on the single Lease, and poll every
// RetryPeriod in case the watch is down; a timer fires exactly when the observed lease would expire.
package election
