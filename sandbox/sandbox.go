package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"halite/validate"
)

// Layout of the address space (see architecture.md).
const (
	// Size is the size of a sandbox's address space.
	Size = 4 << 30
	// GuardSize is the PROT_NONE guard below and above the 4 GiB.
	GuardSize = 40 << 30
	// TrampolineOffset is where the host-call trampolines start (B+64 KiB).
	TrampolineOffset = 0x10000
	// TrampolineSlot is the size of one trampoline (one per call number).
	TrampolineSlot = 32
	// UserOffset is the first offset the memory API may map (B+128 KiB).
	UserOffset = 0x20000

	pageSize    = 4096
	reserveSize = 2*GuardSize + Size + Size // the 4 GiB slack allows aligning B
)

// Prot is a protection of sandbox memory.
type Prot uint8

// Protection bits.
const (
	ProtRead Prot = 1 << iota
	ProtWrite
	ProtExec
	// ProtNone is mapped but inaccessible.
	ProtNone Prot = 0
)

func (p Prot) String() string {
	b := []byte("---")
	if p&ProtRead != 0 {
		b[0] = 'r'
	}
	if p&ProtWrite != 0 {
		b[1] = 'w'
	}
	if p&ProtExec != 0 {
		b[2] = 'x'
	}
	return string(b)
}

func (p Prot) unix() uintptr {
	var u uintptr
	if p&ProtRead != 0 {
		u |= unix.PROT_READ
	}
	if p&ProtWrite != 0 {
		u |= unix.PROT_WRITE
	}
	if p&ProtExec != 0 {
		u |= unix.PROT_EXEC
	}
	return u
}

// Errors the memory API returns (wrapped with the address and size).
var (
	ErrWX         = errors.New("writable and executable memory is never allowed")
	ErrExec       = errors.New("memory becomes executable only through MapCode (validate-and-map)")
	ErrRange      = errors.New("range outside the sandbox's mappable area")
	ErrAlign      = errors.New("misaligned address or size")
	ErrCode       = errors.New("range overlaps validated code")
	ErrNotMapped  = errors.New("range not mapped with the needed protection")
	ErrMemLimit   = errors.New("sandbox memory limit exceeded")
	ErrClosed     = errors.New("sandbox is closed")
	ErrNoSpace    = errors.New("no free range large enough in the sandbox")
	ErrThreadMax  = errors.New("sandbox thread limit reached")
	ErrBadSpec    = errors.New("bad thread spec")
	ErrRunStopped = errors.New("sandbox run stopped")
	ErrRetired    = errors.New("range held code that running threads may still be in")
)

// Resolver maps a guest address to a module name and offset, for fault
// reports; ok is false when no module contains addr.
type Resolver func(addr uint64) (module string, off uint64, ok bool)

// Config configures a Sandbox. The zero value is usable.
type Config struct {
	// Stdout and Stderr receive the built-in write host call for fds 1 and
	// 2; nil discards (the call still succeeds).
	Stdout, Stderr io.Writer
	// MaxThreads bounds the raw threads alive at once (default 64).
	MaxThreads int
	// MaxMemory bounds the committed sandbox memory in bytes: every page
	// mapped accessible (code, data, stacks, trampolines). 0 means 4 GiB.
	MaxMemory uint64
	// Validate are the options MapCode validates with. Zero Features means
	// validate.HostFeatures() (code may use what this CPU has).
	Validate validate.Options
	// Resolve, when set, names the module and offset of fault addresses.
	Resolve Resolver
	// Spin is the number of PAUSE iterations the untrusted side of a host
	// call polls for the reply before sleeping on the futex (the Go side
	// polls for about 5 µs when Spin is not negative). 0 picks a default
	// calibrated to about 5 µs with at least 4 usable CPUs, and no
	// spinning with fewer; negative disables spinning.
	Spin int
	// NoValidationCache makes MapCode run the validator on every chunk
	// instead of consulting the process-wide cache of chunks already
	// found valid (see ValidationStats).
	NoValidationCache bool

	// testValidate replaces the validator; tests only (see export_test.go).
	testValidate func(code []byte, base uint64) error
}

// region is one mapped range, [start, end) as offsets from B.
type region struct {
	start, end uint64
	prot       Prot
	code       bool
}

// Sandbox is one sandbox: its address space, threads and host calls.
type Sandbox struct {
	cfg  Config
	resv unsafe.Pointer // start of the whole reservation (lower guard)
	base unsafe.Pointer // B
	b    uint64
	spin int

	mu        sync.RWMutex // memory map
	regions   []region     // sorted, non-overlapping
	retired   []region     // code unmapped while threads were alive
	committed uint64
	closed    bool
	closedA   atomic.Bool // closed, readable without mu (lock order: mu, then tmu)
	vstats    vstats      // MapCode validation counters

	handlers [NumCalls]atomic.Pointer[HostCallFunc]
	outMu    sync.Mutex // serialises the built-in write

	tmu     sync.Mutex
	threads map[*Thread]struct{}
	runErr  error
	wg      sync.WaitGroup
	parked  []parkedThread // OS threads of ended threads, kept for reuse
}

// New reserves a sandbox: 40 GiB guard | 4 GiB (B, 4 GiB aligned) | 40 GiB
// guard, all PROT_NONE and uncommitted, and installs the trampolines.
func New(cfg Config) (*Sandbox, error) {
	if err := globalInit(); err != nil {
		return nil, err
	}
	if cfg.MaxThreads <= 0 {
		cfg.MaxThreads = 64
	}
	if cfg.Validate.Features == 0 {
		cfg.Validate.Features = validate.HostFeatures()
	}
	if cfg.MaxMemory == 0 || cfg.MaxMemory > Size {
		cfg.MaxMemory = Size
	}
	p, err := unix.MmapPtr(-1, 0, nil, reserveSize, unix.PROT_NONE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, reserveError(err)
	}
	start := uintptr(p)
	b := (start + GuardSize + Size - 1) &^ (Size - 1)
	lo, hi := b-GuardSize, b+Size+GuardSize
	if lo > start {
		unix.MunmapPtr(p, lo-start)
	}
	if end := start + reserveSize; end > hi {
		unix.MunmapPtr(unsafe.Add(p, hi-start), end-hi)
	}
	s := &Sandbox{
		cfg:     cfg,
		resv:    unsafe.Add(p, lo-start),
		base:    unsafe.Add(p, b-start),
		b:       uint64(b),
		threads: make(map[*Thread]struct{}),
	}
	s.spin = cfg.Spin
	if s.spin == 0 {
		s.spin = defaultSpin()
	} else if s.spin < 0 {
		s.spin = 0
	}
	if err := s.installTrampolines(); err != nil {
		s.release()
		return nil, err
	}
	s.registerBuiltins()
	return s, nil
}

func reserveError(err error) error {
	msg := fmt.Sprintf("sandbox: reserving %d GiB of address space failed: %v", reserveSize>>30, err)
	if errors.Is(err, unix.ENOMEM) {
		var rl unix.Rlimit
		if unix.Getrlimit(unix.RLIMIT_AS, &rl) == nil && rl.Cur != unix.RLIM_INFINITY {
			msg += fmt.Sprintf(" (the address-space limit `ulimit -v` is %d KiB; each sandbox reserves %d GiB: raise it to unlimited)", rl.Cur>>10, reserveSize>>30)
		} else {
			msg += mapCountHint(err)
		}
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// mapCountHint explains an ENOMEM that comes from vm.max_map_count.
func mapCountHint(err error) string {
	if !errors.Is(err, unix.ENOMEM) {
		return ""
	}
	max := "?"
	if b, e := os.ReadFile("/proc/sys/vm/max_map_count"); e == nil {
		max = strings.TrimSpace(string(b))
	}
	n := 0
	if b, e := os.ReadFile("/proc/self/maps"); e == nil {
		n = strings.Count(string(b), "\n")
	}
	return fmt.Sprintf(" (the process has %d mappings, vm.max_map_count is %s: raise it, or use fewer sandboxes/mappings)", n, max)
}

// Base returns B, the sandbox's base address.
func (s *Sandbox) Base() uint64 { return s.b }

// Close stops every thread, waits for them and releases the whole
// reservation. It is safe to call more than once.
func (s *Sandbox) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.closedA.Store(true)
	s.mu.Unlock()
	s.Stop(ErrClosed)
	s.wg.Wait()
	s.drainParked()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.regions = nil
	s.committed = 0
	return s.release()
}

func (s *Sandbox) release() error {
	if err := unix.MunmapPtr(s.resv, 2*GuardSize+Size); err != nil {
		return fmt.Errorf("sandbox: releasing the reservation at %#x: %w", uintptr(s.resv), err)
	}
	return nil
}

// ptr returns the host pointer of guest address a (which must be inside).
func (s *Sandbox) ptr(a uint64) unsafe.Pointer { return unsafe.Add(s.base, a-s.b) }

// checkRange validates [addr, addr+size) as a page-aligned range inside the
// mappable area and returns it as offsets.
func (s *Sandbox) checkRange(addr, size uint64) (uint64, uint64, error) {
	if addr%pageSize != 0 || size%pageSize != 0 || size == 0 {
		return 0, 0, fmt.Errorf("sandbox: [%#x, +%#x): %w (page-aligned, non-empty)", addr, size, ErrAlign)
	}
	if addr < s.b+UserOffset || addr-s.b > Size || size > Size-(addr-s.b) {
		return 0, 0, fmt.Errorf("sandbox: [%#x, +%#x): %w [%#x, %#x)", addr, size, ErrRange, s.b+UserOffset, s.b+Size)
	}
	return addr - s.b, addr - s.b + size, nil
}

func checkProt(p Prot) error {
	if p&^(ProtRead|ProtWrite|ProtExec) != 0 {
		return fmt.Errorf("sandbox: unknown protection bits %#x", uint8(p))
	}
	if p&ProtWrite != 0 && p&ProtExec != 0 {
		return fmt.Errorf("sandbox: %v: %w", p, ErrWX)
	}
	if p&ProtExec != 0 {
		return fmt.Errorf("sandbox: %v: %w", p, ErrExec)
	}
	return nil
}

// overlapping returns the index range of regions overlapping [lo, hi).
func (s *Sandbox) overlapping(lo, hi uint64) (int, int) {
	i := sort.Search(len(s.regions), func(i int) bool { return s.regions[i].end > lo })
	j := i
	for j < len(s.regions) && s.regions[j].start < hi {
		j++
	}
	return i, j
}

func (s *Sandbox) overlapsCode(lo, hi uint64) bool {
	i, j := s.overlapping(lo, hi)
	for k := i; k < j; k++ {
		if s.regions[k].code {
			return true
		}
	}
	return false
}

// accessible returns the committed bytes in [lo, hi).
func (s *Sandbox) accessible(lo, hi uint64) uint64 {
	var n uint64
	i, j := s.overlapping(lo, hi)
	for k := i; k < j; k++ {
		r := s.regions[k]
		if r.prot != ProtNone {
			n += min(r.end, hi) - max(r.start, lo)
		}
	}
	return n
}

// setRegion records [lo, hi) with prot (or removes it when remove).
func (s *Sandbox) setRegion(lo, hi uint64, prot Prot, code, remove bool) {
	s.committed -= s.accessible(lo, hi)
	i, j := s.overlapping(lo, hi)
	var out []region
	for k := i; k < j; k++ {
		r := s.regions[k]
		if r.start < lo {
			out = append(out, region{r.start, lo, r.prot, r.code})
		}
		if r.end > hi {
			out = append(out, region{hi, r.end, r.prot, r.code})
		}
	}
	if !remove {
		out = append(out, region{lo, hi, prot, code})
		if prot != ProtNone {
			s.committed += hi - lo
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].start < out[b].start })
	s.regions = append(s.regions[:i], append(out, s.regions[j:]...)...)
}

// covered reports whether [lo, hi) is fully mapped with at least need.
func (s *Sandbox) covered(lo, hi uint64, need Prot) bool {
	i, j := s.overlapping(lo, hi)
	at := lo
	for k := i; k < j; k++ {
		r := s.regions[k]
		if r.start > at || r.prot&need != need {
			return false
		}
		at = r.end
	}
	return at >= hi
}

func sysErr(op string, addr, size uint64, errno error) error {
	return fmt.Errorf("sandbox: %s [%#x, +%#x): %w%s", op, addr, size, errno, mapCountHint(errno))
}

func (s *Sandbox) mmapFixed(lo, hi uint64, prot Prot) error {
	flags := uintptr(unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | unix.MAP_FIXED)
	if prot == ProtNone {
		flags |= unix.MAP_NORESERVE
	}
	r, _, errno := unix.Syscall6(unix.SYS_MMAP, uintptr(s.ptr(s.b+lo)), uintptr(hi-lo), prot.unix(), flags, ^uintptr(0), 0)
	if errno != 0 {
		return sysErr("mmap", s.b+lo, hi-lo, errno)
	}
	if r != uintptr(s.ptr(s.b+lo)) {
		return fmt.Errorf("sandbox: mmap [%#x, +%#x) landed at %#x", s.b+lo, hi-lo, r)
	}
	return nil
}

// Map maps fresh zeroed memory at [addr, addr+size) (page-aligned, inside
// [B+128 KiB, B+4 GiB)), replacing any non-code mapping there. prot may not
// include ProtExec: code is installed only by MapCode.
func (s *Sandbox) Map(addr, size uint64, prot Prot) error {
	if err := checkProt(prot); err != nil {
		return err
	}
	lo, hi, err := s.checkRange(addr, size)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return s.mapLocked(lo, hi, prot)
}

func (s *Sandbox) mapLocked(lo, hi uint64, prot Prot) error {
	if s.overlapsCode(lo, hi) {
		return fmt.Errorf("sandbox: map [%#x, %#x): %w", s.b+lo, s.b+hi, ErrCode)
	}
	if prot != ProtNone && s.committed-s.accessible(lo, hi)+(hi-lo) > s.cfg.MaxMemory {
		return fmt.Errorf("sandbox: map [%#x, %#x): %w (%d of %d bytes committed)", s.b+lo, s.b+hi, ErrMemLimit, s.committed, s.cfg.MaxMemory)
	}
	if err := s.mmapFixed(lo, hi, prot); err != nil {
		return err
	}
	s.setRegion(lo, hi, prot, false, false)
	return nil
}

// Unmap returns [addr, addr+size) to the reservation (PROT_NONE, not
// committed). Unmapping code is allowed; the caller must make sure no
// thread still runs it.
func (s *Sandbox) Unmap(addr, size uint64) error {
	lo, hi, err := s.checkRange(addr, size)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	// Code unmapped while threads may still be inside it (preempted in
	// the middle of a bundle) is retired: new code may not be installed
	// there until no thread of this sandbox is alive, or a resumed thread
	// could land inside an instruction of the new code.
	i, j := s.overlapping(lo, hi)
	for k := i; k < j; k++ {
		if r := s.regions[k]; r.code {
			s.retired = append(s.retired, region{start: max(r.start, lo), end: min(r.end, hi)})
		}
	}
	if err := s.mmapFixed(lo, hi, ProtNone); err != nil {
		return err
	}
	s.setRegion(lo, hi, ProtNone, false, true)
	return nil
}

// overlapsRetired reports whether [lo, hi) overlaps code unmapped while
// threads were alive; it forgets retired code once no thread is alive.
func (s *Sandbox) overlapsRetired(lo, hi uint64) bool {
	return retiredEnd(s.liveRetired(), lo, hi) != 0
}

// liveRetired returns the retired code ranges, forgetting them once no
// thread is alive. s.mu must be held for writing.
func (s *Sandbox) liveRetired() []region {
	if len(s.retired) == 0 {
		return nil
	}
	s.tmu.Lock()
	idle := len(s.threads) == 0
	s.tmu.Unlock()
	if idle {
		s.retired = nil
	}
	return s.retired
}

// retiredEnd returns the largest end of the retired ranges overlapping
// [lo, hi), or 0 if none does.
func retiredEnd(retired []region, lo, hi uint64) uint64 {
	var end uint64
	for _, r := range retired {
		if r.start < hi && lo < r.end {
			end = max(end, r.end)
		}
	}
	return end
}

// Protect changes the protection of a fully mapped, non-code range.
func (s *Sandbox) Protect(addr, size uint64, prot Prot) error {
	if err := checkProt(prot); err != nil {
		return err
	}
	lo, hi, err := s.checkRange(addr, size)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.overlapsCode(lo, hi) {
		return fmt.Errorf("sandbox: protect [%#x, %#x): %w", addr, addr+size, ErrCode)
	}
	if !s.covered(lo, hi, ProtNone) {
		return fmt.Errorf("sandbox: protect [%#x, %#x): %w", addr, addr+size, ErrNotMapped)
	}
	if prot != ProtNone && s.committed-s.accessible(lo, hi)+(hi-lo) > s.cfg.MaxMemory {
		return fmt.Errorf("sandbox: protect [%#x, %#x): %w", addr, addr+size, ErrMemLimit)
	}
	if _, _, errno := unix.Syscall(unix.SYS_MPROTECT, uintptr(s.ptr(addr)), uintptr(size), prot.unix()); errno != 0 {
		return sysErr("mprotect", addr, size, errno)
	}
	s.setRegion(lo, hi, prot, false, false)
	return nil
}

// Alloc maps size bytes (rounded up to pages) of fresh memory at a free
// place the runtime picks, aligned to align (a power of two; at least a
// page), and returns its address.
func (s *Sandbox) Alloc(size, align uint64, prot Prot) (uint64, error) {
	if err := checkProt(prot); err != nil {
		return 0, err
	}
	if size == 0 || size > Size {
		return 0, fmt.Errorf("sandbox: alloc %#x bytes: %w", size, ErrRange)
	}
	size = (size + pageSize - 1) &^ (pageSize - 1)
	if align&(align-1) != 0 || align > Size {
		return 0, fmt.Errorf("sandbox: alloc: alignment %#x: %w", align, ErrAlign)
	}
	if align < pageSize {
		align = pageSize
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	// Retired code ranges are skipped too, so that the range returned can
	// take code (MapCode) while the threads that retired them live.
	retired := s.liveRetired()
	at := uint64(UserOffset)
	for _, r := range append(s.regions, region{start: Size, end: Size}) {
		// Each step moves at forward past a retired range, so the loop
		// ends after at most len(retired)+1 steps per region.
		for {
			at = (at + align - 1) &^ (align - 1)
			if r.end <= at || at+size > r.start {
				break
			}
			if e := retiredEnd(retired, at, at+size); e != 0 {
				at = e
				continue
			}
			if err := s.mapLocked(at, at+size, prot); err != nil {
				return 0, err
			}
			return s.b + at, nil
		}
		at = max(at, r.end)
	}
	return 0, fmt.Errorf("sandbox: alloc %#x bytes: %w", size, ErrNoSpace)
}

// MapCode validates a private copy of code as if placed at addr (32-byte
// aligned) and installs it read+execute there. The pages it spans become
// code: bytes of those pages outside [addr, addr+len(code)) are hlt (0xf4),
// any data mapped there is replaced, and overlap with existing code is
// refused. No page is writable and executable at any time.
func (s *Sandbox) MapCode(addr uint64, code []byte) error {
	// The private copy is made and hashed chunk by chunk (each chunk is
	// hashed while still in cache): the bytes hashed are the private
	// copy's, which no one else can write (outside the sandbox, reachable
	// only by this call), and it is made read-only before the verdict is
	// used, so this equals hashing after the protection change.
	return s.mapCode(addr, uint64(len(code)), func(dst []byte, off int) error {
		copy(dst, code[off:])
		return nil
	}, true)
}

// MapCodeFill is MapCode for code that fill writes straight into the
// private copy (saving the caller a buffer and a copy, e.g. reading a
// segment from its file): fill gets the n bytes to fill, in one call,
// and an error it returns is returned wrapped. Whatever fill leaves
// there is what gets validated: the copy is made read-only first, then
// hashed and validated, so a fill that keeps writing after it returns
// faults instead of changing validated code.
func (s *Sandbox) MapCodeFill(addr uint64, n int, fill func(dst []byte) error) error {
	if n < 0 {
		return fmt.Errorf("sandbox: map code at %#x (%d bytes): %w", addr, n, ErrRange)
	}
	return s.mapCode(addr, uint64(n), func(dst []byte, _ int) error { return fill(dst) }, false)
}

// codeChunk is how much MapCode copies before hashing it (fits in L2).
const codeChunk = 64 << 10

// mapCode is MapCode and MapCodeFill: fill writes [off, off+len(dst)) of
// the code into dst; with chunked, in codeChunk pieces hashed as they are
// written, else in one call, hashed once the copy is read-only.
func (s *Sandbox) mapCode(addr, n uint64, fill func(dst []byte, off int) error, chunked bool) error {
	if addr%32 != 0 || n == 0 {
		return fmt.Errorf("sandbox: map code at %#x (%d bytes): %w (32-byte aligned, non-empty)", addr, n, ErrAlign)
	}
	pa := addr &^ (pageSize - 1)
	if n > Size || addr+n < addr {
		return fmt.Errorf("sandbox: map code at %#x (%d bytes): %w", addr, n, ErrRange)
	}
	pe := (addr + n + pageSize - 1) &^ (pageSize - 1)
	lo, hi, err := s.checkRange(pa, pe-pa)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.overlapsCode(lo, hi) {
		return fmt.Errorf("sandbox: map code [%#x, %#x): %w", addr, addr+n, ErrCode)
	}
	if s.overlapsRetired(lo, hi) {
		return fmt.Errorf("sandbox: map code [%#x, %#x): %w (unmapped while threads are alive; reusable once they are gone)", addr, addr+n, ErrRetired)
	}
	if s.committed-s.accessible(lo, hi)+(hi-lo) > s.cfg.MaxMemory {
		return fmt.Errorf("sandbox: map code [%#x, %#x): %w", addr, addr+n, ErrMemLimit)
	}
	// The private copy lives outside the sandbox, where no sandboxed
	// thread can reach it. MAP_POPULATE: one batch of page allocations
	// instead of a fault per page while copying.
	size := uintptr(pe - pa)
	tmp, err := unix.MmapPtr(-1, 0, nil, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
	if err != nil {
		return sysErr("mmap (private copy)", addr, n, err)
	}
	buf := unsafe.Slice((*byte)(tmp), size)
	off := addr - pa
	fillHlt(buf[:off])
	fillHlt(buf[off+n:])
	code := buf[off : off+n]
	var key *cacheKey
	if h := s.cacheHash(pa, len(buf)); h != nil && chunked {
		t0 := time.Now()
		h.Write(buf[:off])
		for i := 0; i < len(code); i += codeChunk {
			c := code[i:min(i+codeChunk, len(code))]
			if err := fill(c, i); err != nil {
				unix.MunmapPtr(tmp, size)
				return fmt.Errorf("sandbox: map code [%#x, %#x): %w", addr, addr+n, err)
			}
			h.Write(c)
		}
		h.Write(buf[off+n:])
		key = new(cacheKey)
		h.Sum(key[:0])
		s.vstats.nanos.Add(int64(time.Since(t0)))
	} else if err := fill(code, 0); err != nil {
		unix.MunmapPtr(tmp, size)
		return fmt.Errorf("sandbox: map code [%#x, %#x): %w", addr, addr+n, err)
	}
	if _, _, errno := unix.Syscall(unix.SYS_MPROTECT, uintptr(tmp), size, unix.PROT_READ); errno != 0 {
		unix.MunmapPtr(tmp, size)
		return sysErr("mprotect (private copy)", addr, n, errno)
	}
	if err := s.validate(buf, pa, key); err != nil {
		unix.MunmapPtr(tmp, size)
		return fmt.Errorf("sandbox: map code [%#x, %#x): validation failed: %w", addr, addr+n, err)
	}
	if err := s.install(tmp, size, lo); err != nil {
		return err
	}
	s.setRegion(lo, hi, ProtRead|ProtExec, true, false)
	return nil
}

// fillHlt fills b with hlt (0xf4).
func fillHlt(b []byte) {
	for i := range b {
		b[i] = 0xf4
	}
}

// install makes the private copy at tmp read+execute and moves it to B+lo.
func (s *Sandbox) install(tmp unsafe.Pointer, size uintptr, lo uint64) error {
	if _, _, errno := unix.Syscall(unix.SYS_MPROTECT, uintptr(tmp), size, unix.PROT_READ|unix.PROT_EXEC); errno != 0 {
		unix.MunmapPtr(tmp, size)
		return sysErr("mprotect r-x (private copy)", s.b+lo, uint64(size), errno)
	}
	dst := uintptr(s.ptr(s.b + lo))
	r, _, errno := unix.Syscall6(unix.SYS_MREMAP, uintptr(tmp), size, size, unix.MREMAP_MAYMOVE|unix.MREMAP_FIXED, dst, 0)
	if errno != 0 || r != dst {
		unix.MunmapPtr(tmp, size)
		return sysErr("mremap (install code)", s.b+lo, uint64(size), errno)
	}
	return nil
}

// Read copies len(dst) bytes from guest address addr; the whole range must
// be mapped readable.
func (s *Sandbox) Read(addr uint64, dst []byte) error {
	return s.copyMem(addr, dst, ProtRead, false)
}

// Write copies src to guest address addr; the whole range must be mapped
// writable (code and trampolines never are).
func (s *Sandbox) Write(addr uint64, src []byte) error {
	return s.copyMem(addr, src, ProtWrite, true)
}

// ErrFault is wrapped by Read/Write/ReadString errors for ranges that are
// outside the sandbox or not mapped with the needed protection.
var ErrFault = errors.New("bad sandbox address")

func (s *Sandbox) copyMem(addr uint64, b []byte, need Prot, write bool) (err error) {
	n := uint64(len(b))
	if addr < s.b || addr-s.b > Size || n > Size-(addr-s.b) {
		return fmt.Errorf("sandbox: [%#x, +%#x): %w: outside [%#x, %#x)", addr, n, ErrFault, s.b, s.b+Size)
	}
	if n == 0 {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	lo := addr - s.b
	if !s.covered(lo, lo+n, need) {
		return fmt.Errorf("sandbox: [%#x, +%#x): %w: not mapped %v", addr, n, ErrFault, need)
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sandbox: [%#x, +%#x): %w: %v", addr, n, ErrFault, r)
		}
	}()
	mem := unsafe.Slice((*byte)(s.ptr(addr)), n)
	if write {
		copy(mem, b)
	} else {
		copy(b, mem)
	}
	return nil
}

// ReadString reads a NUL-terminated string at addr of at most max bytes
// (not counting the NUL); a missing NUL within max is an error.
func (s *Sandbox) ReadString(addr uint64, max int) (string, error) {
	if max < 0 {
		return "", fmt.Errorf("sandbox: read string at %#x: negative limit", addr)
	}
	var sb strings.Builder
	var chunk [256]byte
	at := addr
	for sb.Len() <= max {
		// Stay within one page per step so a string ending just before
		// an unmapped page reads fine.
		k := min(uint64(len(chunk)), pageSize-at%pageSize)
		if err := s.Read(at, chunk[:k]); err != nil {
			return "", err
		}
		for i := uint64(0); i < k; i++ {
			if chunk[i] == 0 {
				if sb.Len()+int(i) > max {
					break
				}
				sb.Write(chunk[:i])
				return sb.String(), nil
			}
		}
		sb.Write(chunk[:k])
		at += k
	}
	return "", fmt.Errorf("sandbox: string at %#x: no NUL within %d bytes", addr, max)
}

// word returns the host pointer of the aligned 32-bit word at addr after
// checking that it is mapped with need.
func (s *Sandbox) word(addr uint64, need Prot) (*atomic.Uint32, error) {
	p, err := s.aligned(addr, 4, "word", need)
	return (*atomic.Uint32)(p), err
}

// word64 is word for an aligned 64-bit word.
func (s *Sandbox) word64(addr uint64, need Prot) (*atomic.Uint64, error) {
	p, err := s.aligned(addr, 8, "8-byte word", need)
	return (*atomic.Uint64)(p), err
}

// aligned returns the host pointer of the n-byte (a power of two),
// n-aligned location at addr after checking that it lies in the sandbox
// and is mapped with need; what names it in errors.
func (s *Sandbox) aligned(addr, n uint64, what string, need Prot) (unsafe.Pointer, error) {
	if addr%n != 0 || addr < s.b || addr-s.b > Size-n {
		return nil, fmt.Errorf("sandbox: %s at %#x: %w (%d-byte aligned, inside the sandbox)", what, addr, ErrFault, n)
	}
	if !s.covered(addr-s.b, addr-s.b+n, need) {
		return nil, fmt.Errorf("sandbox: %s at %#x: %w: not mapped %v", what, addr, ErrFault, need)
	}
	return s.ptr(addr), nil
}

// LoadUint32 atomically loads the 32-bit word at addr (4-byte aligned,
// mapped readable), e.g. for futex waits.
func (s *Sandbox) LoadUint32(addr uint64) (uint32, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, ErrClosed
	}
	w, err := s.word(addr, ProtRead)
	if err != nil {
		return 0, err
	}
	return w.Load(), nil
}

// StoreUint32 atomically stores v at addr (4-byte aligned, mapped writable).
func (s *Sandbox) StoreUint32(addr uint64, v uint32) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	w, err := s.word(addr, ProtRead|ProtWrite)
	if err != nil {
		return err
	}
	w.Store(v)
	return nil
}

// LoadUint64 atomically loads the 64-bit word at addr (8-byte aligned,
// mapped readable).
func (s *Sandbox) LoadUint64(addr uint64) (uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, ErrClosed
	}
	w, err := s.word64(addr, ProtRead)
	if err != nil {
		return 0, err
	}
	return w.Load(), nil
}

// StoreUint64 atomically stores v at addr (8-byte aligned, mapped
// writable): sandboxed threads see the old or the new word, never a mix.
func (s *Sandbox) StoreUint64(addr uint64, v uint64) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	w, err := s.word64(addr, ProtRead|ProtWrite)
	if err != nil {
		return err
	}
	w.Store(v)
	return nil
}

// CompareAndSwapUint32 atomically replaces old with new at addr (4-byte
// aligned, mapped writable) and reports whether it did.
func (s *Sandbox) CompareAndSwapUint32(addr uint64, old, new uint32) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return false, ErrClosed
	}
	w, err := s.word(addr, ProtRead|ProtWrite)
	if err != nil {
		return false, err
	}
	return w.CompareAndSwap(old, new), nil
}
