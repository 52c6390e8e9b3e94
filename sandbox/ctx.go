package sandbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/cpu"
	"golang.org/x/sys/unix"
)

// Trusted per-thread context layout; must match ctx_amd64.h.
const (
	ctxSelf      = 0
	ctxBase      = 8
	ctxStub      = 16
	ctxEntry     = 24
	ctxState     = 32
	ctxThrSleep  = 36
	ctxGoSleep   = 40
	ctxAction    = 44
	ctxTID       = 48
	ctxSetupStep = 52
	ctxNR        = 56
	ctxArgs      = 64
	ctxResult    = 112
	ctxSigStk    = 120
	ctxMask      = 144
	ctxProg      = 152
	ctxInit      = 160
	ctxSpin      = 208
	ctxAVX       = 212
	ctxSigno     = 216
	ctxCode      = 224
	ctxAddr      = 232
	ctxSysNR     = 240
	ctxForged    = 248
	ctxGregs     = 256
	ctxSetupRC   = 448
	ctxRetStub   = 456
	ctxGo        = 464 // uint32: a parked thread's order: 1 resume, 2 exit
	ctxMXCSR     = 468 // uint32: MXCSR loaded on entry
	ctxGen       = 472 // the current start's generation
	ctxKillGen   = 480 // the start a stop signal is meant for
	ctxFS        = 488 // thread pointer set on resume
	ctxSP        = 496 // stack pointer set on resume
	ctxSize      = 504 // bytes in use

	stateIdle      = 0
	stateReq       = 1
	stateReply     = 2
	stateFault     = 3
	stateKilled    = 4
	stateSetupFail = 5
	stateParked    = 6

	// Each raw thread owns one slot of the process-wide signal-stack area:
	// [0, 4 KiB) context, [4 KiB, 8 KiB) guard, [8 KiB, 64 KiB) signal stack.
	slotSize    = 64 << 10
	slotCtxSize = 4 << 10
	slotStack   = 8 << 10
	// MaxProcessThreads bounds the raw threads alive at once in the process
	// (all sandboxes together).
	MaxProcessThreads = 4096

	// StopSignal is the real-time signal the runtime sends (tgkill) to stop
	// a raw thread; it is unblocked only on raw threads.
	StopSignal = unix.Signal(63)
)

// The front handler reads these (set once, before it is installed).
var (
	sigAreaStart uintptr
	sigAreaSize  uintptr
	goHandlers   [65]uintptr
)

// Entry points inside rawcode (decoded from its jump table).
var raw struct {
	child, stub, handler, restorer, exit, ret, end uintptr
}

var global struct {
	once   sync.Once
	err    error
	area   unsafe.Pointer
	prog   unsafe.Pointer // sock_fprog followed by the filter
	mu     sync.Mutex
	free   []int
	next   int
	inited []bool
	live   int
}

func rawcodePtr() unsafe.Pointer
func rawClone(flags, stack, tidptr, tls, ctx, entry uintptr) int64
func rawcode()

// decodeJump returns the target of the JMP (EB rel8 or E9 rel32) at p.
func decodeJump(p unsafe.Pointer) (uintptr, error) {
	b := unsafe.Slice((*byte)(p), 5)
	switch b[0] {
	case 0xeb:
		return uintptr(p) + 2 + uintptr(int64(int8(b[1]))), nil
	case 0xe9:
		return uintptr(p) + 5 + uintptr(int64(int32(binary.LittleEndian.Uint32(b[1:])))), nil
	}
	return 0, fmt.Errorf("sandbox: rawcode entry table: unexpected opcode %#x at %#x", b[0], uintptr(p))
}

func globalInit() error {
	global.once.Do(func() { global.err = doGlobalInit() })
	return global.err
}

func doGlobalInit() error {
	p := rawcodePtr()
	var e [7]uintptr
	for i := range e {
		t, err := decodeJump(unsafe.Add(p, 16*i))
		if err != nil {
			return err
		}
		e[i] = t
	}
	raw.child, raw.stub, raw.handler, raw.restorer, raw.exit, raw.ret, raw.end = e[0], e[1], e[2], e[3], e[4], e[5], e[6]
	start := uintptr(p)
	for _, a := range e {
		if a <= start || a > raw.end {
			return errors.New("sandbox: rawcode entry table is out of order")
		}
	}
	if start>>32 != raw.end>>32 {
		return errors.New("sandbox: rawcode straddles a 4 GiB boundary")
	}

	// The signal-stack area: reserved once for the process.
	area, err := unix.MmapPtr(-1, 0, nil, MaxProcessThreads*slotSize, unix.PROT_NONE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return fmt.Errorf("sandbox: reserving the signal-stack area (%d MiB): %w", MaxProcessThreads*slotSize>>20, err)
	}
	global.area = area
	global.inited = make([]bool, MaxProcessThreads)

	// The seccomp filter for raw threads.
	prog, err := unix.MmapPtr(-1, 0, nil, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return fmt.Errorf("sandbox: mapping the seccomp filter: %w", err)
	}
	filter := seccompFilter(uint64(start), uint64(raw.end))
	buf := unsafe.Slice((*byte)(prog), 4096)
	binary.LittleEndian.PutUint16(buf[0:], uint16(len(filter)))
	binary.LittleEndian.PutUint64(buf[8:], uint64(uintptr(prog))+16)
	for i, f := range filter {
		o := 16 + 8*i
		binary.LittleEndian.PutUint16(buf[o:], f.code)
		buf[o+2], buf[o+3] = f.jt, f.jf
		binary.LittleEndian.PutUint32(buf[o+4:], f.k)
	}
	if _, _, errno := unix.Syscall(unix.SYS_MPROTECT, uintptr(prog), 4096, unix.PROT_READ); errno != 0 {
		return fmt.Errorf("sandbox: protecting the seccomp filter: %w", errno)
	}
	global.prog = prog

	sigAreaStart = uintptr(area)
	sigAreaSize = MaxProcessThreads * slotSize
	return installFrontHandler()
}

type sockFilter struct {
	code   uint16
	jt, jf uint8
	k      uint32
}

// seccompFilter allows futex, exit, rt_sigreturn and arch_prctl, and only
// from the instruction range [lo, hi) of rawcode; everything else traps
// (SIGSYS, reported as a fault).
func seccompFilter(lo, hi uint64) []sockFilter {
	const (
		ldAbs  = 0x20
		jeq    = 0x15
		jge    = 0x35
		ret    = 0x06
		allow  = 0x7fff0000
		trap   = 0x00030000
		archX8 = 0xc000003e
	)
	// Indexes: 13 = trap, 14 = allow.
	return []sockFilter{
		{ldAbs, 0, 0, 4},                   // 0 arch
		{jeq, 0, 11, archX8},               // 1 -> 13
		{ldAbs, 0, 0, 12},                  // 2 ip high
		{jeq, 0, 9, uint32(lo >> 32)},      // 3 -> 13
		{ldAbs, 0, 0, 8},                   // 4 ip low
		{jge, 0, 7, uint32(lo)},            // 5 -> 13
		{jge, 6, 0, uint32(hi)},            // 6 -> 13
		{ldAbs, 0, 0, 0},                   // 7 nr
		{jeq, 5, 0, unix.SYS_FUTEX},        // 8 -> 14
		{jeq, 4, 0, unix.SYS_EXIT},         // 9 -> 14
		{jeq, 3, 0, unix.SYS_RT_SIGRETURN}, // 10 -> 14
		{jeq, 2, 0, unix.SYS_ARCH_PRCTL},   // 11 -> 14
		{ldAbs, 0, 0, 0},                   // 12 (filler)
		{ret, 0, 0, trap},                  // 13
		{ret, 0, 0, allow},                 // 14
	}
}

// kernel struct sigaction on x86-64.
type sigactiont struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

var frontSignals = []unix.Signal{unix.SIGSEGV, unix.SIGBUS, unix.SIGILL, unix.SIGFPE, unix.SIGTRAP, unix.SIGSYS, StopSignal}

func installFrontHandler() error {
	for _, sig := range frontSignals {
		var old sigactiont
		if _, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), 0, uintptr(unsafe.Pointer(&old)), 8, 0, 0); errno != 0 {
			return fmt.Errorf("sandbox: reading the %v handler: %w", sig, errno)
		}
		goHandlers[sig] = old.handler
	}
	for _, sig := range frontSignals {
		var old sigactiont
		unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), 0, uintptr(unsafe.Pointer(&old)), 8, 0, 0)
		nw := sigactiont{
			handler:  raw.handler,
			flags:    old.flags | saSiginfo | saOnstack | saRestorer,
			restorer: raw.restorer,
			mask:     old.mask,
		}
		if old.handler <= 1 {
			nw.flags = saSiginfo | saOnstack | saRestorer | saRestart
			nw.mask = ^uint64(0)
		}
		if _, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&nw)), 0, 8, 0, 0); errno != 0 {
			return fmt.Errorf("sandbox: installing the front handler for %v: %w", sig, errno)
		}
	}
	return nil
}

const (
	saSiginfo  = 0x4
	saOnstack  = 0x08000000
	saRestart  = 0x10000000
	saRestorer = 0x04000000
)

// slot is one raw thread's trusted memory.
type slot struct {
	idx int
	ctx unsafe.Pointer
}

func allocSlot() (slot, error) {
	global.mu.Lock()
	defer global.mu.Unlock()
	var i int
	switch {
	case len(global.free) > 0:
		i = global.free[len(global.free)-1]
		global.free = global.free[:len(global.free)-1]
	case global.next < MaxProcessThreads:
		i = global.next
		global.next++
	default:
		return slot{}, fmt.Errorf("sandbox: %d raw threads already alive in this process (MaxProcessThreads)", MaxProcessThreads)
	}
	p := unsafe.Add(global.area, i*slotSize)
	if !global.inited[i] {
		for _, r := range [][2]uintptr{{0, slotCtxSize}, {slotStack, slotSize - slotStack}} {
			if _, _, errno := unix.Syscall(unix.SYS_MPROTECT, uintptr(p)+r[0], r[1], unix.PROT_READ|unix.PROT_WRITE); errno != 0 {
				global.free = append(global.free, i)
				return slot{}, fmt.Errorf("sandbox: committing thread slot %d: %w%s", i, errno, mapCountHint(errno))
			}
		}
		global.inited[i] = true
	}
	global.live++
	return slot{idx: i, ctx: p}, nil
}

func freeSlot(s slot) {
	// The pages stay committed for the next thread (initContext clears
	// the context; the signal stack's old contents are trusted data that
	// sandboxed code never sees).
	global.mu.Lock()
	global.free = append(global.free, s.idx)
	global.live--
	global.mu.Unlock()
}

func (s slot) u32(off uintptr) *atomic.Uint32 { return (*atomic.Uint32)(unsafe.Add(s.ctx, off)) }
func (s slot) u64(off uintptr) *uint64        { return (*uint64)(unsafe.Add(s.ctx, off)) }

// childMask: every signal blocked except the synchronous ones and
// StopSignal (SIGKILL and SIGSTOP cannot be).
func childMask() uint64 {
	m := ^uint64(0)
	for _, sig := range append(frontSignals, unix.SIGKILL, unix.SIGSTOP) { // those two cannot be blocked
		m &^= 1 << (uint(sig) - 1)
	}
	return m
}

var hasAVX = cpu.X86.HasAVX

// cloneMask is the signal mask around clone (read by rawClone): everything
// blocked, StopSignal included, except the synchronous signals, which are
// never blocked (a fault with its signal blocked kills the process).
var cloneMask = childMask() | 1<<(uint(StopSignal)-1)

// hasFSGSBASE reports whether user code can execute wr{fs,gs}base (the
// kernel enabled CR4.FSGSBASE): AT_HWCAP2 bit 1.
func hasFSGSBASE() bool {
	b, err := readAuxv()
	if err != nil {
		return false
	}
	for i := 0; i+16 <= len(b); i += 16 {
		if binary.LittleEndian.Uint64(b[i:]) == 26 { // AT_HWCAP2
			return binary.LittleEndian.Uint64(b[i+8:])&2 != 0
		}
	}
	return false
}

func readAuxv() ([]byte, error) { return os.ReadFile("/proc/self/auxv") }
