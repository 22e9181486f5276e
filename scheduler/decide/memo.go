package decide

import (
	"encoding/binary"
	"sync"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// nodeMemo remembers what the remembered node-object filters (NodeOnlyFilter: NodeAffinity) of a
// pod said of each node object, for the next pods whose filters write the same keys: the pods of
// one workload. Judging a node again looks its labels up in a map, a few cache misses per node
// at thousands of nodes. A
// remembered verdict is the one the filters would give again: it is kept per node object
// (NodeInfo.NodeVersion), and a node object is never changed, so a decision stays a function of
// the pod and the snapshot.
//
// An entry is used by one decision at a time: take removes it, put returns it (a dry run at the
// same time as a decision of the same key works on an entry of its own). At most maxMemoEntries
// keys are kept; a new key beyond them takes the place (and the memory) of one of them.
type nodeMemo struct {
	mu      sync.Mutex
	entries map[string]*memoEntry
	spare   *memoEntry // the last entry put out, its memory for the next new key
}

// maxMemoEntries bounds the memory of a nodeMemo: an entry holds about 42 bytes per node.
const maxMemoEntries = 16

// memoEntry holds, per position in the snapshot's nodes, the verdict on the node object last
// judged there.
//
// The arrays are apart so that a search reads 10 bytes per node: the verdicts only where a filter
// rejected.
type memoEntry struct {
	key      string
	versions []uint64 // the node object's NodeVersion; 0: none judged
	checks   []int16  // the index of the rejecting filter; -1: every node-only filter passed
	verdicts []snapshot.Verdict
}

// take returns the entry of key for a search over n nodes (a new one when there is none, or
// when the one there was for a different count of nodes).
func (m *nodeMemo) take(key []byte, n int) *memoEntry {
	m.mu.Lock()
	e := m.entries[string(key)]
	if e != nil {
		delete(m.entries, e.key)
	} else if e, m.spare = m.spare, nil; e != nil {
		e.key = string(key)
		clear(e.versions)
	}
	m.mu.Unlock()
	if e == nil || len(e.versions) != n {
		e = &memoEntry{key: string(key), versions: make([]uint64, n), checks: make([]int16, n), verdicts: make([]snapshot.Verdict, n)}
	}
	return e
}

// put returns e, taken before, for the next decision of its key.
func (m *nodeMemo) put(e *memoEntry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries == nil {
		m.entries = make(map[string]*memoEntry, maxMemoEntries)
	}
	if _, ok := m.entries[e.key]; !ok && len(m.entries) >= maxMemoEntries {
		for k, out := range m.entries { // any one: map order
			delete(m.entries, k)
			m.spare = out
			break
		}
	}
	m.entries[e.key] = e
}

// appendKeyPart appends part to a key, its length first, so that different sequences of parts
// never make the same key.
func appendKeyPart[T ~string | ~[]byte](key []byte, part T) []byte {
	return append(binary.AppendUvarint(key, uint64(len(part))), part...)
}

// AppendKeyString appends s to a NodeOnlyFilter's key, its length first, so that different
// sequences of strings never append the same bytes.
func AppendKeyString(b []byte, s string) []byte { return appendKeyPart(b, s) }
