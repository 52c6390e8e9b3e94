package pthread

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"unsafe"
)

// arena is a fake sandbox memory for unit tests: a byte slice at a fake
// base, a bump allocator that checks frees, atomic 8-byte stores.
type arena struct {
	mu    sync.Mutex
	words []uint64 // backing store, 8-aligned
	base  uint64
	next  uint64
	live  map[uint64]uint64 // addr -> size
	fail  int               // fail the fail-th Alloc from now (1 = next); 0 never
}

var errArenaFull = errors.New("arena: out of memory")

func newArena(size uint64) *arena {
	return &arena{words: make([]uint64, size/8), base: 0x7f0000000000, next: 0x7f0000000000 + 0x20000, live: map[uint64]uint64{}}
}

func (a *arena) bytes() []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(&a.words[0])), len(a.words)*8)
}

func (a *arena) Alloc(size, align uint64) (uint64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail > 0 {
		a.fail--
		if a.fail == 0 {
			return 0, fmt.Errorf("arena: injected allocation failure")
		}
	}
	if align < 16 {
		align = 16
	}
	p := alignUp(a.next, align)
	if p+size > a.base+uint64(len(a.words))*8 {
		return 0, fmt.Errorf("%w (%d bytes)", errArenaFull, size)
	}
	a.next = p + size
	a.live[p] = size
	return p, nil
}

func (a *arena) Free(addr, size uint64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s, ok := a.live[addr]; !ok || s != size {
		return fmt.Errorf("arena: bad free %#x+%d", addr, size)
	}
	delete(a.live, addr)
	// Poison, so that use after free shows.
	b := a.bytes()[addr-a.base : addr-a.base+size]
	for i := range b {
		b[i] = 0xdd
	}
	return nil
}

func (a *arena) slice(addr, n uint64) ([]byte, error) {
	if addr < a.base || addr-a.base+n > uint64(len(a.words))*8 || addr-a.base+n < n {
		return nil, fmt.Errorf("arena: %#x+%d out of range", addr, n)
	}
	return a.bytes()[addr-a.base : addr-a.base+n], nil
}

func (a *arena) Read(addr uint64, dst []byte) error {
	s, err := a.slice(addr, uint64(len(dst)))
	if err == nil {
		copy(dst, s)
	}
	return err
}

func (a *arena) Write(addr uint64, src []byte) error {
	s, err := a.slice(addr, uint64(len(src)))
	if err == nil {
		copy(s, src)
	}
	return err
}

func (a *arena) StoreUint64(addr, v uint64) error {
	if addr%8 != 0 {
		return fmt.Errorf("arena: unaligned store at %#x", addr)
	}
	if _, err := a.slice(addr, 8); err != nil {
		return err
	}
	atomic.StoreUint64(&a.words[(addr-a.base)/8], v)
	return nil
}

func (a *arena) LoadUint32(addr uint64) (uint32, error) {
	if addr%4 != 0 {
		return 0, fmt.Errorf("arena: unaligned load at %#x", addr)
	}
	if _, err := a.slice(addr, 4); err != nil {
		return 0, err
	}
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(&a.bytes()[addr-a.base]))), nil
}

func (a *arena) StoreUint32(addr uint64, v uint32) error {
	if addr%4 != 0 {
		return fmt.Errorf("arena: unaligned store at %#x", addr)
	}
	if _, err := a.slice(addr, 4); err != nil {
		return err
	}
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&a.bytes()[addr-a.base])), v)
	return nil
}

func (a *arena) load64(addr uint64) uint64 {
	return atomic.LoadUint64(&a.words[(addr-a.base)/8])
}

func (a *arena) readBytes(addr, n uint64) []byte {
	b := make([]byte, n)
	if err := a.Read(addr, b); err != nil {
		panic(err)
	}
	return b
}

func (a *arena) liveCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.live)
}

func (a *arena) liveList() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var s []string
	for k, v := range a.live {
		s = append(s, fmt.Sprintf("%#x+%d", k, v))
	}
	sort.Strings(s)
	return s
}

var _ = binary.LittleEndian

func (a *arena) word32(addr uint64) *uint32 {
	return (*uint32)(unsafe.Pointer(&a.bytes()[addr-a.base]))
}

func casUint32(a *arena, addr uint64, old, new uint32) uint32 {
	p := a.word32(addr)
	for {
		if atomic.CompareAndSwapUint32(p, old, new) {
			return old
		}
		if cur := atomic.LoadUint32(p); cur != old {
			return cur
		}
	}
}

func xchgUint32(a *arena, addr uint64, v uint32) uint32 {
	return atomic.SwapUint32(a.word32(addr), v)
}
