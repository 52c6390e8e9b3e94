package pthread

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sync"
)

// Config sizes the TLS layout of every thread of one sandbox. The zero value
// of each field selects its default.
type Config struct {
	// TCBReserved is the number of bytes reserved after the self and DTV
	// words at the thread pointer, for a C library's own thread structure.
	// Default 0 (no C library port yet); rounded up to 16.
	TCBReserved uint64
	// StaticSurplus is the number of bytes of static TLS reserved in every
	// thread beyond the modules present when the first thread starts, for
	// initial-exec modules loaded later. Default 1664 bytes, glibc's
	// default surplus (glibc 2.36 elf/dl-tls.c with its default tunables:
	// 3×192 for other namespaces' libc, 4×144 for other initial-exec
	// libraries, 512 optional), so that a module glibc refuses with
	// "cannot allocate memory in static TLS block" is refused here too.
	// Pages of it are committed only when a module is placed there.
	StaticSurplus uint64
	// MaxStaticAlign is the alignment of the thread pointer and so the
	// largest alignment a static TLS block may have. Default 4 KiB; must
	// be a power of two between 16 and 1 MiB.
	MaxStaticAlign uint64
	// MaxAlign is the largest alignment of any TLS block (dynamic blocks
	// may exceed MaxStaticAlign). Default 64 KiB.
	MaxAlign uint64
	// MaxModules bounds module ids (1..MaxModules). Default 4096.
	MaxModules int
	// MaxBlockSize bounds one module's TLS size (p_memsz). Default 256 MiB.
	MaxBlockSize uint64
}

const (
	defaultSurplus      = 1664
	defaultStaticAlign  = 4 << 10
	defaultMaxAlign     = 64 << 10
	defaultMaxModules   = 4096
	defaultMaxBlockSize = 256 << 20
	tcbFixed            = 16 // self pointer + DTV pointer
	minDTVSlots         = 16
)

func (c Config) withDefaults() (Config, error) {
	if c.StaticSurplus == 0 {
		c.StaticSurplus = defaultSurplus
	}
	if c.MaxStaticAlign == 0 {
		c.MaxStaticAlign = defaultStaticAlign
	}
	if c.MaxAlign == 0 {
		c.MaxAlign = defaultMaxAlign
	}
	if c.MaxModules == 0 {
		c.MaxModules = defaultMaxModules
	}
	if c.MaxBlockSize == 0 {
		c.MaxBlockSize = defaultMaxBlockSize
	}
	switch {
	case !isPow2(c.MaxStaticAlign) || c.MaxStaticAlign < 16 || c.MaxStaticAlign > 1<<20:
		return c, fmt.Errorf("pthread: Config.MaxStaticAlign %d is not a power of two in [16, 1 MiB]", c.MaxStaticAlign)
	case !isPow2(c.MaxAlign) || c.MaxAlign < c.MaxStaticAlign || c.MaxAlign > 1<<30:
		return c, fmt.Errorf("pthread: Config.MaxAlign %d is not a power of two in [MaxStaticAlign, 1 GiB]", c.MaxAlign)
	case c.MaxModules < 1 || c.MaxModules > 1<<20:
		return c, fmt.Errorf("pthread: Config.MaxModules %d is outside [1, 1<<20]", c.MaxModules)
	case c.TCBReserved > 1<<20:
		return c, fmt.Errorf("pthread: Config.TCBReserved %d is larger than 1 MiB", c.TCBReserved)
	case c.StaticSurplus > 1<<30:
		return c, fmt.Errorf("pthread: Config.StaticSurplus %d is larger than 1 GiB", c.StaticSurplus)
	case c.MaxBlockSize > 1<<32:
		return c, fmt.Errorf("pthread: Config.MaxBlockSize %d is larger than 4 GiB", c.MaxBlockSize)
	}
	c.TCBReserved = alignUp(c.TCBReserved, 16)
	return c, nil
}

// Template is one module's TLS initialisation image: the PT_TLS segment
// (elfload.TLS carries the same fields).
type Template struct {
	// Init is the tdata image (p_filesz bytes), copied into every block.
	Init []byte
	// Memsz is the block size (p_memsz): tdata followed by the zeroed tbss.
	Memsz uint64
	// Align is p_align (0 and 1 mean unaligned).
	Align uint64
	// Vaddr is p_vaddr: a block starts at an address congruent to Vaddr
	// modulo Align, as the linker assumed.
	Vaddr uint64
}

// Module is one module's registration with the TLS runtime.
type Module struct {
	name   string
	id     int
	tmpl   Template
	align  uint64
	static bool
	// offset: the static block starts at TP - offset (static modules only).
	offset uint64
	loaded bool
}

// Name is the name given to Load (used in errors).
func (m *Module) Name() string { return m.name }

// ID is the module id (the value of DTPMOD64 relocations), from 1.
func (m *Module) ID() int { return m.id }

// Static reports whether the module's block lives in the static TLS area at
// a fixed offset from the thread pointer.
func (m *Module) Static() bool { return m.static }

// TPOffset is the offset of the module's block from the thread pointer
// (negative; the value TPOFF64 relocations add to the symbol's offset in
// the block). ok is false for modules without a static block.
func (m *Module) TPOffset() (off int64, ok bool) {
	if !m.static {
		return 0, false
	}
	return -int64(m.offset), true
}

// Template returns the module's TLS template.
func (m *Module) Template() Template { return m.tmpl }

// StaticTLSError reports an initial-exec module that does not fit in the
// static TLS area that every running thread already has.
type StaticTLSError struct {
	Module      string // the module's name
	Size, Align uint64 // its p_memsz and p_align
	Used        uint64 // bytes of the static area already in use
	Needed      uint64 // bytes of static area in use with this module placed
	Available   uint64 // static bytes modules may use: those at the first thread plus Config.StaticSurplus
}

func (e *StaticTLSError) Error() string {
	return fmt.Sprintf("pthread: cannot allocate memory in static TLS block for module %q: it needs %d bytes (align %d), the static TLS area has %d of %d bytes in use (%d would be needed); raise Config.StaticSurplus",
		e.Module, e.Size, e.Align, e.Used, e.Available, e.Needed)
}

// ErrTooManyModules is returned by Load when every module id is in use.
var ErrTooManyModules = errors.New("pthread: too many TLS modules")

// TLS is the TLS runtime of one sandbox: its modules and its threads' TLS
// areas. All methods are safe for concurrent use.
type TLS struct {
	mu  sync.Mutex
	mem Memory
	cfg Config

	modules []*Module // index = id; [0] unused
	gen     uint64    // bumped on every Load and Unload

	staticUsed uint64 // end (largest offset) of the static blocks placed so far
	staticSize uint64 // fixed when the first thread is created; 0 before
	// staticLimit is the largest static offset a later module may reach:
	// the static modules present at the first thread plus the surplus, as
	// glibc counts it (staticSize is larger, rounded up to MaxStaticAlign
	// for the thread pointer's alignment; that slack is not handed out).
	staticLimit uint64
	threads     map[*ThreadTLS]struct{}
	tcbSize     uint64

	// cache keeps freed thread areas, DTVs and blocks for reuse, by
	// (size, align), at most maxCached of each: thread create+join then
	// costs no mmap/munmap. Reused memory is not zero; everything the
	// runtime promises (TCB words, reserved area, images, tbss, DTV) is
	// rewritten.
	cache map[[2]uint64][]uint64
}

const maxCached = 32

// alloc takes memory from the cache or from mem; r.mu is held.
func (r *TLS) alloc(size, align uint64) (addr uint64, reused bool, err error) {
	k := [2]uint64{size, align}
	if c := r.cache[k]; len(c) > 0 {
		addr = c[len(c)-1]
		r.cache[k] = c[:len(c)-1]
		return addr, true, nil
	}
	addr, err = r.mem.Alloc(size, align)
	return addr, false, err
}

// free returns memory to the cache or to mem; r.mu is held.
func (r *TLS) free(addr, size, align uint64) error {
	k := [2]uint64{size, align}
	if c := r.cache[k]; len(c) < maxCached {
		r.cache[k] = append(c, addr)
		return nil
	}
	return r.mem.Free(addr, size)
}

// Trim releases the memory kept for reuse.
func (r *TLS) Trim() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for k, c := range r.cache {
		for _, a := range c {
			errs = append(errs, r.mem.Free(a, k[0]))
		}
	}
	clear(r.cache)
	return errors.Join(errs...)
}

// NewTLS returns an empty TLS runtime that allocates from mem.
func NewTLS(mem Memory, cfg Config) (*TLS, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &TLS{
		mem:     mem,
		cfg:     c,
		modules: []*Module{nil},
		threads: map[*ThreadTLS]struct{}{},
		tcbSize: tcbFixed + c.TCBReserved,
		cache:   map[[2]uint64][]uint64{},
	}, nil
}

// Config returns the effective configuration (defaults filled in).
func (r *TLS) Config() Config { return r.cfg }

// Generation is the number of Load and Unload calls so far; every thread's
// dtv[0] holds it once the change has been applied to that thread.
func (r *TLS) Generation() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gen
}

// StaticSize is the size of every thread's static TLS area, or 0 while no
// thread has been created (the area is sized then: the static modules
// loaded so far plus Config.StaticSurplus).
func (r *TLS) StaticSize() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.staticSize
}

// Load registers a module with TLS template t and gives it the lowest free
// module id. With static set (the module is present at startup or uses the
// initial-exec model) its block gets a fixed offset from the thread pointer:
// before the first thread starts it extends the static area, afterwards it
// must fit in the surplus, or Load returns a *StaticTLSError. The module's
// block is allocated and initialised in every existing thread before Load
// returns; on any error nothing has changed.
func (r *TLS) Load(name string, t Template, static bool) (*Module, error) {
	align := t.Align
	if align == 0 {
		align = 1
	}
	switch {
	case !isPow2(align):
		return nil, fmt.Errorf("pthread: module %q: TLS alignment %d is not a power of two", name, t.Align)
	case align > r.cfg.MaxAlign:
		return nil, fmt.Errorf("pthread: module %q: TLS alignment %d exceeds the limit %d", name, align, r.cfg.MaxAlign)
	case static && align > r.cfg.MaxStaticAlign:
		return nil, fmt.Errorf("pthread: module %q: static TLS alignment %d exceeds the thread pointer's alignment %d (Config.MaxStaticAlign)", name, align, r.cfg.MaxStaticAlign)
	case uint64(len(t.Init)) > t.Memsz:
		return nil, fmt.Errorf("pthread: module %q: TLS image of %d bytes is larger than its memory size %d", name, len(t.Init), t.Memsz)
	case t.Memsz > r.cfg.MaxBlockSize:
		return nil, fmt.Errorf("pthread: module %q: TLS size %d exceeds the limit %d", name, t.Memsz, r.cfg.MaxBlockSize)
	}
	m := &Module{name: name, tmpl: t, align: align, static: static}
	m.tmpl.Init = append([]byte(nil), t.Init...)

	r.mu.Lock()
	defer r.mu.Unlock()

	id := 0
	for i := 1; i < len(r.modules); i++ {
		if r.modules[i] == nil {
			id = i
			break
		}
	}
	if id == 0 {
		if len(r.modules)-1 >= r.cfg.MaxModules {
			return nil, fmt.Errorf("%w: module %q: all %d ids in use", ErrTooManyModules, name, r.cfg.MaxModules)
		}
		id = len(r.modules)
	}
	m.id = id

	newStaticUsed := r.staticUsed
	if static {
		off := staticOffset(r.staticUsed, t.Memsz, align, t.Vaddr)
		if r.staticSize != 0 && off > r.staticLimit {
			return nil, &StaticTLSError{Module: name, Size: t.Memsz, Align: align,
				Used: r.staticUsed, Needed: off, Available: r.staticLimit}
		}
		if off > 1<<32 {
			return nil, fmt.Errorf("pthread: module %q: static TLS would need %d bytes", name, off)
		}
		m.offset = off
		newStaticUsed = off
	}

	// Give every existing thread its block; undo on failure.
	done := make([]*ThreadTLS, 0, len(r.threads))
	var err error
	for th := range r.threads {
		if err = th.addModule(r, m, r.gen+1); err != nil {
			err = fmt.Errorf("pthread: module %q: thread TLS at %#x: %w", name, th.tp, err)
			break
		}
		done = append(done, th)
	}
	if err != nil {
		for _, th := range done {
			th.removeModule(r, m, r.gen)
		}
		return nil, err
	}
	if id == len(r.modules) {
		r.modules = append(r.modules, m)
	} else {
		r.modules[id] = m
	}
	r.staticUsed = newStaticUsed
	r.gen++
	m.loaded = true
	return m, nil
}

// Unload releases m's id (a later Load may reuse it) and frees its dynamic
// blocks in every thread. The space of a static block is not reused.
func (r *TLS) Unload(m *Module) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m == nil || !m.loaded || m.id >= len(r.modules) || r.modules[m.id] != m {
		return fmt.Errorf("pthread: Unload of a module that is not loaded")
	}
	r.gen++
	var first error
	for th := range r.threads {
		if err := th.removeModule(r, m, r.gen); err != nil && first == nil {
			first = fmt.Errorf("pthread: unload of module %q: thread TLS at %#x: %w", m.name, th.tp, err)
		}
	}
	r.modules[m.id] = nil
	for len(r.modules) > 1 && r.modules[len(r.modules)-1] == nil {
		r.modules = r.modules[:len(r.modules)-1]
	}
	m.loaded = false
	return first
}

// Modules returns the loaded modules in id order.
func (r *TLS) Modules() []*Module {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*Module
	for _, m := range r.modules {
		if m != nil {
			out = append(out, m)
		}
	}
	return out
}

// staticOffset places a block of size memsz and alignment align below the
// blocks that end at offset used from the thread pointer. It returns the
// smallest offset off >= used+memsz such that TP-off is congruent to vaddr
// modulo align (TP itself is a multiple of align). With vaddr a multiple of
// align this is the psABI's roundup(used+memsz, align).
func staticOffset(used, memsz, align, vaddr uint64) uint64 {
	need := used + memsz
	want := (align - vaddr%align) % align // off ≡ -vaddr (mod align)
	off := need - need%align + want
	if off < need {
		off += align
	}
	return off
}

// ThreadTLS is one thread's TCB, static TLS area and DTV in sandbox memory.
type ThreadTLS struct {
	base, size uint64 // the allocation holding static area and TCB
	tp         uint64

	dtv     uint64 // address of dtv[0]
	dtvCap  int    // slots 1..dtvCap
	oldDTVs []span // replaced DTVs, freed with the thread

	blocks map[int]span // dynamic blocks by module id
	freed  bool
}

type span struct{ addr, size, align uint64 }

// TP is the thread pointer: the value for %fs, the address of the TCB.
func (t *ThreadTLS) TP() uint64 { return t.tp }

// DTV is the address of the thread's current dtv[0].
func (t *ThreadTLS) DTV() uint64 { return t.dtv }

// NewThread allocates and initialises the TCB, static TLS area and DTV of a
// new thread. The first call fixes the size of the static area for the
// lifetime of the runtime.
func (r *TLS) NewThread() (*ThreadTLS, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.staticSize == 0 {
		r.staticLimit = r.staticUsed + r.cfg.StaticSurplus
		r.staticSize = alignUp(r.staticLimit, r.cfg.MaxStaticAlign)
		if r.staticSize == 0 {
			r.staticSize = r.cfg.MaxStaticAlign
		}
	}
	size := r.staticSize + alignUp(r.tcbSize, 16)
	base, reused, err := r.alloc(size, r.cfg.MaxStaticAlign)
	if err != nil {
		return nil, fmt.Errorf("pthread: allocating %d bytes of thread TLS: %w", size, err)
	}
	t := &ThreadTLS{base: base, size: size, tp: base + r.staticSize, blocks: map[int]span{}}
	if reused && r.cfg.TCBReserved > 0 {
		// The reserved TCB area starts zeroed, as in a fresh mapping.
		if err = writeImage(r.mem, t.tp+tcbFixed, Template{Memsz: r.cfg.TCBReserved}); err != nil {
			err = fmt.Errorf("pthread: clearing the TCB at %#x: %w", t.tp, err)
		}
	}
	if err == nil {
		err = t.init(r)
	}
	if err != nil {
		t.release(r)
		return nil, err
	}
	r.threads[t] = struct{}{}
	return t, nil
}

func (t *ThreadTLS) init(r *TLS) error {
	var w [16]byte
	binary.LittleEndian.PutUint64(w[0:], t.tp)
	// DTV first, so that the TCB's pointer is valid when written.
	if err := t.growDTV(r, len(r.modules)-1, r.gen); err != nil {
		return err
	}
	binary.LittleEndian.PutUint64(w[8:], t.dtv)
	if err := r.mem.Write(t.tp, w[:]); err != nil {
		return fmt.Errorf("pthread: writing TCB at %#x: %w", t.tp, err)
	}
	for _, m := range r.modules {
		if m == nil {
			continue
		}
		if err := t.addModule(r, m, r.gen); err != nil {
			return fmt.Errorf("pthread: module %q: %w", m.name, err)
		}
	}
	return nil
}

// growDTV makes sure the DTV has a slot for module id want, replacing it by
// a larger copy if needed.
func (t *ThreadTLS) growDTV(r *TLS, want int, gen uint64) error {
	if t.dtv != 0 && want <= t.dtvCap {
		return nil
	}
	slots := minDTVSlots
	for slots < want {
		slots *= 2
	}
	if slots > r.cfg.MaxModules {
		slots = max(r.cfg.MaxModules, want)
	}
	size := uint64(slots+2) * 8
	addr, _, err := r.alloc(size, 16)
	if err != nil {
		return fmt.Errorf("allocating a DTV of %d slots: %w", slots, err)
	}
	buf := make([]byte, size)
	binary.LittleEndian.PutUint64(buf[0:], uint64(slots))
	if t.dtv != 0 {
		old := make([]byte, uint64(t.dtvCap+1)*8)
		if err := r.mem.Read(t.dtv, old); err != nil {
			_ = r.free(addr, size, 16)
			return fmt.Errorf("reading the DTV at %#x: %w", t.dtv, err)
		}
		copy(buf[8:], old)
	}
	binary.LittleEndian.PutUint64(buf[8:], gen)
	if err := r.mem.Write(addr, buf); err != nil {
		_ = r.free(addr, size, 16)
		return fmt.Errorf("writing the DTV at %#x: %w", addr, err)
	}
	if t.dtv != 0 {
		if err := r.mem.StoreUint64(t.tp+8, addr+8); err != nil {
			_ = r.free(addr, size, 16)
			return fmt.Errorf("installing the DTV in the TCB at %#x: %w", t.tp, err)
		}
		t.oldDTVs = append(t.oldDTVs, span{t.dtv - 8, uint64(t.dtvCap+2) * 8, 16})
	}
	t.dtv, t.dtvCap = addr+8, slots
	return nil
}

// addModule gives t its block of m (the static block, or a newly allocated
// dynamic one), initialised from the template, and points dtv[id] at it.
func (t *ThreadTLS) addModule(r *TLS, m *Module, gen uint64) error {
	if err := t.growDTV(r, m.id, gen); err != nil {
		return err
	}
	var block uint64
	if m.static {
		block = t.tp - m.offset
	} else {
		// Over-allocate by align-1 when the block must start at an
		// address congruent to a non-zero Vaddr modulo align.
		mis := m.tmpl.Vaddr % m.align
		size := m.tmpl.Memsz + mis
		if size == 0 {
			size = 1
		}
		a, _, err := r.alloc(size, m.align)
		if err != nil {
			return fmt.Errorf("allocating a TLS block of %d bytes (align %d): %w", m.tmpl.Memsz, m.align, err)
		}
		t.blocks[m.id] = span{a, size, m.align}
		block = a + mis
	}
	if err := writeImage(r.mem, block, m.tmpl); err != nil {
		t.dropBlock(r, m.id)
		return err
	}
	if err := r.mem.StoreUint64(t.dtv+uint64(m.id)*8, block); err != nil {
		t.dropBlock(r, m.id)
		return fmt.Errorf("writing dtv[%d]: %w", m.id, err)
	}
	if err := r.mem.StoreUint64(t.dtv, gen); err != nil {
		return fmt.Errorf("writing the DTV generation: %w", err)
	}
	return nil
}

func (t *ThreadTLS) dropBlock(r *TLS, id int) {
	if b, ok := t.blocks[id]; ok {
		_ = r.free(b.addr, b.size, b.align)
		delete(t.blocks, id)
	}
}

// removeModule clears dtv[id] and frees the dynamic block.
func (t *ThreadTLS) removeModule(r *TLS, m *Module, gen uint64) error {
	var err error
	if m.id <= t.dtvCap {
		err = r.mem.StoreUint64(t.dtv+uint64(m.id)*8, 0)
		if err2 := r.mem.StoreUint64(t.dtv, gen); err == nil {
			err = err2
		}
	}
	t.dropBlock(r, m.id)
	return err
}

// zeros is a read-only source for tbss.
var zeros [4096]byte

// writeImage copies the tdata image to block and zeroes the tbss after it.
func writeImage(mem Memory, block uint64, t Template) error {
	if len(t.Init) > 0 {
		if err := mem.Write(block, t.Init); err != nil {
			return fmt.Errorf("writing %d bytes of tdata at %#x: %w", len(t.Init), block, err)
		}
	}
	for off := uint64(len(t.Init)); off < t.Memsz; {
		n := min(t.Memsz-off, uint64(len(zeros)))
		if err := mem.Write(block+off, zeros[:n]); err != nil {
			return fmt.Errorf("zeroing tbss at %#x: %w", block+off, err)
		}
		off += n
	}
	return nil
}

// Block returns the address of module m's block in thread t (what dlsym of
// a TLS symbol adds the symbol's offset to), or 0 if m is not loaded.
func (r *TLS) Block(t *ThreadTLS, m *Module) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t.freed || m == nil || !m.loaded || r.modules[m.id] != m {
		return 0
	}
	if m.static {
		return t.tp - m.offset
	}
	if b, ok := t.blocks[m.id]; ok {
		return b.addr + m.tmpl.Vaddr%m.align
	}
	return 0
}

// FreeThread releases everything NewThread and Load allocated for t. Call
// it only once the thread can no longer run.
func (r *TLS) FreeThread(t *ThreadTLS) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t.freed {
		return fmt.Errorf("pthread: thread TLS at %#x freed twice", t.tp)
	}
	delete(r.threads, t)
	return t.release(r)
}

func (t *ThreadTLS) release(r *TLS) error {
	t.freed = true
	var errs []error
	for id := range t.blocks {
		b := t.blocks[id]
		errs = append(errs, r.free(b.addr, b.size, b.align))
	}
	t.blocks = nil
	for _, d := range t.oldDTVs {
		errs = append(errs, r.free(d.addr, d.size, d.align))
	}
	t.oldDTVs = nil
	if t.dtv != 0 {
		errs = append(errs, r.free(t.dtv-8, uint64(t.dtvCap+2)*8, 16))
	}
	errs = append(errs, r.free(t.base, t.size, r.cfg.MaxStaticAlign))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pthread: freeing thread TLS at %#x: %w", t.tp, err)
	}
	return nil
}

func isPow2(x uint64) bool { return x != 0 && bits.OnesCount64(x) == 1 }

// alignUp rounds x up to a multiple of the power of two a.
func alignUp(x, a uint64) uint64 { return (x + a - 1) &^ (a - 1) }
