package servehandler

import "sync"

// Kinds of cache entries. Keys are structs so that a lookup never concatenates strings.
const (
	kindSite   uint8 = iota + 1 // name: deployment id; value *site or *missing
	kindBlob                    // name: storage key of a blob or variant; value []byte
	kindAlias                   // name: alias label; value *pointer
	kindDomain                  // name: host; value *pointer
)

type cacheKey struct {
	kind uint8
	name string
}

type lruEntry struct {
	key        cacheKey
	val        any
	weight     int64
	prev, next *lruEntry
}

// lru is a least-recently-used cache bounded by the sum of its entries' weights (bytes).
type lru struct {
	mu   sync.Mutex
	max  int64
	used int64
	m    map[cacheKey]*lruEntry
	root lruEntry // sentinel: root.next is the most recent, root.prev the least
}

func newLRU(maxBytes int64) *lru {
	c := &lru{max: maxBytes, m: make(map[cacheKey]*lruEntry)}
	c.root.next, c.root.prev = &c.root, &c.root
	return c
}

// entryOverhead approximates the memory of an entry besides its value.
const entryOverhead = 128

func (c *lru) get(k cacheKey) (any, bool) {
	c.mu.Lock()
	e, ok := c.m[k]
	if !ok {
		c.mu.Unlock()
		return nil, false
	}
	if c.root.next != e {
		c.unlink(e)
		c.pushFront(e)
	}
	v := e.val
	c.mu.Unlock()
	return v, true
}

// add stores v under k with the given weight, replacing an existing entry, and evicts the
// least recently used entries until the cache fits. Values heavier than half the cache are
// not stored.
func (c *lru) add(k cacheKey, v any, weight int64) bool {
	weight += entryOverhead
	if weight > c.max/2 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[k]; ok {
		c.unlink(old)
		c.used -= old.weight
		delete(c.m, k)
	}
	e := &lruEntry{key: k, val: v, weight: weight}
	c.m[k] = e
	c.pushFront(e)
	c.used += weight
	for c.used > c.max && c.root.prev != e {
		last := c.root.prev
		c.unlink(last)
		c.used -= last.weight
		delete(c.m, last.key)
	}
	return true
}

func (c *lru) remove(k cacheKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		c.unlink(e)
		c.used -= e.weight
		delete(c.m, k)
	}
}

func (c *lru) stats() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m), c.used
}

func (c *lru) unlink(e *lruEntry) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

func (c *lru) pushFront(e *lruEntry) {
	e.prev = &c.root
	e.next = c.root.next
	c.root.next.prev = e
	c.root.next = e
}
