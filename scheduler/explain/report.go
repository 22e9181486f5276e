// Package explain answers "why is this pod pending?" and "why did it go there?" from a dry run of
// the pod's own decision (decide.Decider.Explain) on a snapshot of the live cluster: each node's
// first rejecting filter and how far it is from fitting, each feasible node's scores, and a
// summary with the cheapest changes that would make the pod fit, each checked by the decision's
// own filters before it is offered.
//
// Build a Report with Build and render it as JSON (its fields carry the tags) or with Text. The
// package knows nothing of HTTP; package debugz serves it.
package explain

import (
	"errors"
	"time"
)

// Errors a caller of an explain source branches on (an HTTP layer answers 404 to both).
var (
	// ErrPodNotFound: the scheduler does not know the pod.
	ErrPodNotFound = errors.New("pod not found")
	// ErrNotOurs: the pod's spec.schedulerName names no profile of this scheduler.
	ErrNotOurs = errors.New("pod is not scheduled by this scheduler")
)

// Report is the answer for one pod.
type Report struct {
	Pod     PodRef `json:"pod"`
	Profile string `json:"profile"`
	// Queue is the pod's place in the scheduling queue; nil for a pod the queue does not hold
	// (bound, or not yet seen).
	Queue *QueueState `json:"queue,omitempty"`
	// BoundTo is the node a bound pod runs on. Its decision is then Recomputed: made again on
	// today's cluster without the pod, which is not necessarily the cluster it was placed on.
	BoundTo    string `json:"boundTo,omitempty"`
	Recomputed bool   `json:"recomputed,omitempty"`
	// Gates are the pod's scheduling gates: the scheduler does not try a gated pod at all; the
	// decision shown is what it would do once the gates are removed.
	Gates []string `json:"schedulingGates,omitempty"`

	Decision Decision `json:"decision"`
	Summary  Summary  `json:"summary"`
	// Feasible are the best-ranked feasible nodes (all with ?nodes=), Rejected the first nodes
	// of each rejection group (all with ?nodes=).
	Feasible []Node `json:"feasible"`
	Rejected []Node `json:"rejected"`
	// Omitted counts the nodes left out of Feasible and Rejected.
	Omitted int `json:"omitted,omitempty"`
}

// PodRef names the pod.
type PodRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid"`
}

// QueueState is the pod's place and history in the scheduling queue.
type QueueState struct {
	State       string     `json:"state"`
	Attempts    int        `json:"attempts"`
	LastAttempt *time.Time `json:"lastAttempt,omitempty"`
	Enqueued    time.Time  `json:"enqueued"`
	LastMessage string     `json:"lastMessage,omitempty"`
}

// Decision is what the dry run decided.
type Decision struct {
	// Node is the node the scheduler would choose now; empty when the pod fits nowhere.
	Node string `json:"node,omitempty"`
	// Nominated is set when Node is the pod's nominated node (after a preemption), taken without
	// ranking.
	Nominated bool `json:"nominated,omitempty"`
	// Message is kube-scheduler's FailedScheduling message when the pod fits nowhere, or the
	// error of a plugin that failed.
	Message string `json:"message,omitempty"`
	Error   bool   `json:"error,omitempty"`
	// Nodes, Feasible: the nodes in the snapshot and those the pod passes every filter on.
	Nodes    int `json:"nodes"`
	Feasible int `json:"feasible"`
	// Sample is how many feasible nodes the decision ranks (percentageOfNodesToScore): it
	// stops filtering once it found that many, so a feasible node outside the sample is never
	// scored. Explain filters every node all the same.
	Sample int `json:"sample"`
	// Scorers are the score plugins that ranked this pod, with their weights.
	Scorers []Scorer `json:"scorers,omitempty"`
}

// Scorer is one score plugin and its weight.
type Scorer struct {
	Name   string `json:"name"`
	Weight int64  `json:"weight"`
}

// Node is one node's part in the decision.
type Node struct {
	Name     string `json:"name"`
	Feasible bool   `json:"feasible"`
	Chosen   bool   `json:"chosen,omitempty"`
	// RejectedBy is the first filter that rejected the node, Reasons its reasons in upstream's
	// words; Missing says how far the node is from passing: for resources how much ("cpu:
	// requests 2, free 500m"), for topology spread the skew placing the pod there would make
	// ("topology.kubernetes.io/zone=a would hold 4 matching pods, 2 more than zone=b; maxSkew 1").
	RejectedBy string   `json:"rejectedBy,omitempty"`
	Reasons    []string `json:"reasons,omitempty"`
	Missing    []string `json:"missing,omitempty"`
	// Scores are each scorer's raw and normalised score with its weight, and Total the sum of
	// normalised*weight; only for the feasible nodes the decision ranked (Ranked).
	Ranked bool    `json:"ranked,omitempty"`
	Scores []Score `json:"scores,omitempty"`
	Total  int64   `json:"total,omitempty"`
}

// Score is one scorer's score of a node.
type Score struct {
	Plugin     string `json:"plugin"`
	Raw        int64  `json:"raw"`
	Normalized int64  `json:"normalized"`
	Weight     int64  `json:"weight"`
}

// Summary groups the rejections and suggests what would make the pod fit.
type Summary struct {
	Groups []Group `json:"groups,omitempty"`
	// Hints are the cheapest changes found that would make the pod fit somewhere, each checked
	// against the decision's own filters.
	Hints []string `json:"hints,omitempty"`
}

// Group is the nodes rejected by one plugin for one reason.
type Group struct {
	Plugin string `json:"plugin"`
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// Pending is one pending pod as /debug/pending lists it.
type Pending struct {
	Namespace   string     `json:"namespace"`
	Name        string     `json:"name"`
	Profile     string     `json:"profile"`
	State       string     `json:"state"`
	Attempts    int        `json:"attempts"`
	Age         string     `json:"age"`
	Created     time.Time  `json:"created"`
	LastAttempt *time.Time `json:"lastAttempt,omitempty"`
	LastMessage string     `json:"lastMessage,omitempty"`
}
