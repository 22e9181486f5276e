package tainttoleration

import v1 "k8s.io/api/core/v1"

// ToleratesTaint reports whether one toleration tolerates taint, by kube-scheduler v1.37's rule:
//
//   - a toleration with an effect matches only taints of that effect; an empty effect matches all;
//   - a toleration with a key matches only taints with that key; an empty key (which the API allows
//     only with operator Exists) matches every key;
//   - operator Exists matches any value; Equal (or empty) needs the values to be equal;
//   - operators Lt and Gt (KEP-5471 numeric comparison) never match: v1.37 ships them behind the
//     alpha TaintTolerationComparisonOperators gate, off by default, and a disabled gate makes
//     such a toleration match nothing. Unknown operators match nothing.
//
// Neither argument may be nil.
func ToleratesTaint(t *v1.Toleration, taint *v1.Taint) bool {
	if t.Effect != "" && t.Effect != taint.Effect {
		return false
	}
	if t.Key != "" && t.Key != taint.Key {
		return false
	}
	switch t.Operator {
	case "", v1.TolerationOpEqual:
		return t.Value == taint.Value
	case v1.TolerationOpExists:
		return true
	default: // Lt, Gt (gate off) and anything unknown
		return false
	}
}

// Tolerates reports whether any of tolerations tolerates taint (see ToleratesTaint). A nil or
// empty tolerations list tolerates nothing. taint must not be nil. Safe for concurrent use.
func Tolerates(tolerations []v1.Toleration, taint *v1.Taint) bool {
	for i := range tolerations {
		if ToleratesTaint(&tolerations[i], taint) {
			return true
		}
	}
	return false
}

// FindUntoleratedTaint returns the first of taints with effect NoSchedule or NoExecute that
// tolerations do not tolerate, and whether there is one. PreferNoSchedule taints are ignored: they
// only lower a node's score. This is the check TaintToleration's filter and PodTopologySpread's
// nodeTaintsPolicy Honor make.
func FindUntoleratedTaint(taints []v1.Taint, tolerations []v1.Toleration) (v1.Taint, bool) {
	for i := range taints {
		t := &taints[i]
		if !isDoNotSchedule(t.Effect) {
			continue
		}
		if !Tolerates(tolerations, t) {
			return *t, true
		}
	}
	return v1.Taint{}, false
}

// isDoNotSchedule reports whether a taint of this effect keeps pods that do not tolerate it off.
func isDoNotSchedule(e v1.TaintEffect) bool {
	return e == v1.TaintEffectNoSchedule || e == v1.TaintEffectNoExecute
}
