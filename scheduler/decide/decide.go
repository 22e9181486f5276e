package decide

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// Sampling bounds of kube-scheduler's adaptive percentageOfNodesToScore.
const (
	minFeasibleNodesToFind           = 100
	minFeasibleNodesPercentageToFind = 5
	// serialBelow is the node count under which filters and scores run on one goroutine: starting
	// workers costs more than it saves.
	serialBelow = 256
)

// WeightedScorer is a score plugin with its weight in the total.
type WeightedScorer struct {
	Plugin ScorePlugin
	Weight int64
}

// Profile is one scheduler profile's pipeline, in the order plugins run.
type Profile struct {
	Filters []FilterPlugin
	Scorers []WeightedScorer
	// PercentageOfNodesToScore bounds how many feasible nodes are looked for: 0 is adaptive
	// (kube-scheduler's default), 100 means all nodes.
	PercentageOfNodesToScore int32
	// Parallelism caps the goroutines used to filter and score; 0 means 16 (upstream's default).
	// Half the CPUs is a second cap (see passWorkers).
	Parallelism int
	// Seed seeds tie-breaking between equally scored nodes, for reproducible decisions.
	Seed uint64
}

// Decider runs one profile. It keeps only the rotation point of the node search and the
// tie-breaking random source between calls. Decide calls are serialised by the Decider; Explain
// may run at the same time as Decide (it works on a copy of that state).
type Decider struct {
	filters    []FilterPlugin
	scorers    []WeightedScorer
	percentage int32
	workers    int // goroutines per filter or score pass; 1 runs every pass on the caller's

	mu sync.Mutex // held by Decide for the whole decision; by Explain to copy st
	st state

	rec Recorder // nil: decisions are not observed (see SetRecorder); never told of dry runs

	memo nodeMemo
}

// state is what one decision reads and changes besides the pod and snapshot: where the node
// search starts, the tie-breaking source, and scratch space. Decide uses the Decider's own,
// Explain a copy, so that a dry run changes nothing the next real decision sees.
type state struct {
	nextStart int
	src       *rand.PCG
	rng       *rand.Rand

	// Scratch space reused across calls. Of the per-node slices only the first dirty entries
	// can hold values from the last call.
	verdicts    []snapshot.Verdict
	rejectedBy  []int16
	passed      []bool
	dirty       int
	feasible    []*snapshot.NodeInfo
	resolvable  []*snapshot.NodeInfo // Diagnosis.Resolvable of the last call
	active      []NodeScorer
	activeNames []string
	weights     []int64
	totals      []int64
	raw         []int64 // per active scorer, one score per feasible node
	evals       []int   // per filter, scratch of countFilterEvaluations
}

// dryRunFrom readies dry, a state of its own for dry runs (nil: a new one), to start where st
// does and draw the same tie-breaking numbers; dry keeps its scratch space. The caller holds the
// lock that guards st.
func (st *state) dryRunFrom(dry *state) *state {
	if dry == nil {
		src := *st.src
		return &state{nextStart: st.nextStart, src: &src, rng: rand.New(&src)}
	}
	*dry.src, dry.nextStart = *st.src, st.nextStart
	return dry
}

// New validates p and returns its Decider.
func New(p Profile) (*Decider, error) {
	if p.PercentageOfNodesToScore < 0 || p.PercentageOfNodesToScore > 100 {
		return nil, fmt.Errorf("percentageOfNodesToScore: Invalid value: %d: not in valid range [0-100]", p.PercentageOfNodesToScore)
	}
	if p.Parallelism < 0 {
		return nil, fmt.Errorf("parallelism: Invalid value: %d: should be an integer greater than 0", p.Parallelism)
	}
	for i, s := range p.Scorers {
		if s.Weight <= 0 {
			return nil, fmt.Errorf("scorers[%d] (%s): weight %d must be positive", i, s.Plugin.Name(), s.Weight)
		}
	}
	par := p.Parallelism
	if par == 0 {
		par = 16
	}
	src := rand.NewPCG(p.Seed, p.Seed^0x9e3779b97f4a7c15)
	return &Decider{
		filters: p.Filters, scorers: p.Scorers, percentage: p.PercentageOfNodesToScore,
		workers: passWorkers(par, runtime.GOMAXPROCS(0)),
		st:      state{src: src, rng: rand.New(src)},
	}, nil
}

// passWorkers is how many goroutines one filter or score pass uses: at most parallelism, and at
// most half the CPUs the process may use. A scheduler shares its machine with the API server (a
// control-plane node) and its own binding and watch traffic; on 2 CPUs the passes run on the
// loop's goroutine alone. Measured there (BenchmarkDecide with -cpu 1 and -cpu 2), splitting a
// pass over both CPUs took longer even in wall time and about twice the CPU: the per-node work is
// memory-bound and waking a second worker costs more than it saves.
func passWorkers(parallelism, cpus int) int {
	return max(1, min(parallelism, cpus/2))
}

// Workers is how many goroutines a plugin's own scan of the nodes (in PreFilter or PreScore) may
// use: half the CPUs, at least one, by the same reasoning as passWorkers.
func Workers() int {
	return passWorkers(runtime.GOMAXPROCS(0), runtime.GOMAXPROCS(0))
}

// Result is the outcome of one decision.
type Result struct {
	// Node is the chosen node; empty when the pod fits nowhere (see Diagnosis).
	Node string
	// Evaluated and Feasible count the nodes filtered and the nodes that passed.
	Evaluated, Feasible int
	// Diagnosis explains why no node fits; nil when Node is set.
	Diagnosis *Diagnosis
	// Prepared is the pod's filters as this decision prepared them, for preemption's what-if
	// checks; set when no node fits and the snapshot has nodes.
	Prepared *Prepared
	// Err is set when a plugin failed (see snapshot.Fail) rather than judged: there is no
	// decision, and the pod is to be retried with backoff.
	Err error
	// Plans are what the chosen node's filters have to reserve for the pod there (see Reserver),
	// in filter order; empty when none has anything.
	Plans []Plan
	// PostFilter are the filters' proposals for a pod that fits no node after its nodes were
	// filtered (see PostFilterer), in filter order; empty when none has one.
	PostFilter []Plan
}

// Decide picks a node for pod in snap. It starts and joins its own goroutines and calls nothing
// outside the plugins.
//
// As kube-scheduler does, a pod nominated to a node (after a preemption) is tried there first
// and placed there when it fits; and every node's filters count the pods nominated to it with a
// priority at least the pod's (see Prepared.Check).
func (d *Decider) Decide(pod *snapshot.PodInfo, snap *snapshot.Snapshot) Result {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.decide(&d.st, d.rec, pod, snap, nil)
}

// decide is the decision, shared by Decide and Explain: st is the state it reads and advances,
// rec (nil: none) observes it for the metrics, and tr, when not nil, records every node's
// verdict and scores (see Explain); with a trace the search filters every node, while still
// choosing among the nodes a Decide would have found.
func (d *Decider) decide(st *state, rec Recorder, pod *snapshot.PodInfo, snap *snapshot.Snapshot, tr *Trace) Result {
	n := len(snap.Nodes)
	diag := &Diagnosis{NumNodes: n}
	if n == 0 {
		return Result{Diagnosis: diag}
	}
	var timer Recorder // set when this decision times every plugin call
	if rec != nil && rec.TimePlugins() {
		timer = rec
	}
	p := d.prepare(pod, snap, rec, timer)
	defer func() { p.timer = nil }() // p outlives the decision (preemption's checks): untimed
	if err := p.reject.Err(); err != nil {
		return Result{Err: fmt.Errorf("running PreFilter plugin %q: %w", p.rejectedBy[0], err)}
	}
	if !p.reject.Fits() {
		diag.PreFilterMsg = strings.Join(p.reject.Reasons, ", ")
		diag.Plugins = append(diag.Plugins, p.rejectedBy...)
		if p.rejectedEarly {
			diag.PreFilterRejectedBy = p.rejectedBy[0]
		}
		diag.Unresolvable = p.reject.Unresolvable
		tr.rejectAll(snap.Nodes, p.reject, p.rejectedBy[0])
		return Result{Diagnosis: diag, Prepared: p}
	}
	var filterStart int64
	if rec != nil {
		filterStart = rec.Now()
	}
	if name := nominatedNode(pod, snap); name != "" {
		if node := snap.Get(name); node != nil && p.allows(name) {
			v, i := p.filter(node, nil, p.timer)
			if rec != nil {
				countNominatedEvaluations(rec, p, i)
			}
			if v.Fits() {
				pointDone(rec, PointFilter, StatusSuccess, filterStart)
				tr.nominated(p, snap, name)
				return p.reserve(Result{Node: name, Evaluated: 1, Feasible: 1}, node)
			} else if v.Failed {
				pointDone(rec, PointFilter, StatusError, filterStart)
				return Result{Err: fmt.Errorf("running %q filter plugin: %w", p.names[i], v.Err())}
			}
		}
	}
	nodes := snap.Nodes
	if p.allowed != nil {
		nodes = make([]*snapshot.NodeInfo, 0, len(p.allowed))
		for name := range p.allowed {
			if ni := snap.Get(name); ni != nil {
				nodes = append(nodes, ni)
			}
		}
		sort.Slice(nodes, func(i, j int) bool { return nodes[i].Node.Name < nodes[j].Node.Name })
		if absent := n - len(nodes); absent > 0 {
			diag.addVerdictN(p.notAllowed(), p.restrictedBy[0], absent)
			tr.rejectOthers(snap.Nodes, p, p.notAllowed(), p.restrictedBy[0])
		}
		if len(nodes) == 0 {
			pointDone(rec, PointFilter, StatusSuccess, filterStart)
			return Result{Diagnosis: diag, Prepared: p}
		}
	}
	feasible, evaluated, err := d.findFeasible(st, nodes, p, diag, tr)
	if rec != nil {
		st.countFilterEvaluations(rec, p, evaluated)
		status := StatusSuccess
		if err != nil {
			status = StatusError
		}
		pointDone(rec, PointFilter, status, filterStart)
	}
	if err != nil {
		return Result{Evaluated: evaluated, Err: err}
	}
	if len(feasible) == 0 {
		return Result{Evaluated: evaluated, Diagnosis: diag, Prepared: p, PostFilter: diag.postFilter}
	}
	res := Result{Evaluated: evaluated, Feasible: len(feasible)}
	chosen := feasible[0]
	if len(feasible) > 1 || tr != nil {
		totals := d.score(st, rec, timer, pod, snap, feasible, tr)
		if len(feasible) > 1 {
			chosen = st.pick(feasible, totals)
		}
	}
	res.Node = chosen.Node.Name
	return p.reserve(res, chosen)
}

// reserve adds to res the plans of the filters that have something to reserve on node, the node
// res chose.
func (p *Prepared) reserve(res Result, node *snapshot.NodeInfo) Result {
	for _, c := range p.checks {
		if r, ok := c.(Reserver); ok {
			if plan := r.Reserve(node); plan != nil {
				res.Plans = append(res.Plans, plan)
			}
		}
	}
	return res
}

// nominatedNode is the node pod is nominated to: the snapshot's nomination when it has one for
// the pod, else the pod's status.nominatedNodeName.
func nominatedNode(pod *snapshot.PodInfo, snap *snapshot.Snapshot) string {
	if name, ok := snap.NominatedNode(pod.Pod.UID); ok {
		return name
	}
	return pod.Pod.Status.NominatedNodeName
}

// Prepared is one pod's filters prepared on a snapshot: every PreFilter has run once. It judges
// single nodes, also changed copies of them (Check), and is read-only, so safe for concurrent
// use. It is valid while its snapshot is.
type Prepared struct {
	pod  *snapshot.PodInfo
	snap *snapshot.Snapshot
	// reject is a rejection of the pod on every node, by rejectedBy: one PreFilter's, which
	// stopped the later ones (rejectedEarly), or the restricting plugins' conflict.
	reject        snapshot.Verdict
	rejectedBy    []string
	rejectedEarly bool
	checks        []NodeFilter
	names         []string
	// allowed are the only node names that can pass (nil: any), by the restrictedBy plugins.
	allowed      map[string]bool
	restrictedBy []string
	priority     int32
	// nodeOnly is how many of the first checks are NodeObjectFilters; memoized says which of
	// them are remembered (NodeOnlyFilters), and memoKey holds their plugins' names and keys
	// (see nodeMemo). No memo without a remembered one.
	nodeOnly int
	memoized []bool
	memoKey  []byte
	// timer times each filter call while the decision that prepared p runs (see Recorder).
	timer Recorder
}

// Prepare runs the profile's PreFilters for pod on snap, reporting them to the recorder.
func (d *Decider) Prepare(pod *snapshot.PodInfo, snap *snapshot.Snapshot) *Prepared {
	return d.prepare(pod, snap, d.rec, nil)
}

// DryPrepare is Prepare for dry runs (explain's what-if checks): it reports nothing to the
// recorder, so the metrics count real scheduling work only.
func (d *Decider) DryPrepare(pod *snapshot.PodInfo, snap *snapshot.Snapshot) *Prepared {
	return d.prepare(pod, snap, nil, nil)
}

// prepare is Prepare, reporting to rec (nil: to nothing); timer, when set, times each plugin
// call of the decision (the PreFilters here, the filters in the Prepared it returns).
func (d *Decider) prepare(pod *snapshot.PodInfo, snap *snapshot.Snapshot, rec, timer Recorder) *Prepared {
	var start int64
	if rec != nil {
		start = rec.Now()
	}
	p := d.runPreFilters(pod, snap, rec, timer)
	if rec != nil {
		rec.Point(PointPreFilter, statusOf(p.reject), start)
	}
	p.timer = timer
	return p
}

// runPreFilters runs the PreFilters in order until one rejects the pod.
func (d *Decider) runPreFilters(pod *snapshot.PodInfo, snap *snapshot.Snapshot, rec, timer Recorder) *Prepared {
	p := &Prepared{
		pod: pod, snap: snap, priority: podPriority(pod),
		checks: make([]NodeFilter, 0, len(d.filters)), names: make([]string, 0, len(d.filters)),
	}
	noKey := false
	for _, f := range d.filters {
		var start int64
		if timer != nil {
			start = timer.Now()
		}
		nf, v := f.PreFilter(pod, snap)
		if rec != nil {
			rec.Evaluated(f.Name(), PointPreFilter, 1)
		}
		if timer != nil {
			timer.Plugin(f.Name(), PointPreFilter, statusOf(v), start)
		}
		if !v.Fits() {
			p.reject, p.rejectedBy, p.rejectedEarly = v, []string{f.Name()}, true
			return p
		}
		if nf == nil {
			continue
		}
		if _, ok := nf.(NodeObjectFilter); ok && p.nodeOnly == len(p.checks) {
			p.nodeOnly++
			remembered := false
			if no, ok := nf.(NodeOnlyFilter); ok && !noKey {
				if key, ok := no.AppendKey(nil); ok {
					p.memoKey = appendKeyPart(appendKeyPart(p.memoKey, f.Name()), key)
					remembered = true
				} else {
					noKey = true // nothing is remembered for this pod
				}
			}
			p.memoized = append(p.memoized, remembered)
		}
		p.checks = append(p.checks, nf)
		p.names = append(p.names, f.Name())
		if r, ok := nf.(NodeRestricter); ok {
			if only := r.NodeNames(); only != nil {
				p.allowed = intersect(p.allowed, only)
				p.restrictedBy = append(p.restrictedBy, f.Name())
			}
		}
	}
	if noKey {
		p.memoKey = nil
	}
	if p.restrictedBy != nil {
		sort.Strings(p.restrictedBy)
		if len(p.allowed) == 0 {
			p.reject = snapshot.RejectUnresolvable("node(s) didn't satisfy plugin(s) " + p.restrictedList() + " simultaneously")
			p.rejectedBy = p.restrictedBy
		}
	}
	return p
}

func (p *Prepared) restrictedList() string { return "[" + strings.Join(p.restrictedBy, " ") + "]" }

// notAllowed is the verdict on a node the NodeRestricters exclude.
func (p *Prepared) notAllowed() snapshot.Verdict {
	return snapshot.RejectUnresolvable("node(s) didn't satisfy plugin(s) " + p.restrictedList())
}

func (p *Prepared) allows(name string) bool { return p.allowed == nil || p.allowed[name] }

// Check judges the pod on node: a node of the snapshot, or a changed copy of one from which the
// pods in removed (pods of the snapshot's node) are gone, as preemption asks. Filters that read
// the node alone see node; filters counting pods across nodes (PodChanger) count removed as gone.
// Pods nominated to the node with a priority at least the pod's count as running there: the pod
// must fit both with and without them, as in kube-scheduler. It returns the first rejection,
// empty when the pod fits.
func (p *Prepared) Check(node *snapshot.NodeInfo, removed []*snapshot.PodInfo) snapshot.Verdict {
	if !p.reject.Fits() {
		return p.reject
	}
	if !p.allows(node.Name()) {
		return p.notAllowed()
	}
	v, _ := p.filter(node, removed, p.timer)
	return v
}

// filter runs the filters on node (see Check) and returns the first rejection with the index of
// its filter. timer, when set, times each filter call.
func (p *Prepared) filter(node *snapshot.NodeInfo, removed []*snapshot.PodInfo, timer Recorder) (snapshot.Verdict, int) {
	return p.filterFrom(0, node, removed, timer)
}

// filterFrom is filter running the filters from index from on: the earlier ones passed node.
func (p *Prepared) filterFrom(from int, node *snapshot.NodeInfo, removed []*snapshot.PodInfo, timer Recorder) (snapshot.Verdict, int) {
	if len(p.snap.Nominated) == 0 {
		return p.run(from, node, removed, nil, timer)
	}
	if nominated := p.nominatedOn(node.Name()); len(nominated) > 0 {
		with := node.Clone()
		for _, np := range nominated {
			with.AddPod(np)
		}
		if v, i := p.run(from, with, removed, nominated, timer); !v.Fits() {
			return v, i
		}
	}
	return p.run(from, node, removed, nil, timer)
}

// filterAt is filter for the node at position pos of the snapshot's nodes, remembering in m
// (nil: nowhere) what the node-only filters said of its node object. A timed call filters afresh.
func (p *Prepared) filterAt(m *memoEntry, pos int, node *snapshot.NodeInfo, timer Recorder) (snapshot.Verdict, int) {
	version := node.NodeVersion()
	if m == nil || timer != nil || version == 0 {
		return p.filter(node, nil, timer)
	}
	live, liveAt := p.firstNodeObjectRejection(node, false) // of the filters run every time
	if m.versions[pos] != version {
		v, i := p.firstNodeObjectRejection(node, true)
		if v.Failed { // an error is reported, not remembered
			m.versions[pos] = 0
			if liveAt >= 0 && liveAt < i {
				return live, liveAt
			}
			return v, i
		}
		m.versions[pos], m.checks[pos], m.verdicts[pos] = version, int16(i), v
	}
	if i := int(m.checks[pos]); i >= 0 && (liveAt < 0 || i < liveAt) {
		return m.verdicts[pos], i
	}
	if liveAt >= 0 {
		return live, liveAt
	}
	return p.filterFrom(p.nodeOnly, node, nil, nil)
}

// firstNodeObjectRejection runs the leading NodeObjectFilters that are remembered (or those
// that are not) on node, and returns the first rejection with its filter's index (-1: none).
func (p *Prepared) firstNodeObjectRejection(node *snapshot.NodeInfo, remembered bool) (snapshot.Verdict, int) {
	for i, c := range p.checks[:p.nodeOnly] {
		if p.memoized[i] != remembered {
			continue
		}
		if v := c.Filter(node); !v.Fits() {
			return v, i
		}
	}
	return snapshot.Verdict{}, -1
}

// run runs the filters from index from on on node, telling the PodChangers which pods count as
// removed and added; timer, when set, times each call.
func (p *Prepared) run(from int, node *snapshot.NodeInfo, removed, added []*snapshot.PodInfo, timer Recorder) (snapshot.Verdict, int) {
	changed := len(removed)+len(added) > 0
	for i := from; i < len(p.checks); i++ {
		c := p.checks[i]
		if changed {
			c = withPods(c, node, removed, added)
		}
		var start int64
		if timer != nil {
			start = timer.Now()
		}
		v := c.Filter(node)
		if timer != nil {
			timer.Plugin(p.names[i], PointFilter, statusOf(v), start)
		}
		if !v.Fits() {
			return v, i
		}
	}
	return snapshot.Verdict{}, -1
}

// withPods returns c as it would be prepared with removed gone from node and added running there:
// a changed clone when c counts pods across nodes (PodChanger), else c itself.
func withPods(c NodeFilter, node *snapshot.NodeInfo, removed, added []*snapshot.PodInfo) NodeFilter {
	pc, ok := c.(PodChanger)
	if !ok {
		return c
	}
	clone := pc.Clone().(PodChanger)
	for _, r := range removed {
		clone.RemovePod(r, node)
	}
	for _, a := range added {
		clone.AddPod(a, node)
	}
	return clone
}

// nominatedOn returns the other pods nominated to the named node whose priority is at least the
// pod's; nil (without allocating) when there are none.
func (p *Prepared) nominatedOn(name string) []*snapshot.PodInfo {
	var out []*snapshot.PodInfo
	for _, np := range p.snap.Nominated[name] {
		if np.Pod.UID != p.pod.Pod.UID && podPriority(np) >= p.priority {
			out = append(out, np)
		}
	}
	return out
}

func podPriority(p *snapshot.PodInfo) int32 {
	if p.Pod.Spec.Priority == nil {
		return 0
	}
	return *p.Pod.Spec.Priority
}

// NumFeasibleNodesToFind is how many feasible nodes a search over n nodes looks for.
func NumFeasibleNodesToFind(percentage int32, n int) int {
	if n < minFeasibleNodesToFind {
		return n
	}
	if percentage == 0 {
		percentage = int32(50 - n/125)
		if percentage < minFeasibleNodesPercentageToFind {
			percentage = minFeasibleNodesPercentageToFind
		}
	}
	k := n * int(percentage) / 100
	if k < minFeasibleNodesToFind {
		return minFeasibleNodesToFind
	}
	return k
}

// findFeasible filters nodes starting at the rotation point until enough feasible ones are found
// (or all were checked). Rejections are recorded in diag.
//
// With a trace every node is filtered (the search does not stop), the verdicts are recorded,
// and the feasible nodes are still the first ones a search that stops would have found.
func (d *Decider) findFeasible(st *state, all []*snapshot.NodeInfo, p *Prepared, diag *Diagnosis, tr *Trace) ([]*snapshot.NodeInfo, int, error) {
	n := len(all)
	want := NumFeasibleNodesToFind(d.percentage, n)
	stopAt := want // the search stops once stopAt nodes passed
	if tr != nil {
		stopAt = n
	}
	start := st.nextStart % n
	verdicts, rejectedBy, passed := st.scratch(n) // by offset from start
	var memo *memoEntry
	if len(p.memoKey) > 0 && p.allowed == nil { // all is the snapshot's nodes: positions are stable
		memo = d.memo.take(p.memoKey, n)
		defer d.memo.put(memo)
	}
	check := func(off int) bool {
		var timer Recorder
		if off%TimedNodeEvery == 0 {
			timer = p.timer
		}
		pos := (start + off) % n
		if v, i := p.filterAt(memo, pos, all[pos], timer); !v.Fits() {
			verdicts[off], rejectedBy[off] = v, int16(i)
			return false
		}
		passed[off] = true
		return true
	}
	var processed int
	if n < serialBelow || d.workers == 1 {
		found := 0
		for off := 0; off < n && found < stopAt; off++ {
			if check(off) {
				found++
			}
			processed = off + 1
		}
	} else {
		processed = d.parallelCheck(n, stopAt, check)
	}
	st.dirty = processed
	feasible := st.feasible[:0]
	searched := processed // how many nodes a search stopping at want nodes would have filtered
	for off := 0; off < processed; off++ {
		if passed[off] {
			if len(feasible) < want {
				feasible = append(feasible, all[(start+off)%n])
				if len(feasible) == want && tr != nil {
					searched = off + 1
				}
			}
			continue
		}
		if verdicts[off].Failed { // a plugin broke: no decision (the diagnosis is dropped)
			return nil, processed, fmt.Errorf("running %q filter plugin: %w", p.names[rejectedBy[off]], verdicts[off].Err())
		}
		if off < searched {
			diag.addVerdict(verdicts[off], p.names[rejectedBy[off]])
		}
	}
	if tr != nil {
		tr.filtered(all, start, verdicts[:processed], rejectedBy, passed, p)
		if len(feasible) < want { // the search found fewer: it checked every node
			searched = processed
		}
		tr.Wanted, tr.Searched = want, searched
		processed = searched
	}
	st.nextStart = (start + processed) % n
	if len(feasible) == 0 { // only a pod that fits nowhere needs to know where preemption might help
		clear(st.resolvable) // drop the last failure's nodes
		st.resolvable = st.resolvable[:0]
		for off := 0; off < processed; off++ {
			if !verdicts[off].Unresolvable {
				st.resolvable = append(st.resolvable, all[(start+off)%n])
			}
		}
		diag.Resolvable = st.resolvable
		diag.postFilter = p.postFilter(all, start, verdicts[:processed], rejectedBy, passed)
	}
	st.feasible = feasible
	return feasible, processed, nil
}

// postFilter asks each filter that is a PostFilterer for its proposal, given the nodes it
// rejected among those a search from offset start filtered (verdicts, rejectedBy and passed are by
// offset).
func (p *Prepared) postFilter(all []*snapshot.NodeInfo, start int, verdicts []snapshot.Verdict, rejectedBy []int16, passed []bool) []Plan {
	var plans []Plan
	for i, c := range p.checks {
		pf, ok := c.(PostFilterer)
		if !ok {
			continue
		}
		var rejected []Rejection
		for off, v := range verdicts {
			if !passed[off] && int(rejectedBy[off]) == i {
				rejected = append(rejected, Rejection{Node: all[(start+off)%len(all)], Verdict: v})
			}
		}
		if plan := pf.PostFilter(rejected); plan != nil {
			plans = append(plans, plan)
		}
	}
	return plans
}

// parallelCheck runs check over offsets 0..n-1 on up to d.workers goroutines, in chunks, and
// stops handing out chunks once want nodes passed. It returns how many leading offsets were
// checked (all offsets below it were checked).
func (d *Decider) parallelCheck(n, want int, check func(off int) bool) int {
	workers := min(d.workers, n)
	chunk := max(1, min(64, n/(workers*4)))
	var next, found atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for found.Load() < int64(want) {
				lo := int(next.Add(int64(chunk))) - chunk
				if lo >= n {
					return
				}
				passed := 0
				for off := lo; off < min(lo+chunk, n); off++ {
					if check(off) {
						passed++
					}
				}
				found.Add(int64(passed))
			}
		}()
	}
	wg.Wait()
	return min(int(next.Load()), n)
}

// scratch returns cleared per-node slices of length n, reusing the Decider's. Only the entries
// the last call used are cleared: a search at 5000 nodes usually stops after a few hundred.
func (st *state) scratch(n int) ([]snapshot.Verdict, []int16, []bool) {
	if len(st.verdicts) < n {
		st.verdicts, st.rejectedBy, st.passed = make([]snapshot.Verdict, n), make([]int16, n), make([]bool, n)
		st.dirty = 0
	}
	// The last call may have used more entries than this one will: clear all it used, or a
	// later, longer call would find them set.
	clear(st.verdicts[:st.dirty])
	clear(st.passed[:st.dirty])
	st.dirty = 0
	return st.verdicts[:n], st.rejectedBy[:n], st.passed[:n]
}

// score returns each feasible node's weighted total, in a slice reused by the next call. Every
// scorer is prepared first, then one pass over the nodes runs them all, so a parallel pass
// starts and joins its workers once per decision rather than once per scorer.
//
// A trace, when not nil, gets each scorer's raw and normalised score of every node.
// rec and timer observe it as in decide.
func (d *Decider) score(st *state, rec, timer Recorder, pod *snapshot.PodInfo, snap *snapshot.Snapshot, feasible []*snapshot.NodeInfo, tr *Trace) []int64 {
	n := len(feasible)
	var start int64
	if rec != nil {
		start = rec.Now()
	}
	active, weights, names := st.active[:0], st.weights[:0], st.activeNames[:0]
	for _, ws := range d.scorers {
		var pstart int64
		if timer != nil {
			pstart = timer.Now()
		}
		ns := ws.Plugin.PreScore(pod, snap, feasible)
		if rec != nil {
			if _, none := ws.Plugin.(NoPreScore); !none {
				rec.Evaluated(ws.Plugin.Name(), PointPreScore, 1)
				if timer != nil {
					timer.Plugin(ws.Plugin.Name(), PointPreScore, StatusSuccess, pstart)
				}
			}
		}
		if ns != nil {
			active, weights, names = append(active, ns), append(weights, ws.Weight), append(names, ws.Plugin.Name())
		}
	}
	st.active, st.weights, st.activeNames = active, weights, names
	if rec != nil {
		rec.Point(PointPreScore, StatusSuccess, start)
		start = rec.Now()
		for _, name := range names {
			rec.Evaluated(name, PointScore, n)
		}
	}
	if cap(st.totals) < n {
		st.totals = make([]int64, n)
	}
	if cap(st.raw) < n*len(active) {
		st.raw = make([]int64, n*len(active))
	}
	totals, raw := st.totals[:n], st.raw[:n*len(active)]
	clear(totals)
	if timer == nil {
		d.forEach(n, func(i int) {
			for s, ns := range active {
				raw[s*n+i] = ns.Score(feasible[i])
			}
		})
	} else {
		d.forEach(n, func(i int) {
			if i%TimedNodeEvery != 0 {
				for s, ns := range active {
					raw[s*n+i] = ns.Score(feasible[i])
				}
				return
			}
			for s, ns := range active {
				t := timer.Now()
				raw[s*n+i] = ns.Score(feasible[i])
				timer.Plugin(names[s], PointScore, StatusSuccess, t)
			}
		})
	}
	tr.rawScores(feasible, names, weights, raw)
	for s, ns := range active {
		scores := raw[s*n : (s+1)*n]
		if norm, ok := ns.(Normalizer); ok {
			var t int64
			if timer != nil {
				t = timer.Now()
			}
			norm.Normalize(scores)
			if timer != nil {
				timer.Plugin(names[s], PointNormalize, StatusSuccess, t)
			}
		}
		for i, v := range scores {
			totals[i] += v * weights[s]
		}
	}
	tr.normalizedScores(raw, totals)
	clear(active) // drop the scorers' per-pod state
	if rec != nil {
		rec.Point(PointScore, StatusSuccess, start)
	}
	return totals
}

// forEach calls fn(0..n-1), in parallel for large n.
func (d *Decider) forEach(n int, fn func(i int)) {
	if n < serialBelow || d.workers == 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	workers := d.workers
	var wg sync.WaitGroup
	per := (n + workers - 1) / workers
	// Chunks 1.. on new goroutines, chunk 0 on this one (one goroutine fewer to start and wake).
	for w := 1; w < workers; w++ {
		lo, hi := w*per, min((w+1)*per, n)
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				fn(i)
			}
		}()
	}
	for i := range min(per, n) {
		fn(i)
	}
	wg.Wait()
}

// pick returns the highest-scored node, choosing uniformly among ties.
func (st *state) pick(feasible []*snapshot.NodeInfo, totals []int64) *snapshot.NodeInfo {
	best, ties := 0, 1
	for i := 1; i < len(totals); i++ {
		switch {
		case totals[i] > totals[best]:
			best, ties = i, 1
		case totals[i] == totals[best]:
			ties++
			if st.rng.IntN(ties) == 0 {
				best = i
			}
		}
	}
	return feasible[best]
}

// intersect returns the names in both (a nil have means "all names").
func intersect(have map[string]bool, names []string) map[string]bool {
	out := make(map[string]bool, len(names))
	for _, n := range names {
		if have == nil || have[n] {
			out[n] = true
		}
	}
	return out
}

// Diagnosis records why a pod fits no node.
type Diagnosis struct {
	// NumNodes is the number of nodes in the snapshot.
	NumNodes int
	// PreFilterMsg is set when a PreFilter rejected the pod outright, or the plugins restricting
	// the nodes left none between them.
	PreFilterMsg string
	// PreFilterRejectedBy names the plugin whose PreFilter rejected the pod, before the later
	// PreFilters ran.
	PreFilterRejectedBy string
	// Reasons counts nodes per rejection reason.
	Reasons map[string]int
	// Plugins are the names of the plugins that rejected the pod somewhere.
	Plugins []string
	// Unresolvable is true when every rejection was unresolvable (preemption cannot help).
	Unresolvable bool
	// Resolvable are the nodes rejected for a reason preemption could resolve, in the order they
	// were filtered: where preemption might help. Valid until the Decider's next call.
	Resolvable []*snapshot.NodeInfo
	resolvable bool
	// postFilter is the filters' proposals (Result.PostFilter).
	postFilter []Plan
}

func (g *Diagnosis) addPlugin(name string) {
	for _, p := range g.Plugins {
		if p == name {
			return
		}
	}
	g.Plugins = append(g.Plugins, name)
}

func (g *Diagnosis) addVerdict(v snapshot.Verdict, plugin string) { g.addVerdictN(v, plugin, 1) }

// addVerdictN records the same verdict for count nodes.
func (g *Diagnosis) addVerdictN(v snapshot.Verdict, plugin string, count int) {
	if g.Reasons == nil {
		g.Reasons = map[string]int{}
	}
	for _, r := range v.Reasons {
		g.Reasons[r] += count
	}
	g.addPlugin(plugin)
	if !v.Unresolvable {
		g.resolvable = true
	}
	g.Unresolvable = !g.resolvable
}

// Message renders the diagnosis as kube-scheduler's FailedScheduling message, e.g.
// "0/5 nodes are available: 3 Insufficient cpu, 2 node(s) had untolerated taint(s).".
func (g *Diagnosis) Message() string {
	var b strings.Builder
	fmt.Fprintf(&b, "0/%d nodes are available:", g.NumNodes)
	if g.PreFilterMsg != "" {
		b.WriteString(" " + g.PreFilterMsg + ".")
		return b.String()
	}
	counts := make([]string, 0, len(g.Reasons))
	for r, c := range g.Reasons {
		counts = append(counts, fmt.Sprintf("%d %s", c, r))
	}
	sort.Strings(counts)
	if len(counts) > 0 {
		b.WriteString(" " + strings.Join(counts, ", ") + ".")
	}
	return b.String()
}
