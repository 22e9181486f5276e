package snapshot

import "errors"

// Verdict is a filter's answer for one pod on one node. The zero value means the pod fits.
// A pod that does not fit is data, not an error: Reasons say why, in the words kube-scheduler uses
// in its FailedScheduling message (for example "Insufficient cpu").
type Verdict struct {
	// Reasons lists why the pod does not fit; empty means it fits. Callers must not modify it:
	// plugins may return shared, preallocated slices.
	Reasons []string
	// Unresolvable is true when removing pods from the node (preemption) cannot make the pod fit,
	// as for a node selector mismatch or an untolerated taint.
	Unresolvable bool
	// Failed is set when the plugin failed (kube-scheduler's Error status, for example a class
	// without a binding mode) rather than judged: the decision then ends with an error whose
	// text is Reasons[0], and the pod is retried with backoff. (A flag rather than an error
	// value: a Verdict is returned for every node, and a larger one cost the filter pass time.)
	Failed bool
}

// Fits reports whether the verdict lets the pod onto the node.
func (v Verdict) Fits() bool { return len(v.Reasons) == 0 }

// Reject returns a verdict that preemption could resolve.
func Reject(reasons ...string) Verdict { return Verdict{Reasons: reasons} }

// RejectUnresolvable returns a verdict that preemption cannot resolve.
func RejectUnresolvable(reasons ...string) Verdict {
	return Verdict{Reasons: reasons, Unresolvable: true}
}

// Fail returns the verdict of a plugin that could not judge the pod because something broke.
func Fail(err error) Verdict {
	return Verdict{Reasons: []string{err.Error()}, Unresolvable: true, Failed: true}
}

// Err returns the failure of a Failed verdict as an error, nil otherwise.
func (v Verdict) Err() error {
	if !v.Failed {
		return nil
	}
	return errors.New(v.Reasons[0])
}
