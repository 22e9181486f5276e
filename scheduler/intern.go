package scheduler

import (
	"encoding/binary"
	"slices"
	"sync"

	v1 "k8s.io/api/core/v1"
)

// Trim shares equal parts between pods (see interner): the resource lists of containers that ask
// for the same resources (the pods of a Deployment or a Job, injected sidecars), the tolerations
// most pods carry (the API server gives each the same two: not-ready and unreachable for 300s),
// containers' ports, the labels of the pods of one ReplicaSet or Job. A decoded ResourceList of two entries is a ~650-byte map, two tolerations
// ~270 bytes; each was kept for every pod in the informer cache (50,000 pods: 32 and 13 MB).
//
// Topology spread constraints and affinities are shared too: the pods of one workload carry the
// same ones, each with a decoded label selector (maps, strings; ~500 bytes a constraint), which
// at 15,000 nodes and 30,000 spread pods was the larger part of what berth's peak RSS held over
// the same count of unconstrained pods.
var (
	resourceLists = newInterner[v1.ResourceList]()
	tolerations   = newInterner[[]v1.Toleration]()
	ports         = newInterner[[]v1.ContainerPort]()
	labelSets     = newInterner[map[string]string]()
	spreads       = newInterner[[]v1.TopologySpreadConstraint]()
	affinities    = newInterner[*v1.Affinity]()
)

// maxInterned is the most distinct values an interner keeps.
const maxInterned = 1024

// interner hands out, for a value equal to one it has seen, the first one seen. Informer objects
// are never modified, so sharing a part between them is as safe as Trim's sharing of a
// container's requests and limits. Values are equal when their keys (which say what every read
// of the value answers) are. At most maxInterned distinct values are kept, for the life of the
// process; later ones are not shared. Safe for concurrent use.
type interner[T any] struct {
	mu    sync.Mutex
	byKey map[string]T
}

func newInterner[T any]() *interner[T] { return &interner[T]{byKey: map[string]T{}} }

// intern returns the value first interned with key, or v (keeping it for key while there is
// room).
func (in *interner[T]) intern(key []byte, v T) T {
	in.mu.Lock()
	defer in.mu.Unlock()
	if same, ok := in.byKey[string(key)]; ok {
		return same
	}
	if len(in.byKey) < maxInterned {
		in.byKey[string(key)] = v
	}
	return v
}

// maxInternedNames is the most entries an interned resource list has; longer ones are left
// alone.
const maxInternedNames = 8

// internList returns the resource list equal to rl that was interned first, or rl. Lists are
// equal when they hold the same names with quantities of the same value and format, so every
// read (Value, MilliValue, Cmp, String) answers alike from either.
func internList(rl v1.ResourceList) v1.ResourceList {
	if len(rl) == 0 || len(rl) > maxInternedNames {
		return rl
	}
	var buf [256]byte
	return resourceLists.intern(listKey(buf[:0], rl), rl)
}

// internTolerations returns the tolerations equal to ts (the same, in the same order) that were
// interned first, or ts.
func internTolerations(ts []v1.Toleration) []v1.Toleration {
	if len(ts) == 0 {
		return ts
	}
	var buf [256]byte
	return tolerations.intern(tolerationsKey(buf[:0], ts), ts)
}

// tolerationsKey appends to b each toleration's fields.
func tolerationsKey(b []byte, ts []v1.Toleration) []byte {
	for i := range ts {
		t := &ts[i]
		b = appendStrings(b, t.Key, string(t.Operator), t.Value, string(t.Effect))
		if t.TolerationSeconds != nil {
			b = binary.AppendVarint(append(b, 1), *t.TolerationSeconds)
		} else {
			b = append(b, 0)
		}
	}
	return b
}

// internPorts returns the container ports equal to ps that were interned first, or ps.
func internPorts(ps []v1.ContainerPort) []v1.ContainerPort {
	if len(ps) == 0 {
		return ps
	}
	var buf [256]byte
	return ports.intern(portsKey(buf[:0], ps), ps)
}

// portsKey appends to b each port's fields.
func portsKey(b []byte, ps []v1.ContainerPort) []byte {
	for i := range ps {
		p := &ps[i]
		b = appendStrings(b, p.Name, string(p.Protocol), p.HostIP)
		b = binary.AppendVarint(binary.AppendVarint(b, int64(p.HostPort)), int64(p.ContainerPort))
	}
	return b
}

// maxInternedSpecBytes is the largest protobuf encoding of the constraints or affinity an
// interner keys on; larger ones are left alone.
const maxInternedSpecBytes = 4096

// internSpread returns the topology spread constraints equal to ts that were interned first, or
// ts.
func internSpread(ts []v1.TopologySpreadConstraint) []v1.TopologySpreadConstraint {
	if len(ts) == 0 {
		return ts
	}
	var buf [512]byte
	if key, ok := spreadKey(buf[:0], ts); ok {
		return spreads.intern(key, ts)
	}
	return ts
}

// spreadKey appends to b each constraint's protobuf encoding, which holds every field (map keys
// in order), with its length first; false when the encoding fails or passes
// maxInternedSpecBytes.
func spreadKey(b []byte, ts []v1.TopologySpreadConstraint) ([]byte, bool) {
	for i := range ts {
		n := ts[i].Size()
		b = binary.AppendUvarint(b, uint64(n))
		if len(b)+n > maxInternedSpecBytes {
			return nil, false
		}
		b = slices.Grow(b, n)[:len(b)+n] // encoded in place: no buffer per constraint
		if _, err := ts[i].MarshalToSizedBuffer(b[len(b)-n:]); err != nil {
			return nil, false
		}
	}
	return b, true
}

// internAffinity returns the affinity equal to a that was interned first, or a.
func internAffinity(a *v1.Affinity) *v1.Affinity {
	if key, ok := affinityKey(a); ok {
		return affinities.intern(key, a)
	}
	return a
}

// affinityKey is a's protobuf encoding (see spreadKey); false for nil.
func affinityKey(a *v1.Affinity) ([]byte, bool) {
	if a == nil {
		return nil, false
	}
	b, err := a.Marshal()
	return b, err == nil && len(b) <= maxInternedSpecBytes
}

// maxInternedLabels is the most labels an interned label set has; larger ones are left alone.
const maxInternedLabels = 16

// internLabels returns the labels equal to l (the same keys with the same values) that were
// interned first, or l.
func internLabels(l map[string]string) map[string]string {
	if len(l) == 0 || len(l) > maxInternedLabels {
		return l
	}
	var buf [512]byte
	return labelSets.intern(labelsKey(buf[:0], l), l)
}

// labelsKey appends to b l's keys in order, each with its value.
func labelsKey(b []byte, l map[string]string) []byte {
	var stack [maxInternedLabels]string
	keys := stack[:0]
	for k := range l {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = appendStrings(b, k, l[k])
	}
	return b
}

// appendStrings appends each of ss to b, with its length first.
func appendStrings(b []byte, ss ...string) []byte {
	for _, s := range ss {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// listKey appends to b rl's names in order, each with its quantity's canonical digits, exponent
// and format.
func listKey(b []byte, rl v1.ResourceList) []byte {
	var stack [maxInternedNames]v1.ResourceName
	names := stack[:0]
	for name := range rl {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		q := rl[name]
		b = append(b, name...)
		b = append(b, 0)
		digits, exp := q.AsCanonicalBytes(b)
		b = binary.AppendVarint(digits, int64(exp))
		b = append(b, q.Format...)
		b = append(b, 0)
	}
	return b
}
