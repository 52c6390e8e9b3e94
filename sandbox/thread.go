package sandbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const cloneFlags = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
	unix.CLONE_THREAD | unix.CLONE_SYSVSEM | unix.CLONE_SETTLS |
	unix.CLONE_PARENT_SETTID | unix.CLONE_CHILD_CLEARTID

// ThreadSpec describes a new untrusted thread. All addresses are guest
// addresses. Entry must be a 32-byte aligned address inside validated code;
// StackTop must be 16-byte aligned with the 8 bytes below it writable (the
// runtime pushes the CallReturn trampoline there, so the entry sees
// %rsp = 8 mod 16). FS becomes the thread pointer (%fs base), 0 for none.
// The thread starts with %rdi = Arg, %r15 = B, all else zero.
type ThreadSpec struct{ Entry, Arg, StackTop, FS uint64 }

// Thread is one raw untrusted thread. Its host calls are served by one
// goroutine of the runtime, on which handlers run.
type Thread struct {
	s      *Sandbox
	sl     slot
	tid    int32
	ctx    context.Context // cancelled when the thread is being stopped
	cancel context.CancelFunc

	stopOnce sync.Once
	stopErr  atomic.Pointer[error]

	spin spinState // used by the serving goroutine only

	exitReq bool // set by ExitThread from a handler
	exitVal uint64

	gen      uint64     // this start's generation (ctxGen)
	relMu    sync.Mutex // orders stop's signal before the slot's release
	released bool       // the OS thread is parked for reuse: no more signals

	data   any
	done   chan struct{}
	err    error
	result uint64
	onExit func(error)
}

// parkedThread is the OS thread of an ended sandbox thread, parked in
// trusted code (no stack, registers of no use) until a later Start of the
// same sandbox resumes it at a new entry, or it is told to exit.
type parkedThread struct {
	sl  slot
	tid int32
}

// Reuse bounds: parked threads keep their slot (MaxProcessThreads).
const (
	maxParkedPerSandbox = 8
	maxParkedProcess    = 256
)

// threadGen numbers starts (ctxGen), process-wide, from 1.
var threadGen atomic.Uint64

// parkedCount counts parked threads process-wide.
var parkedCount atomic.Int64

// Start starts an untrusted thread. Cancelling ctx stops it (Wait then
// returns an error wrapping ctx.Err()). A fault in any thread, exit_group
// or Stop ends the whole run: every thread alive then is stopped.
func (s *Sandbox) Start(ctx context.Context, spec ThreadSpec) (*Thread, error) {
	return s.start(ctx, spec, [6]uint64{spec.Arg}, StartOptions{})
}

// StartOptions are what StartWith adds to Start.
type StartOptions struct {
	// Data is what Thread.Data returns: a trusted value of the starter's
	// (e.g. its own record of the thread, for host-call handlers), set
	// before the thread runs and never changed.
	Data any
	// OnExit, if not nil, is called once with Wait's error when the
	// thread has ended and its stack is no longer in use, on the
	// thread's serving goroutine, just before Wait returns (so it must
	// not call Wait or Result, nor block for long). It saves a starter
	// that must clean up after every thread a goroutine per thread.
	OnExit func(err error)
}

// StartWith is Start with options.
func (s *Sandbox) StartWith(ctx context.Context, spec ThreadSpec, opts StartOptions) (*Thread, error) {
	return s.start(ctx, spec, [6]uint64{spec.Arg}, opts)
}

// Data returns StartOptions.Data (nil for Start and Call).
func (t *Thread) Data() any { return t.data }

func (s *Sandbox) start(ctx context.Context, spec ThreadSpec, args [6]uint64, opts StartOptions) (*Thread, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.checkSpec(spec); err != nil {
		return nil, err
	}
	ret := make([]byte, 8)
	putU64(ret, s.TrampolineAddr(CallReturn))
	if err := s.Write(spec.StackTop-8, ret); err != nil {
		return nil, fmt.Errorf("sandbox: thread stack top %#x: %w", spec.StackTop, err)
	}

	s.tmu.Lock()
	if s.isClosed() {
		s.tmu.Unlock()
		return nil, ErrClosed
	}
	if s.runErr != nil {
		if len(s.threads) > 0 {
			err := s.runErr
			s.tmu.Unlock()
			return nil, fmt.Errorf("sandbox: %w: %w", ErrRunStopped, err)
		}
		s.runErr = nil // the previous run is over
	}
	if len(s.threads) >= s.cfg.MaxThreads {
		s.tmu.Unlock()
		return nil, fmt.Errorf("sandbox: %w (%d)", ErrThreadMax, s.cfg.MaxThreads)
	}
	var sl slot
	var err error
	var reuse *parkedThread
	for n := len(s.parked); n > 0 && reuse == nil; n-- {
		p := s.parked[n-1]
		s.parked = s.parked[:n-1]
		parkedCount.Add(-1)
		if p.sl.u32(ctxTID).Load() == 0 {
			// Defence in depth: a parked thread never exits on its
			// own; if one did (the kernel cleared its tid word), its
			// slot is free and it is not waited for.
			freeSlot(p.sl)
			continue
		}
		reuse = &p
		sl = p.sl
	}
	if reuse == nil {
		if sl, err = allocSlot(); err != nil {
			s.tmu.Unlock()
			return nil, err
		}
	}
	t := &Thread{s: s, sl: sl, done: make(chan struct{}), gen: threadGen.Add(1), data: opts.Data, onExit: opts.OnExit}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	s.initContext(t, spec, args)
	t.spin = spinState{on: s.spin > 0, backoff: 64}
	s.threads[t] = struct{}{}
	s.wg.Add(1)
	if reuse != nil {
		// The parked thread waits on ctx.go; everything it reads on
		// resume was written above (x86 stores are seen in order).
		t.tid = reuse.tid
		sl.u32(ctxTID).Store(uint32(reuse.tid)) // cleared by initContext
		sl.u32(ctxGo).Store(1)
		futex(unsafe.Pointer(sl.u32(ctxGo)), futexWakePrivate, 1)
	} else {
		r := rawClone(cloneFlags, uintptr(s.ptr(spec.StackTop-8)), uintptr(sl.ctx)+ctxTID, uintptr(spec.FS), uintptr(sl.ctx), raw.child)
		if r < 0 {
			delete(s.threads, t)
			s.tmu.Unlock()
			s.wg.Done()
			freeSlot(sl)
			t.cancel()
			return nil, fmt.Errorf("sandbox: clone: %w", unix.Errno(-r))
		}
		t.tid = int32(r)
	}
	s.tmu.Unlock()

	stop := context.AfterFunc(ctx, func() {
		t.stop(fmt.Errorf("sandbox: thread %d stopped: %w", t.tid, context.Cause(ctx)))
	})
	go t.serve(stop)
	return t, nil
}

func putU64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}

func (s *Sandbox) isClosed() bool { return s.closedA.Load() }

func (s *Sandbox) checkSpec(spec ThreadSpec) error {
	in := func(a uint64) bool { return a >= s.b && a-s.b < Size }
	if !in(spec.Entry) || spec.Entry%32 != 0 {
		return fmt.Errorf("sandbox: %w: entry %#x is not a 32-byte aligned sandbox address", ErrBadSpec, spec.Entry)
	}
	s.mu.RLock()
	i, j := s.overlapping(spec.Entry-s.b, spec.Entry-s.b+1)
	isCode := j > i && s.regions[i].code && spec.Entry-s.b >= UserOffset
	s.mu.RUnlock()
	if !isCode {
		return fmt.Errorf("sandbox: %w: entry %#x is not in validated code", ErrBadSpec, spec.Entry)
	}
	if spec.StackTop%16 != 0 || spec.StackTop < s.b+UserOffset+8 || spec.StackTop-s.b > Size {
		return fmt.Errorf("sandbox: %w: stack top %#x (16-byte aligned, inside the sandbox)", ErrBadSpec, spec.StackTop)
	}
	if spec.FS != 0 && !in(spec.FS) {
		return fmt.Errorf("sandbox: %w: thread pointer %#x outside the sandbox", ErrBadSpec, spec.FS)
	}
	return nil
}

func (s *Sandbox) initContext(t *Thread, spec ThreadSpec, args [6]uint64) {
	sl := t.sl
	// A parked OS thread being reused may read this context meanwhile:
	// the self word (through %gs: never cleared, always this value), its
	// order word (0 until the end, when start sets it) and, in the front
	// handler, the state and generation words. So the generation is
	// replaced first (a stale stop signal's kill generation never
	// matches it), then the rest is rewritten.
	(*atomic.Uint64)(unsafe.Pointer(sl.u64(ctxGen))).Store(t.gen)
	(*atomic.Uint64)(unsafe.Pointer(sl.u64(ctxKillGen))).Store(0)
	clear(unsafe.Slice((*byte)(unsafe.Add(sl.ctx, 8)), ctxGen-8))
	clear(unsafe.Slice((*byte)(unsafe.Add(sl.ctx, ctxFS)), ctxSize-ctxFS))
	*sl.u64(ctxSelf) = uint64(uintptr(sl.ctx))
	*sl.u64(ctxBase) = s.b
	*sl.u64(ctxStub) = uint64(raw.stub)
	*sl.u64(ctxRetStub) = uint64(raw.ret)
	*sl.u64(ctxEntry) = spec.Entry
	sl.u32(ctxState).Store(stateIdle)
	sl.u32(ctxAction).Store(0)
	*sl.u64(ctxSigStk) = uint64(uintptr(sl.ctx) + slotStack)
	*sl.u64(ctxSigStk + 8) = 0
	*sl.u64(ctxSigStk + 16) = slotSize - slotStack
	*sl.u64(ctxMask) = childMask()
	*sl.u64(ctxProg) = uint64(uintptr(global.prog))
	for i, a := range args {
		*sl.u64(ctxInit + 8*uintptr(i)) = a
	}
	sl.u32(ctxSpin).Store(uint32(s.spin))
	if hasAVX {
		sl.u32(ctxAVX).Store(1)
	}
	sl.u32(ctxMXCSR).Store(0x1f80) // the ABI's initial MXCSR
	*sl.u64(ctxFS) = spec.FS
	*sl.u64(ctxSP) = spec.StackTop - 8
}

// repark keeps a parked OS thread for the sandbox's next Start, or tells
// it to exit when the sandbox is closing or enough are kept.
func (s *Sandbox) repark(sl slot, tid int32) {
	s.tmu.Lock()
	keep := !s.isClosed() && len(s.parked) < maxParkedPerSandbox
	if keep && parkedCount.Add(1) > maxParkedProcess {
		parkedCount.Add(-1)
		keep = false
	}
	if keep {
		s.parked = append(s.parked, parkedThread{sl, tid})
	}
	s.tmu.Unlock()
	if !keep {
		quitParked(sl)
	}
}

// drainParked ends the sandbox's parked threads (Close).
func (s *Sandbox) drainParked() {
	s.tmu.Lock()
	ps := s.parked
	s.parked = nil
	parkedCount.Add(-int64(len(ps)))
	s.tmu.Unlock()
	for _, p := range ps {
		quitParked(p.sl)
	}
}

// quitParked makes a parked thread exit, joins it and frees its slot.
func quitParked(sl slot) {
	sl.u32(ctxGo).Store(2)
	futex(unsafe.Pointer(sl.u32(ctxGo)), futexWakePrivate, 1)
	joinSlot(sl)
	freeSlot(sl)
}

// joinSlot waits until the slot's OS thread has exited: the kernel clears
// the tid word at exit and wakes it (a shared futex wake, so plain
// FUTEX_WAIT).
func joinSlot(sl slot) {
	tidw := sl.u32(ctxTID)
	for {
		v := tidw.Load()
		if v == 0 {
			return
		}
		futex(unsafe.Pointer(tidw), futexWait, v)
	}
}

// TID returns the thread's kernel thread id.
func (t *Thread) TID() int { return int(t.tid) }

// Sandbox returns the thread's sandbox.
func (t *Thread) Sandbox() *Sandbox { return t.s }

// Context is cancelled when the thread is being stopped (a handler that
// blocks should give up then).
func (t *Thread) Context() context.Context { return t.ctx }

// ExitThread, called from a host-call handler running for t, makes t exit
// with result v once the handler returns.
func (t *Thread) ExitThread(v uint64) {
	t.exitReq = true
	t.exitVal = v
}

// Wait waits for the thread to end. It returns nil after a normal exit
// (return from the entry function, exit), a *Fault for a fault in this
// thread, an *ExitError after exit_group, or an error wrapping the reason
// the thread was stopped (context, Stop, a fault in another thread).
func (t *Thread) Wait() error {
	<-t.done
	return t.err
}

// Done is closed when the thread has ended.
func (t *Thread) Done() <-chan struct{} { return t.done }

// Result is the thread's result after Wait: the entry function's %rax or
// the exit status.
func (t *Thread) Result() uint64 {
	<-t.done
	return t.result
}

// stop makes the thread end with err (the first reason wins).
func (t *Thread) stop(err error) {
	t.stopOnce.Do(func() {
		t.stopErr.Store(&err)
		t.cancel()
		// Under relMu: once the OS thread is released for reuse, no
		// signal may be sent for this start. One sent before may still
		// arrive after a reuse: the front handler ignores a stop signal
		// whose generation (ctxKillGen) is not the current start's.
		t.relMu.Lock()
		defer t.relMu.Unlock()
		if !t.released && t.sl.u32(ctxTID).Load() != 0 {
			(*atomic.Uint64)(unsafe.Pointer(t.sl.u64(ctxKillGen))).Store(t.gen)
			unix.Tgkill(unix.Getpid(), int(t.tid), StopSignal)
		}
	})
}

// Stop ends the current run: every live thread is stopped and its Wait
// returns an error wrapping err. Starting a thread fails until they are
// all gone.
func (s *Sandbox) Stop(err error) { s.stopRun(err, nil) }

func (s *Sandbox) stopRun(err error, except *Thread) {
	s.tmu.Lock()
	if s.runErr == nil {
		s.runErr = err
	}
	ts := make([]*Thread, 0, len(s.threads))
	for t := range s.threads {
		if t == except {
			continue
		}
		ts = append(ts, t)
	}
	s.tmu.Unlock()
	for _, t := range ts {
		t.stop(err)
	}
}

// wait blocks until the thread posts a request or ends, spinning first.
func (t *Thread) wait(stopping bool) uint32 {
	st := t.sl.u32(ctxState)
	ok := func(v uint32) bool { return v != stateIdle && v != stateReply && !(stopping && v == stateReq) }
	if t.spin.on {
		deadline := time.Now().Add(spinTime)
		for i := 1; ; i++ {
			if v := st.Load(); ok(v) {
				t.spinResult(true)
				return v
			}
			if i%64 == 0 && time.Now().After(deadline) {
				break
			}
		}
		t.spinResult(false)
	}
	sleep := t.sl.u32(ctxGoSleep)
	for {
		sleep.Store(1)
		v := st.Load()
		if ok(v) {
			sleep.Store(0)
			return v
		}
		futex(unsafe.Pointer(st), futexWaitPrivate, v)
	}
}

// spinState adapts spinning per thread: polling pays only while both
// sides really run at once (on different CPUs). After a few polls in a
// row that end in sleeping anyway, both sides stop polling; they probe
// again after an exponentially growing number of calls.
type spinState struct {
	on      bool
	fails   int
	calls   uint64
	probeAt uint64
	backoff uint64
}

func (t *Thread) spinResult(ok bool) {
	sp := &t.spin
	if ok {
		sp.fails = 0
		sp.backoff = 64
		return
	}
	if sp.fails++; sp.fails >= 4 {
		sp.on = false
		t.sl.u32(ctxSpin).Store(0)
		sp.probeAt = sp.calls + sp.backoff
		sp.backoff = min(2*sp.backoff, 1<<16)
	}
}

// spinNext runs after each reply: slept tells whether the untrusted side
// had to sleep (its poll failed).
func (t *Thread) spinNext(slept bool) {
	sp := &t.spin
	sp.calls++
	if sp.on {
		t.spinResult(!slept)
		return
	}
	if t.s.spin > 0 && sp.calls >= sp.probeAt {
		sp.on = true
		sp.fails = 0
		t.sl.u32(ctxSpin).Store(uint32(t.s.spin))
	}
}

func futex(addr unsafe.Pointer, op int, val uint32) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(addr), uintptr(op), uintptr(val), 0, 0, 0)
}

// serve answers the thread's host calls until it ends, then joins it.
func (t *Thread) serve(stopAfter func() bool) {
	s := t.s
	sl := t.sl
	var err error
	stopping := false
	parked := false // the OS thread left sandboxed code and waits for reuse
loop:
	for {
		v := t.wait(stopping)
		switch v {
		case stateReq:
			if t.stopErr.Load() != nil {
				// Being stopped: answer no more calls; the stop
				// signal will end the thread where it waits.
				stopping = true
				continue
			}
			nr := *sl.u64(ctxNR)
			var args [6]uint64
			for i := range args {
				args[i] = *sl.u64(ctxArgs + 8*uintptr(i))
			}
			res, perr := s.dispatch(t, nr, &args)
			if perr != nil {
				// A handler bug ends the run, not the process.
				t.ExitThread(0)
				err = perr
				s.stopRun(perr, t)
			}
			if t.stopErr.Load() != nil && !t.exitReq {
				// Stopped while the handler ran (a handler waiting on
				// the thread's context returns exactly then): do not
				// resume sandboxed code; the stop signal ends the
				// thread where it waits, with the stop's error.
				stopping = true
				continue
			}
			if t.exitReq {
				sl.u32(ctxAction).Store(1)
				t.result = t.exitVal
			}
			*sl.u64(ctxResult) = uint64(res)
			if !sl.u32(ctxState).CompareAndSwap(stateReq, stateReply) {
				continue // stopped meanwhile
			}
			slept := sl.u32(ctxThrSleep).Load() != 0
			if slept {
				futex(unsafe.Pointer(sl.u32(ctxState)), futexWakePrivate, 1)
			}
			t.spinNext(slept)
			// After an exit the thread parks (stateParked) next.
		case stateParked:
			if !t.exitReq { // returned from its entry function
				t.ExitThread(*sl.u64(ctxResult))
				t.result = t.exitVal
			}
			parked = true
			break loop
		case stateFault:
			f := t.fault()
			err = f
			s.stopRun(fmt.Errorf("sandbox: thread %d faulted: %w", t.tid, f), t)
			break loop
		case stateKilled:
			if t.exitReq {
				break loop // stopped on its way out of an exit: an exit
			}
			if p := t.stopErr.Load(); p != nil {
				err = *p
			} else {
				err = ErrRunStopped
			}
			break loop
		case stateSetupFail:
			err = fmt.Errorf("sandbox: thread setup step %d failed: %w", sl.u32(ctxSetupStep).Load(), unix.Errno(-int64(*sl.u64(ctxSetupRC))))
			break loop
		default:
			err = fmt.Errorf("sandbox: thread %d: corrupt state %d", t.tid, v)
			break loop
		}
	}
	if !parked {
		joinSlot(sl)
	}
	stopAfter()
	if t.exitReq && err == nil {
		// exit_group: report the run's reason to every thread.
		s.tmu.Lock()
		var ee *ExitError
		if errors.As(s.runErr, &ee) {
			err = ee
		}
		s.tmu.Unlock()
	}
	t.err = err
	t.cancel()
	if parked {
		t.relMu.Lock()
		t.released = true
		t.relMu.Unlock()
		s.repark(sl, t.tid)
	} else {
		freeSlot(sl)
	}
	s.tmu.Lock()
	delete(s.threads, t)
	s.tmu.Unlock()
	if t.onExit != nil {
		t.onExit(err)
	}
	close(t.done)
	s.wg.Done()
}

func (s *Sandbox) dispatch(t *Thread, nr uint64, a *[6]uint64) (res int64, perr error) {
	if nr >= NumCalls {
		return -int64(unix.ENOSYS), nil
	}
	if nr == CallReturn {
		t.ExitThread(a[0])
		return 0, nil
	}
	h := s.handlers[nr].Load()
	if h == nil {
		return -int64(unix.ENOSYS), nil
	}
	defer func() {
		if r := recover(); r != nil {
			perr = fmt.Errorf("sandbox: thread %d: handler of host call %d panicked: %v", t.tid, nr, r)
		}
	}()
	return (*h)(t, a), nil
}

// Call runs the function at addr on a fresh thread with up to six
// arguments (rdi, rsi, rdx, rcx, r8, r9) and a fresh 256 KiB stack, and
// returns its %rax. FS is 0 (no thread pointer).
func (s *Sandbox) Call(ctx context.Context, addr uint64, args ...uint64) (uint64, error) {
	if len(args) > 6 {
		return 0, fmt.Errorf("sandbox: call %#x: %d arguments (at most 6)", addr, len(args))
	}
	var a [6]uint64
	copy(a[:], args)
	const stackSize = 256 << 10
	stk, err := s.Alloc(stackSize+pageSize, pageSize, ProtRead|ProtWrite)
	if err != nil {
		return 0, err
	}
	defer s.Unmap(stk, stackSize+pageSize)
	if err := s.Protect(stk, pageSize, ProtNone); err != nil { // guard page
		return 0, err
	}
	t, err := s.start(ctx, ThreadSpec{Entry: addr, StackTop: stk + pageSize + stackSize}, a, StartOptions{})
	if err != nil {
		return 0, err
	}
	err = t.Wait()
	return t.Result(), err
}

const (
	futexWait        = 0
	futexWaitPrivate = 128
	futexWakePrivate = 129
)
