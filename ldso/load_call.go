package ldso

import (
	"encoding/binary"
	"fmt"

	"halite/pthread"
	"halite/sandbox"
)

// trampolineCode is testdata/sandbox/trampoline.c built with
// `halite cc -O2 -shared -fPIC` (.text only): it loads a function address
// and six arguments from the block whose address it gets in %rdi, calls
// the function, stores %rax in the block and a completion flag after it,
// and returns. The loader runs every sandboxed function it calls
// (constructors, destructors, IFUNC resolvers, `halite run --call`) on a
// pthread thread entering here, so that the code has a thread pointer and
// TLS. It is mapped with MapCode like any other code (validated).
var trampolineCode = []byte{
	0x53, 0x48, 0x89, 0xfb, 0x41, 0x89, 0xfb, 0x4b, 0x8b, 0x04, 0x1f, 0x41,
	0x89, 0xfb, 0x4f, 0x8b, 0x4c, 0x1f, 0x30, 0x41, 0x89, 0xfb, 0x4f, 0x8b,
	0x44, 0x1f, 0x28, 0x0f, 0x1f, 0x44, 0x00, 0x00, 0x41, 0x89, 0xfb, 0x4b,
	0x8b, 0x4c, 0x1f, 0x20, 0x41, 0x89, 0xfb, 0x4b, 0x8b, 0x54, 0x1f, 0x18,
	0x41, 0x89, 0xfb, 0x4b, 0x8b, 0x74, 0x1f, 0x10, 0x41, 0x89, 0xfb, 0x4b,
	0x8b, 0x7c, 0x1f, 0x08, 0x49, 0x89, 0xc3, 0x66, 0x66, 0x2e, 0x0f, 0x1f,
	0x84, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x41, 0x83, 0xe3, 0xe0, 0x4d, 0x01, 0xfb, 0x41, 0xff, 0xd3,
	0x41, 0x89, 0xdb, 0x4b, 0x89, 0x44, 0x1f, 0x38, 0x41, 0x89, 0xdb, 0x4b,
	0xc7, 0x44, 0x1f, 0x40, 0x01, 0x00, 0x00, 0x00, 0x5b, 0x41, 0x5b, 0x66,
	0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00, 0x41, 0x83, 0xe3, 0xe0,
	0x4d, 0x01, 0xfb, 0x41, 0xff, 0xe3,
}

// DefaultStackSize is the stack of a loader call (constructors,
// destructors, IFUNC resolvers, Call) when LoaderConfig.StackSize is 0:
// glibc's default thread stack. A guard page lies below it; its pages are
// committed only as the code touches them.
const DefaultStackSize = 8 << 20

// stackSize is the configured call stack, rounded up to whole pages.
func (l *Loader) stackSize() uint64 {
	n := l.cfg.StackSize
	if n == 0 {
		n = DefaultStackSize
	}
	return (n + pageSize - 1) &^ (pageSize - 1)
}

// mapTrampoline maps the call trampoline (once per loader).
func (l *Loader) mapTrampoline() error {
	addr, err := l.s.Alloc(pageSize, pageSize, sandbox.ProtRead)
	if err != nil {
		return fmt.Errorf("ldso: reserving the call trampoline: %w", err)
	}
	if err := l.s.MapCode(addr, trampolineCode); err != nil {
		l.s.Unmap(addr, pageSize)
		return fmt.Errorf("ldso: mapping the call trampoline: %w", err)
	}
	l.tramp = addr
	return nil
}

// CallError is a sandboxed function that did not return normally.
type CallError struct {
	What string // e.g. "constructor of /x/liba.so"
	Addr uint64
	Err  error // the thread's fault or exit, or nil if it just ended
}

func (e *CallError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("%s at %#x: the thread ended without returning", e.What, e.Addr)
	}
	return fmt.Sprintf("%s at %#x: %v", e.What, e.Addr, e.Err)
}

func (e *CallError) Unwrap() error { return e.Err }

// Call runs the sandboxed function at addr with up to six integer
// arguments on a fresh pthread thread (with its own TCB, TLS and a stack
// of LoaderConfig.StackSize bytes, 8 MiB by default) and returns its %rax. It does not take the loader's
// lock: the function may run while other opens happen.
func (l *Loader) Call(addr uint64, args ...uint64) (uint64, error) {
	return l.call("call", addr, args...)
}

func (l *Loader) call(what string, addr uint64, args ...uint64) (uint64, error) {
	return l.callOn(what, nil, addr, args...)
}

// callInit runs a constructor: its thread holds the loader's recursive
// constructor lock while it runs (see OpenFromThread).
func (l *Loader) callInit(what string, addr uint64) (uint64, error) {
	return l.callOn(what, l.initThreads, addr)
}

// callFini runs a destructor: its thread is known to the loader while it
// runs (a dlclose from it does not wait for dl_iterate_phdr walks, see
// closeFrom).
func (l *Loader) callFini(what string, addr uint64) (uint64, error) {
	return l.callOn(what, l.finiThreads, addr)
}

// callOn runs the function at addr on a new loader thread, which is in
// the set reg (under mu) while it runs, if reg is not nil.
func (l *Loader) callOn(what string, reg map[*pthread.Thread]int, addr uint64, args ...uint64) (uint64, error) {
	if len(args) > 6 {
		return 0, fmt.Errorf("ldso: %s at %#x: %d arguments (at most 6)", what, addr, len(args))
	}
	size := 2*pageSize + l.stackSize()
	stk, err := l.s.Alloc(size, pageSize, sandbox.ProtRead|sandbox.ProtWrite)
	if err != nil {
		return 0, fmt.Errorf("ldso: %s: stack: %w", what, err)
	}
	defer l.s.Unmap(stk, size)
	if err := l.s.Protect(stk, pageSize, sandbox.ProtNone); err != nil {
		return 0, err
	}
	block := stk + pageSize
	var b [9 * 8]byte
	binary.LittleEndian.PutUint64(b[0:], addr)
	for i, a := range args {
		binary.LittleEndian.PutUint64(b[8+8*i:], a)
	}
	if err := l.s.Write(block, b[:]); err != nil {
		return 0, err
	}
	t, err := l.sys.Start(l.tramp, block, stk+size, 0)
	if err != nil {
		return 0, fmt.Errorf("ldso: %s at %#x: %w", what, addr, err)
	}
	if reg != nil {
		// The thread may already be waiting in a dlopen or dlclose:
		// registering wakes it up to look again.
		l.mu.Lock()
		reg[t]++
		l.initCond.Broadcast()
		l.mu.Unlock()
	}
	jerr := t.Join()
	if reg != nil {
		l.mu.Lock()
		if reg[t]--; reg[t] <= 0 {
			delete(reg, t)
		}
		l.mu.Unlock()
	}
	if err := l.s.Read(block, b[:]); err != nil {
		return 0, err
	}
	if jerr != nil || binary.LittleEndian.Uint64(b[64:]) != 1 {
		return 0, &CallError{What: what, Addr: addr, Err: jerr}
	}
	return binary.LittleEndian.Uint64(b[56:]), nil
}
