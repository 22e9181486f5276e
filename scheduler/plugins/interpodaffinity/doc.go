// Package interpodaffinity is the InterPodAffinity plugin: it places a pod relative to the pods
// already running, by the pod's (anti-)affinity terms and by theirs, with kube-scheduler v1.37's
// semantics (InterPodAffinityHostnameFastPath and InPlacePodVerticalScalingSchedulerPreemption off,
// their defaults).
//
// A term selects pods (label selector, within the term's namespaces) over a topology: the domain of
// a node is the value of its label named by the term's topology key, and nodes sharing that value
// share the domain. Filtering enforces three rules, each computed once per pod by PreFilter as
// counts of pods per (topology key, value) pair, so that Filter is a few map lookups per node:
//
//   - the pod's required affinity: the node's domains must hold one existing pod that matches every
//     term at once. A node lacking any of the terms' topology keys never fits. As an exception, the
//     first pod of a group (no pod anywhere matches, and the pod matches its own terms) may go to
//     any node that has all the keys. A failure is unresolvable: removing pods cannot add a match.
//   - the pod's required anti-affinity: no domain of the node may hold a pod matching any term.
//     Terms whose key the node lacks are ignored.
//   - symmetry: no existing pod's required anti-affinity term may match the incoming pod in a
//     domain the node belongs to.
//
// The incoming pod's namespace selectors are resolved against the snapshot's known namespaces (an
// empty selector means every namespace, known or not); existing pods' selectors are evaluated on the
// incoming pod's namespace labels. Terminating pods count like any other. matchLabelKeys and
// mismatchLabelKeys need nothing here: since v1.33 the API server merges them into the label
// selector when the pod is created.
//
// Scoring adds, per topology domain, the weights of the pod's preferred affinity terms matched by
// existing pods (anti-affinity subtracts), of existing pods' preferred terms matched by the pod, and
// hardPodAffinityWeight for each of existing pods' required affinity terms matched by the pod; a
// node's raw score is the sum over its domains, rescaled min-max to 0..100 over the feasible nodes.
package interpodaffinity
