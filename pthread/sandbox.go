package pthread

import (
	"context"
	"errors"
	"fmt"

	"halite/sandbox"
)

// System is pthread installed in one sandbox: its TLS runtime, its thread
// manager, the runtime object mapped inside it, and the thread host calls
// registered with it.
type System struct {
	s       *sandbox.Sandbox
	tls     *TLS
	threads *Threads
	rt      *RuntimeObject
	rtAddr  uint64
}

// rawData is what a raw thread started by a System carries as its
// sandbox.Thread.Data: which System started it and the trusted thread
// pointer it was started with.
type rawData struct {
	y  *System
	fs uint64
}

// Install sets pthread up in s: it maps the runtime object (validated like
// any code), creates the TLS runtime and thread manager over s's memory,
// and registers the host calls sched_yield, gettid, futex,
// set_tid_address (Linux numbers) and SysThreadCreate. exit stays the
// sandbox's builtin. ctx bounds every thread started through the System.
func Install(ctx context.Context, s *sandbox.Sandbox, cfg Config, tcfg ThreadsConfig) (*System, error) {
	mem := sandboxMemory{s}
	tls, err := NewTLS(mem, cfg)
	if err != nil {
		return nil, err
	}
	rt := Runtime()
	size := uint64(len(rt.Code)+4095) &^ 4095
	addr, err := s.Alloc(size, 4096, sandbox.ProtRead)
	if err != nil {
		return nil, fmt.Errorf("pthread: reserving %d bytes for the runtime object: %w", size, err)
	}
	if err := s.MapCode(addr, rt.Code); err != nil {
		return nil, fmt.Errorf("pthread: mapping the runtime object at %#x: %w", addr, err)
	}
	y := &System{s: s, tls: tls, rt: rt, rtAddr: addr}
	y.threads = NewThreads(ctx, tls, mem, (*sandboxLauncher)(y), tcfg)
	for _, nr := range []int{SysSchedYield, SysGettid, SysFutex, SysSetTidAddress, SysThreadCreate} {
		s.Handle(nr, func(t *sandbox.Thread, a *[6]uint64) int64 {
			ret, _, _ := y.threads.HostCall(t.Context(), y.ThreadOf(t), nr, a)
			return ret
		})
	}
	return y, nil
}

// ThreadOf returns the Thread running as raw thread t (for a host-call
// handler: the calling thread), found through the trusted thread pointer
// t was started with (its sandbox.Thread.Data, never sandbox memory); nil
// for a raw thread y did not start (e.g. sandbox.Call) or one already
// reaped.
func (y *System) ThreadOf(t *sandbox.Thread) *Thread {
	d, ok := t.Data().(rawData)
	if !ok || d.y != y {
		return nil
	}
	return y.threads.ThreadByFS(d.fs)
}

// TLS returns the TLS runtime.
func (y *System) TLS() *TLS { return y.tls }

// Threads returns the thread manager.
func (y *System) Threads() *Threads { return y.threads }

// Symbol returns the guest address of a runtime object symbol, such as
// __tls_get_addr.
func (y *System) Symbol(name string) (uint64, bool) {
	s, ok := y.rt.Lookup(name)
	if !ok {
		return 0, false
	}
	return y.rtAddr + s.Offset, true
}

// RuntimeObject returns the runtime object and the address it is mapped at.
func (y *System) RuntimeObject() (*RuntimeObject, uint64) { return y.rt, y.rtAddr }

// Start starts a sandbox thread at entry (see Threads.Start).
func (y *System) Start(entry, arg, stackTop, tidAddr uint64) (*Thread, error) {
	return y.threads.Start(entry, arg, stackTop, tidAddr)
}

// Close stops every thread started through y (their context is
// cancelled: a futex wait returns -EINTR and the sandbox stops the raw
// thread) and waits until each has been reaped.
func (y *System) Close() { y.threads.Close() }

type sandboxLauncher System

func (l *sandboxLauncher) Launch(ctx context.Context, entry, arg, stackTop, fs uint64) (RawThread, error) {
	return l.LaunchNotify(ctx, entry, arg, stackTop, fs, nil)
}

func (l *sandboxLauncher) LaunchNotify(ctx context.Context, entry, arg, stackTop, fs uint64, done func(error)) (RawThread, error) {
	y := (*System)(l)
	t, err := y.s.StartWith(ctx, sandbox.ThreadSpec{Entry: entry, Arg: arg, StackTop: stackTop, FS: fs},
		sandbox.StartOptions{Data: rawData{y, fs}, OnExit: done})
	if errors.Is(err, sandbox.ErrThreadMax) {
		return nil, fmt.Errorf("%w: %w", ErrThreadLimit, err)
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// sandboxMemory implements Memory over a sandbox. Allocations are whole
// pages (sandbox.Alloc's granularity). Words use the sandbox's atomic
// accessors.
type sandboxMemory struct{ s *sandbox.Sandbox }

const pageSize = 4096

func (m sandboxMemory) Alloc(size, align uint64) (uint64, error) {
	return m.s.Alloc(size, max(align, pageSize), sandbox.ProtRead|sandbox.ProtWrite)
}

func (m sandboxMemory) Free(addr, size uint64) error {
	return m.s.Unmap(addr, alignUp(size, pageSize))
}

func (m sandboxMemory) Read(addr uint64, dst []byte) error  { return m.s.Read(addr, dst) }
func (m sandboxMemory) Write(addr uint64, src []byte) error { return m.s.Write(addr, src) }

func (m sandboxMemory) StoreUint64(addr, v uint64) error { return m.s.StoreUint64(addr, v) }

func (m sandboxMemory) LoadUint32(addr uint64) (uint32, error) { return m.s.LoadUint32(addr) }

func (m sandboxMemory) StoreUint32(addr uint64, v uint32) error { return m.s.StoreUint32(addr, v) }
