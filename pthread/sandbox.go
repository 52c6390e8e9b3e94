package pthread

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

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

	mu    sync.RWMutex // held for writing across sandbox.Start + registration
	byRaw map[*sandbox.Thread]uint64
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
	y := &System{s: s, tls: tls, rt: rt, rtAddr: addr, byRaw: map[*sandbox.Thread]uint64{}}
	y.threads = NewThreads(ctx, tls, mem, (*sandboxLauncher)(y), tcfg)
	for _, nr := range []int{SysSchedYield, SysGettid, SysFutex, SysSetTidAddress, SysThreadCreate} {
		s.Handle(nr, func(t *sandbox.Thread, a *[6]uint64) int64 {
			ret, _, _ := y.threads.HostCall(t.Context(), y.self(t), nr, a)
			return ret
		})
	}
	return y, nil
}

// self maps a raw thread to its Thread, through the trusted thread pointer
// recorded when it was started (nil for threads not started by y).
func (y *System) self(t *sandbox.Thread) *Thread {
	y.mu.RLock()
	fs, ok := y.byRaw[t]
	y.mu.RUnlock()
	if !ok {
		return nil
	}
	return y.threads.ThreadByFS(fs)
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
	y := (*System)(l)
	y.mu.Lock()
	defer y.mu.Unlock()
	t, err := y.s.Start(ctx, sandbox.ThreadSpec{Entry: entry, Arg: arg, StackTop: stackTop, FS: fs})
	if errors.Is(err, sandbox.ErrThreadMax) {
		return nil, fmt.Errorf("%w: %w", ErrThreadLimit, err)
	}
	if err != nil {
		return nil, err
	}
	y.byRaw[t] = fs
	return sandboxRaw{y, t}, nil
}

type sandboxRaw struct {
	y *System
	t *sandbox.Thread
}

func (r sandboxRaw) Wait() error {
	err := r.t.Wait()
	r.y.mu.Lock()
	delete(r.y.byRaw, r.t)
	r.y.mu.Unlock()
	return err
}

// sandboxMemory implements Memory over a sandbox. Allocations are whole
// pages (sandbox.Alloc's granularity). 32-bit words use the sandbox's
// atomic accessors; StoreUint64 is an 8-byte Write, which Go's memmove
// performs as one aligned MOVQ on amd64 (it documents that case as atomic
// for pointers); a StoreUint64 in the sandbox API is requested.
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

func (m sandboxMemory) StoreUint64(addr, v uint64) error {
	if addr%8 != 0 {
		return fmt.Errorf("pthread: unaligned 8-byte store at %#x", addr)
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	return m.s.Write(addr, b[:])
}

func (m sandboxMemory) LoadUint32(addr uint64) (uint32, error) { return m.s.LoadUint32(addr) }

func (m sandboxMemory) StoreUint32(addr uint64, v uint32) error { return m.s.StoreUint32(addr, v) }
