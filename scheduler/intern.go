package scheduler

import (
	"encoding/binary"
	"slices"
	"sync"

	v1 "k8s.io/api/core/v1"
)

// resourceLists lets Trim share one map between the containers, of all pods, that ask for the
// same resources: the pods of a Deployment or a Job, the sidecars injected into every pod. A
// decoded ResourceList of two entries is a ~650-byte map, kept for every pod in the informer
// cache (50,000 pods: 32 MB); the interned one is kept once. Informer objects are never
// modified, so sharing a map between them is as safe as Trim's sharing of a container's
// requests and limits.
//
// Lists are equal when they hold the same names with quantities of the same value and format,
// so every read (Value, MilliValue, Cmp, String) answers alike from either. At most
// maxInternedLists distinct lists are kept, for the life of the process; later ones are not
// shared. Safe for concurrent use.
var resourceLists = listInterner{lists: map[string]v1.ResourceList{}}

const (
	maxInternedLists = 1024
	// maxInternedNames is the most entries an interned list has; longer ones are left alone.
	maxInternedNames = 8
)

type listInterner struct {
	mu    sync.Mutex
	lists map[string]v1.ResourceList // by listKey
}

// intern returns the list equal to rl that was interned first, or rl.
func (in *listInterner) intern(rl v1.ResourceList) v1.ResourceList {
	if len(rl) == 0 || len(rl) > maxInternedNames {
		return rl
	}
	var buf [256]byte
	key := listKey(buf[:0], rl)
	in.mu.Lock()
	defer in.mu.Unlock()
	if same, ok := in.lists[string(key)]; ok {
		return same
	}
	if len(in.lists) < maxInternedLists {
		in.lists[string(key)] = rl
	}
	return rl
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
