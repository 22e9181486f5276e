package httpserve

import (
	"sync"
	"time"
)

// maxCacheEntries bounds each review cache; upstream's caches are bounded LRUs of similar size.
const maxCacheEntries = 4096

// ttlCache maps keys to values that expire. It is safe for concurrent use. When full, expired
// entries are dropped first and then arbitrary ones, which is enough for caches whose misses
// only cost an API call.
type ttlCache[V any] struct {
	now func() time.Time

	mu      sync.Mutex
	entries map[string]ttlEntry[V]
}

type ttlEntry[V any] struct {
	value   V
	expires time.Time
}

func newTTLCache[V any](now func() time.Time) *ttlCache[V] {
	return &ttlCache[V]{now: now, entries: map[string]ttlEntry[V]{}}
}

// get returns the live value for key.
func (c *ttlCache[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !c.now().Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.value, true
}

// set stores value for ttl; a ttl of zero or less stores nothing.
func (c *ttlCache[V]) set(key string, value V, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= maxCacheEntries {
		c.evictLocked(now)
	}
	c.entries[key] = ttlEntry[V]{value: value, expires: now.Add(ttl)}
}

// evictLocked makes room for one entry.
func (c *ttlCache[V]) evictLocked(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
	for k := range c.entries {
		if len(c.entries) < maxCacheEntries {
			return
		}
		delete(c.entries, k)
	}
}
