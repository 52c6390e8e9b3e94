package sandbox

import (
	"bytes"
	"container/list"
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"halite/validate"
)

var uniqueSeq atomic.Uint32

// retCode returns a chunk that returns imm (mov $imm,%eax and a masked
// return), with imm unique in the process so that no other test has put
// it in the validation cache.
func retCode(t testing.TB) ([]byte, uint32) {
	t.Helper()
	imm := uint32(time.Now().UnixNano())<<8 ^ uniqueSeq.Add(1)
	c := []byte{0xb8, 0, 0, 0, 0} // mov $imm, %eax
	binary.LittleEndian.PutUint32(c[1:], imm)
	c = append(c,
		0x41, 0x5b, // pop %r11
		0x41, 0x83, 0xe3, 0xe0, // and $-32, %r11d
		0x4d, 0x01, 0xfb, // add %r15, %r11
		0x41, 0xff, 0xe3, // jmp *%r11
	)
	return c, imm
}

func newCacheSandbox(t *testing.T, cfg Config) *Sandbox {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func checkStats(t *testing.T, what string, s *Sandbox, hits, misses, validations uint64) {
	t.Helper()
	st := s.ValidationStats()
	if st.Hits != hits || st.Misses != misses || st.Validations != validations {
		t.Errorf("%s: hits/misses/validations = %d/%d/%d, want %d/%d/%d", what, st.Hits, st.Misses, st.Validations, hits, misses, validations)
	}
}

// TestValidationCacheHit: the second sandbox mapping the same code gets it
// from the cache without running the validator, and the code installed
// is exactly the code given (padded with hlt) and runs.
func TestValidationCacheHit(t *testing.T) {
	code, imm := retCode(t)
	addr := uint64(0x200000)
	for i, want := range [][3]uint64{{0, 1, 1}, {1, 0, 0}} {
		s := newCacheSandbox(t, Config{Validate: haliteOpts()})
		if err := s.MapCode(s.Base()+addr, code); err != nil {
			t.Fatal(err)
		}
		checkStats(t, []string{"first sandbox", "second sandbox"}[i], s, want[0], want[1], want[2])
		got := make([]byte, pageSize)
		if err := s.Read(s.Base()+addr, got); err != nil {
			t.Fatal(err)
		}
		page := bytes.Repeat([]byte{0xf4}, pageSize)
		copy(page, code)
		if !bytes.Equal(got, page) {
			t.Errorf("sandbox %d: installed page differs from the code", i)
		}
		if r, err := s.Call(context.Background(), s.Base()+addr); err != nil || r != uint64(imm) {
			t.Errorf("sandbox %d: call = %#x, %v; want %#x", i, r, err, imm)
		}
	}
	// Same code at another 32-aligned address (another page offset too):
	// the verdict does not depend on it, still a hit.
	s := newCacheSandbox(t, Config{Validate: haliteOpts()})
	if err := s.MapCode(s.Base()+0x300000, code); err != nil {
		t.Fatal(err)
	}
	checkStats(t, "other address", s, 1, 0, 0)
	if err := s.MapCode(s.Base()+0x400040, code); err != nil {
		t.Fatal(err)
	}
	// Different page contents (code at +0x40, hlt before): a miss.
	checkStats(t, "other page offset", s, 1, 1, 1)
}

// TestValidationCacheOneByte: a one-byte change misses.
func TestValidationCacheOneByte(t *testing.T) {
	code, _ := retCode(t)
	s := newCacheSandbox(t, Config{Validate: haliteOpts()})
	if err := s.MapCode(s.Base()+0x200000, code); err != nil {
		t.Fatal(err)
	}
	code2 := bytes.Clone(code)
	code2[4] ^= 0x80
	s2 := newCacheSandbox(t, Config{Validate: haliteOpts()})
	if err := s2.MapCode(s2.Base()+0x200000, code2); err != nil {
		t.Fatal(err)
	}
	checkStats(t, "one byte changed", s2, 0, 1, 1)
}

// TestValidationCacheInvalid: invalid code is never cached; a sandbox
// without the real validator neither reads nor fills the cache.
func TestValidationCacheInvalid(t *testing.T) {
	code, _ := retCode(t)
	bad := append([]byte{0x0f, 0x05}, code...) // syscall
	s := newCacheSandbox(t, Config{Validate: haliteOpts()})
	for i := 0; i < 2; i++ {
		if err := s.MapCode(s.Base()+0x200000, bad); err == nil {
			t.Fatalf("attempt %d: invalid code mapped", i)
		}
	}
	checkStats(t, "invalid twice", s, 0, 2, 2)

	// Accepted without validation: not cached for others.
	code, _ = retCode(t)
	bad = append([]byte{0x0f, 0x05}, code...)
	u := newCacheSandbox(t, withoutValidation(Config{Validate: haliteOpts()}))
	if err := u.MapCode(u.Base()+0x200000, bad); err != nil {
		t.Fatal(err)
	}
	checkStats(t, "test validator", u, 0, 0, 0)
	if err := s.MapCode(s.Base()+0x200000, bad); err == nil {
		t.Fatal("invalid code accepted after a sandbox without validation mapped it")
	}
	// A valid chunk mapped without the validator is not cached either.
	good, _ := retCode(t)
	if err := u.MapCode(u.Base()+0x300000, good); err != nil {
		t.Fatal(err)
	}
	if err := s.MapCode(s.Base()+0x300000, good); err != nil {
		t.Fatal(err)
	}
	checkStats(t, "after the test validator", s, 0, 4, 4)
}

// TestValidationCacheOptions: the profile and the features are part of
// the key: a thread-pointer read valid under halite is not valid under
// nacl, and code valid with a feature is not valid without it.
func TestValidationCacheOptions(t *testing.T) {
	code, _ := retCode(t)
	fs := append([]byte{0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0}, code...) // mov %fs:0, %rax
	h := newCacheSandbox(t, Config{Validate: haliteOpts()})
	if err := h.MapCode(h.Base()+0x200000, fs); err != nil {
		t.Fatal(err)
	}
	nopts := haliteOpts()
	nopts.Profile = validate.NaCl
	n := newCacheSandbox(t, Config{Validate: nopts})
	if err := n.MapCode(n.Base()+0x200000, fs); err == nil {
		t.Fatal("nacl profile accepted the thread-pointer read through the cache")
	}
	checkStats(t, "nacl after halite", n, 0, 1, 1)

	// popcnt %rax, %rax needs the POPCNT feature.
	code, _ = retCode(t)
	pc := append([]byte{0xf3, 0x48, 0x0f, 0xb8, 0xc0}, code...)
	all := haliteOpts()
	all.Features = validate.AllFeatures
	a := newCacheSandbox(t, Config{Validate: all})
	if err := a.MapCode(a.Base()+0x200000, pc); err != nil {
		t.Fatal(err)
	}
	none := haliteOpts()
	none.Features = 1 // not zero (zero means the host's), and not POPCNT
	if validate.Code(padChunk(pc), 0, none).Valid() {
		t.Skip("feature bit 1 accepts popcnt; no feature-less set to test with")
	}
	z := newCacheSandbox(t, Config{Validate: none})
	if err := z.MapCode(z.Base()+0x200000, pc); err == nil {
		t.Fatal("popcnt accepted through the cache without the feature")
	}
}

func padChunk(c []byte) []byte {
	p := bytes.Repeat([]byte{0xf4}, (len(c)+31)&^31)
	copy(p, c)
	return p
}

// TestValidationCacheDisabled: NoValidationCache validates every time.
func TestValidationCacheDisabled(t *testing.T) {
	code, _ := retCode(t)
	for i := 0; i < 2; i++ {
		s := newCacheSandbox(t, Config{Validate: haliteOpts(), NoValidationCache: true})
		if err := s.MapCode(s.Base()+0x200000, code); err != nil {
			t.Fatal(err)
		}
		checkStats(t, "disabled", s, 0, 0, 1)
	}
}

// TestValidationCacheConcurrent maps the same code in two sandboxes at
// once, repeatedly (run with -race).
func TestValidationCacheConcurrent(t *testing.T) {
	code, imm := retCode(t)
	var wg sync.WaitGroup
	for g := 0; g < 2; g++ {
		s := newCacheSandbox(t, Config{Validate: haliteOpts()})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				a := s.Base() + 0x200000 + uint64(i)*pageSize
				if err := s.MapCode(a, code); err != nil {
					t.Error(err)
					return
				}
			}
			if r, err := s.Call(context.Background(), s.Base()+0x200000+49*pageSize); err != nil || r != uint64(imm) {
				t.Errorf("call = %#x, %v; want %#x", r, err, imm)
			}
			if st := s.ValidationStats(); st.Hits+st.Misses != 50 || st.Hits < 49 {
				t.Errorf("stats %+v: want 50 look-ups, at least 49 hits", st)
			}
		}()
	}
	wg.Wait()
}

// TestValidationCacheBound: the cache never holds more than its bound
// and evicts the least recently used key.
func TestValidationCacheBound(t *testing.T) {
	c := codeCache{m: make(map[cacheKey]*list.Element)}
	key := func(i int) cacheKey {
		var k cacheKey
		binary.LittleEndian.PutUint32(k[:], uint32(i))
		return k
	}
	for i := 0; i < cacheMaxEntries; i++ {
		c.add(key(i))
	}
	if !c.contains(key(0)) { // now the most recently used
		t.Fatal("key 0 lost before the cache was full")
	}
	for i := cacheMaxEntries; i < cacheMaxEntries+10; i++ {
		c.add(key(i))
	}
	if n := c.len(); n != cacheMaxEntries {
		t.Errorf("%d entries, want %d", n, cacheMaxEntries)
	}
	if !c.contains(key(0)) {
		t.Error("recently used key 0 evicted")
	}
	for i := 1; i <= 10; i++ {
		if c.contains(key(i)) {
			t.Errorf("least recently used key %d still cached", i)
		}
	}
}

// BenchmarkMapCodeWarm maps 1 MiB of code whose verdict is cached: the
// cost of the private copy, hashing and installing.
func BenchmarkMapCodeWarm(b *testing.B) {
	s, err := New(Config{Validate: haliteOpts()})
	if err != nil {
		b.Skip(err)
	}
	defer s.Close()
	code := bytes.Repeat([]byte{0x90}, 1<<20)
	a := s.Base() + 0x200000
	b.SetBytes(int64(len(code)))
	for i := 0; i < b.N; i++ {
		if err := s.MapCode(a, code); err != nil {
			b.Fatal(err)
		}
		if err := s.Unmap(a, uint64(len(code))); err != nil {
			b.Fatal(err)
		}
	}
	if st := s.ValidationStats(); st.Validations > 1 {
		b.Fatalf("%d validations", st.Validations)
	}
}
