package sandbox

import (
	"encoding/binary"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Host-call numbers. 0..1023 are Linux x86-64 syscall numbers (same
// arguments, -errno results); 1024..2047 are halite calls.
const (
	SysWrite        = 1
	SysExit         = 60
	SysClockGettime = 228
	SysExitGroup    = 231

	// CallThreadPointer returns the thread pointer (the word at %fs:0,
	// the TCB's self pointer): answered inside the trampoline, no thread
	// switch. For code built under the nacl profile, which may not use %fs.
	CallThreadPointer = 1024
	// CallReturn is where a thread's entry function returns to (its
	// address is pushed as the return address): the thread exits with
	// %rax as its result.
	CallReturn = 1025
	// FirstUserCall is the first number free for packages built on the
	// sandbox (loader, threads); 1026..1039 are reserved for the runtime.
	FirstUserCall = 1040
	// NumCalls is the number of trampoline slots ([B+64 KiB, B+128 KiB)).
	NumCalls = 2048
)

// HostCallFunc handles one host call made by thread t with arguments a
// (rdi, rsi, rdx, r10, r8, r9); it returns the result (rax), -errno on
// failure, as Linux syscalls do.
type HostCallFunc func(t *Thread, a *[6]uint64) int64

// Handle registers h for call number nr (replacing a built-in or earlier
// handler; nil unregisters: the call then returns -ENOSYS). It panics on
// a number outside [0, NumCalls) or one answered in the trampoline.
func (s *Sandbox) Handle(nr int, h HostCallFunc) {
	if nr < 0 || nr >= NumCalls || nr == CallThreadPointer || nr == CallReturn {
		panic(fmt.Sprintf("sandbox: Handle(%d): not a registrable call number", nr))
	}
	if h == nil {
		s.handlers[nr].Store(nil)
		return
	}
	s.handlers[nr].Store(&h)
}

// Handler returns the handler registered for call number nr (a built-in
// or one given to Handle), or nil. It lets a layer that takes over a call
// chain to what was there before (the VFS serves write for its own
// descriptors and passes fds 1 and 2 on to the built-in).
func (s *Sandbox) Handler(nr int) HostCallFunc {
	if nr < 0 || nr >= NumCalls {
		return nil
	}
	if h := s.handlers[nr].Load(); h != nil {
		return *h
	}
	return nil
}

// TrampolineAddr returns the guest address sandboxed code calls for call
// number nr (arguments as for a Linux syscall, the call clobbers rax, rcx
// and r11 only).
func (s *Sandbox) TrampolineAddr(nr int) uint64 {
	return s.b + TrampolineOffset + TrampolineSlot*uint64(nr)
}

func trampoline(nr int) []byte {
	slot := make([]byte, TrampolineSlot)
	for i := range slot {
		slot[i] = 0xf4
	}
	var p []byte
	switch nr {
	case CallThreadPointer:
		// mov %fs:0,%rax; pop %rcx; and $-32,%ecx; add %r15,%rcx; jmp *%rcx
		p = []byte{0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0, 0x59, 0x83, 0xe1, 0xe0, 0x4c, 0x01, 0xf9, 0xff, 0xe1}
	case CallReturn:
		// jmp *%gs:ctxRetStub (the thread exits with %rax, no answer awaited)
		p = []byte{0x65, 0xff, 0x24, 0x25, 0, 0, 0, 0}
		binary.LittleEndian.PutUint32(p[4:], ctxRetStub)
	default:
		p = stubJump(nr)
	}
	copy(slot, p)
	return slot
}

// stubJump: mov $nr,%eax; jmp *%gs:ctxStub
func stubJump(nr int) []byte {
	b := []byte{0xb8, 0, 0, 0, 0, 0x65, 0xff, 0x24, 0x25, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(b[1:], uint32(nr))
	binary.LittleEndian.PutUint32(b[9:], ctxStub)
	return b
}

// trampolineImage is the trampoline page set, identical for every sandbox
// (the stub is reached through %gs): built once into a sealed memfd that
// each sandbox maps read+execute (never writable in any mapping).
var trampolineImage struct {
	once sync.Once
	fd   int
	err  error
}

func trampolineFD() (int, error) {
	ti := &trampolineImage
	ti.once.Do(func() {
		img := make([]byte, 0, UserOffset-TrampolineOffset)
		for nr := 0; nr < NumCalls; nr++ {
			img = append(img, trampoline(nr)...)
		}
		fd, err := unix.MemfdCreate("halite-trampolines", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
		if err != nil {
			ti.err = fmt.Errorf("sandbox: memfd for the trampolines: %w", err)
			return
		}
		if n, err := unix.Pwrite(fd, img, 0); err != nil || n != len(img) {
			unix.Close(fd)
			ti.err = fmt.Errorf("sandbox: writing the trampolines: %d bytes, %v", n, err)
			return
		}
		seals := unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE | unix.F_SEAL_SEAL
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
			unix.Close(fd)
			ti.err = fmt.Errorf("sandbox: sealing the trampolines: %w", err)
			return
		}
		ti.fd = fd
	})
	return ti.fd, ti.err
}

func (s *Sandbox) installTrampolines() error {
	const size = UserOffset - TrampolineOffset
	fd, err := trampolineFD()
	if err != nil {
		return err
	}
	dst := uintptr(s.ptr(s.b + TrampolineOffset))
	r, _, errno := unix.Syscall6(unix.SYS_MMAP, dst, size, unix.PROT_READ|unix.PROT_EXEC,
		unix.MAP_PRIVATE|unix.MAP_FIXED, uintptr(fd), 0)
	if errno != 0 || r != dst {
		return sysErr("mmap (trampolines)", s.b+TrampolineOffset, size, errno)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setRegion(TrampolineOffset, UserOffset, ProtRead|ProtExec, true, false)
	return nil
}

func (s *Sandbox) registerBuiltins() {
	s.Handle(SysWrite, builtinWrite)
	s.Handle(SysExit, func(t *Thread, a *[6]uint64) int64 {
		t.ExitThread(a[0])
		return 0
	})
	s.Handle(SysExitGroup, func(t *Thread, a *[6]uint64) int64 {
		t.ExitThread(a[0])
		t.s.stopRun(&ExitError{Code: int(int32(a[0]))}, t)
		return 0
	})
	s.Handle(SysClockGettime, builtinClockGettime)
}

// maxWrite bounds one write host call (a short count is returned).
const maxWrite = 1 << 20

func builtinWrite(t *Thread, a *[6]uint64) int64 {
	var w io.Writer
	switch a[0] {
	case 1:
		w = t.s.cfg.Stdout
	case 2:
		w = t.s.cfg.Stderr
	default:
		return -int64(unix.EBADF)
	}
	n := min(a[2], maxWrite)
	buf := make([]byte, n)
	if err := t.s.Read(a[1], buf); err != nil {
		return -int64(unix.EFAULT)
	}
	if w == nil {
		return int64(n)
	}
	t.s.outMu.Lock() // threads write concurrently; writers need not be safe for that
	m, err := w.Write(buf)
	t.s.outMu.Unlock()
	if m == 0 && err != nil {
		return -int64(unix.EIO)
	}
	return int64(m)
}

func builtinClockGettime(t *Thread, a *[6]uint64) int64 {
	clk := int32(a[0])
	switch clk {
	case unix.CLOCK_REALTIME, unix.CLOCK_MONOTONIC, unix.CLOCK_PROCESS_CPUTIME_ID,
		unix.CLOCK_MONOTONIC_RAW, unix.CLOCK_REALTIME_COARSE, unix.CLOCK_MONOTONIC_COARSE, unix.CLOCK_BOOTTIME:
	default:
		return -int64(unix.EINVAL)
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(clk, &ts); err != nil {
		return -int64(unix.EINVAL)
	}
	var b [16]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(ts.Sec))
	binary.LittleEndian.PutUint64(b[8:], uint64(ts.Nsec))
	if err := t.s.Write(a[1], b[:]); err != nil {
		return -int64(unix.EFAULT)
	}
	return 0
}

// spinTime is how long each side of a host call polls before sleeping on
// the futex (the notes measured ~5 µs as the point where it pays).
const spinTime = 5 * time.Microsecond

func pauseLoop(n uint32)

// pausesPerSpin calibrates the stub's PAUSE loop to about spinTime (PAUSE
// costs from a few to over a hundred cycles depending on the CPU).
var pausesPerSpin = sync.OnceValue(func() int {
	const n = 20000
	best := time.Hour
	for range 5 {
		t0 := time.Now()
		pauseLoop(n)
		best = min(best, time.Since(t0))
	}
	it := int64(spinTime) * n / max(int64(best), 1)
	return int(min(max(it, 16), 1<<20))
})

// defaultSpin: polling pays only when the two sides really run on
// different CPUs at once. On a 2-vCPU machine shared with other work that
// is rare: measured there, futex-only round trips (6-8 µs, at the floor of
// a C futex ping-pong in the same run) beat spinning ones (9-33 µs). So
// spin by default only with at least 4 CPUs for this process.
func defaultSpin() int {
	if runtime.GOMAXPROCS(0) >= 4 && runtime.NumCPU() >= 4 {
		return pausesPerSpin()
	}
	return 0
}

// ExitError ends a run on exit_group: every thread of the run returns it.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("sandbox: exit_group(%d)", e.Code) }
