package revocation

import (
	"crypto"
	"hash/maphash"
	"sync"
	"time"
)

// cacheKey names one cached response. The CertID hash is part of it because
// the response repeats the request's CertID, hashes included.
type cacheKey struct {
	ca     *caState
	serial string
	hash   crypto.Hash
}

// cacheEntry is a signed response and the status it was signed from.
type cacheEntry struct {
	resp      *Response
	status    CertStatus
	refreshAt time.Time
}

// cacheShards splits the LRU so concurrent hits rarely share a lock.
const cacheShards = 16

// responseCache is a bounded LRU of signed responses. Freshness is the
// caller's business (cacheEntry.refreshAt); the cache only bounds memory.
type responseCache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu    sync.Mutex
	items map[cacheKey]*lruNode
	root  lruNode // sentinel: root.next is the most recently used
	limit int
	// gen counts removals; a fill that started before one does not insert.
	gen uint64
}

type lruNode struct {
	key        cacheKey
	entry      *cacheEntry
	prev, next *lruNode
}

// newResponseCache holds about size entries; size < 0 disables it (every
// get misses, every put is dropped).
func newResponseCache(size int) *responseCache {
	c := &responseCache{seed: maphash.MakeSeed()}
	per := 0
	if size > 0 {
		per = max((size+cacheShards-1)/cacheShards, 1)
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.items = map[cacheKey]*lruNode{}
		s.root.next, s.root.prev = &s.root, &s.root
		s.limit = per
	}
	return c
}

func (c *responseCache) shard(k cacheKey) *cacheShard {
	return &c.shards[maphash.String(c.seed, k.serial)%cacheShards]
}

func (c *responseCache) get(k cacheKey) *cacheEntry {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.items[k]
	if n == nil {
		return nil
	}
	s.unlink(n)
	s.pushFront(n)
	return n.entry
}

// generation is the token put checks to refuse entries that raced with a removal.
func (c *responseCache) generation(k cacheKey) uint64 {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen
}

// put inserts or replaces k unless a removal happened in its shard since gen
// was read; the shard granularity can drop an innocent insert under heavy
// invalidation, never keep a stale one.
func (c *responseCache) put(k cacheKey, e *cacheEntry, gen uint64) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limit == 0 || s.gen != gen {
		return
	}
	if n := s.items[k]; n != nil {
		n.entry = e
		s.unlink(n)
		s.pushFront(n)
		return
	}
	n := &lruNode{key: k, entry: e}
	s.items[k] = n
	s.pushFront(n)
	if len(s.items) > s.limit {
		old := s.root.prev
		s.unlink(old)
		delete(s.items, old.key)
	}
}

func (c *responseCache) remove(k cacheKey) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	if n := s.items[k]; n != nil {
		s.unlink(n)
		delete(s.items, k)
	}
}

// len counts the entries, for tests.
func (c *responseCache) len() int {
	total := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		total += len(s.items)
		s.mu.Unlock()
	}
	return total
}

func (s *cacheShard) unlink(n *lruNode) {
	n.prev.next, n.next.prev = n.next, n.prev
	n.prev, n.next = nil, nil
}

func (s *cacheShard) pushFront(n *lruNode) {
	n.prev, n.next = &s.root, s.root.next
	s.root.next.prev = n
	s.root.next = n
}
