package sandbox

import (
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"sync"
	"sync/atomic"
	"time"

	"halite/validate"
)

// Validation cache.
//
// MapCode validates the private, read-only copy of the code it is about
// to install. The cache remembers, process-wide, the SHA-256 of such
// copies that the validator ACCEPTED, together with everything the
// verdict depends on: the profile, the feature set and the load address
// modulo 32. The verdict depends on the address only through its
// alignment: the validator checks direct jump targets as offsets from the
// chunk start and uses the base only for the 32-byte alignment check
// (validate.Validator.Validate). Options.MaxErrors and NoDisasm change
// only the violations of invalid code, which is never cached.
//
// A hit skips the validator; the bytes installed are still exactly the
// private copy that was hashed, after it was made read-only (no
// time-of-check/time-of-use). Rejections are never cached, and sandboxes
// whose validator is replaced for tests neither read nor fill the cache.
// The cache holds only keys (no code): at most cacheMaxEntries, least
// recently used evicted first.

// cacheMaxEntries bounds the validation cache.
const cacheMaxEntries = 1024

// cacheKey is the SHA-256 of a chunk and the options its verdict depends on.
type cacheKey [sha256.Size]byte

// codeCache is a bounded LRU set of keys of valid chunks; safe for
// concurrent use.
type codeCache struct {
	mu  sync.Mutex
	m   map[cacheKey]*list.Element
	lru list.List // front = most recently used; values are cacheKey
}

var validationCache = codeCache{m: make(map[cacheKey]*list.Element)}

// contains reports whether key is cached and marks it recently used.
func (c *codeCache) contains(k cacheKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if ok {
		c.lru.MoveToFront(e)
	}
	return ok
}

// add records key as valid, evicting the least recently used entries
// beyond the bound.
func (c *codeCache) add(k cacheKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		c.lru.MoveToFront(e)
		return
	}
	c.m[k] = c.lru.PushFront(k)
	for c.lru.Len() > cacheMaxEntries {
		e := c.lru.Back()
		c.lru.Remove(e)
		delete(c.m, e.Value.(cacheKey))
	}
}

// len returns the number of cached keys.
func (c *codeCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// keyOf hashes code (validated at base) with the options its verdict
// depends on.
func keyOf(opts validate.Options, base uint64, code []byte) cacheKey {
	h := newKeyHash(opts, base, len(code))
	h.Write(code)
	var k cacheKey
	h.Sum(k[:0])
	return k
}

// newKeyHash starts the key of n bytes of code validated at base: the
// caller writes the n bytes, then Sum gives the key (what keyOf returns).
func newKeyHash(opts validate.Options, base uint64, n int) hash.Hash {
	var hdr [32]byte
	copy(hdr[:], "halite-vcache-1\x00")
	hdr[16] = byte(opts.Profile)
	hdr[17] = byte(base % 32)
	binary.LittleEndian.PutUint64(hdr[18:], uint64(opts.Features))
	// hdr[26:32] stay zero; the length is fixed by hashing it next.
	h := sha256.New()
	h.Write(hdr[:])
	var l [8]byte
	binary.LittleEndian.PutUint64(l[:], uint64(n))
	h.Write(l[:])
	return h
}

// cacheHash returns a started key hash for n bytes of code at base, or
// nil when this sandbox does not use the validation cache.
func (s *Sandbox) cacheHash(base uint64, n int) hash.Hash {
	if s.cfg.testValidate != nil || s.cfg.NoValidationCache {
		return nil
	}
	return newKeyHash(s.cfg.Validate, base, n)
}

// ValidationStats counts a sandbox's MapCode validations.
type ValidationStats struct {
	// Hits are chunks accepted through the validation cache (validator
	// not run).
	Hits uint64
	// Misses are cache look-ups that found nothing (the validator ran).
	Misses uint64
	// Validations are runs of the validator (misses, plus every chunk
	// when Config.NoValidationCache is set), valid or not.
	Validations uint64
	// ValidateTime is the time spent in the validator and in hashing.
	ValidateTime time.Duration
}

// vstats holds a sandbox's ValidationStats.
type vstats struct {
	hits, misses, validations atomic.Uint64
	nanos                     atomic.Int64
}

// ValidationStats returns the sandbox's validation counters.
func (s *Sandbox) ValidationStats() ValidationStats {
	return ValidationStats{
		Hits:         s.vstats.hits.Load(),
		Misses:       s.vstats.misses.Load(),
		Validations:  s.vstats.validations.Load(),
		ValidateTime: time.Duration(s.vstats.nanos.Load()),
	}
}

// validate checks the private read-only copy code, to run at base,
// through the validation cache unless it is disabled; key is code's cache
// key if already computed (hashed while copying), else nil.
func (s *Sandbox) validate(code []byte, base uint64, key *cacheKey) error {
	if s.cfg.testValidate != nil {
		return s.cfg.testValidate(code, base)
	}
	t0 := time.Now()
	defer func() { s.vstats.nanos.Add(int64(time.Since(t0))) }()
	if s.cfg.NoValidationCache {
		s.vstats.validations.Add(1)
		return validate.Code(code, base, s.cfg.Validate).Err()
	}
	var k cacheKey
	if key != nil {
		k = *key
	} else {
		k = keyOf(s.cfg.Validate, base, code)
	}
	if validationCache.contains(k) {
		s.vstats.hits.Add(1)
		return nil
	}
	s.vstats.misses.Add(1)
	s.vstats.validations.Add(1)
	if err := validate.Code(code, base, s.cfg.Validate).Err(); err != nil {
		return err
	}
	validationCache.add(k)
	return nil
}
