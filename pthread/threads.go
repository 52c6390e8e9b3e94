package pthread

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// Host-call numbers. Those with a Linux counterpart use Linux's number and
// semantics; SysThreadCreate is halite's own, in the sandbox's range for
// packages built on it (sandbox.FirstUserCall and up; pthread owns
// 1056..1063). clone cannot be mirrored: a raw sandbox thread starts fresh
// at an entry point instead of returning from the call. With the sandbox
// runtime, SysExit is the sandbox's own builtin (it ends only the calling
// thread); pthread handles it only for launchers that do not.
const (
	SysSchedYield    = 24
	SysExit          = 60
	SysGettid        = 186
	SysFutex         = 202
	SysSetTidAddress = 218
	// SysThreadCreate(entry, arg, stack_top, tid_addr) starts a thread at
	// entry with %rdi = arg, %rsp = stack_top - 8 (a return address to the
	// exit trampoline is pushed by the sandbox), %fs = a fresh TCB with
	// static and dynamic TLS set up. If tid_addr is not 0, the new tid is
	// stored there before the thread runs (CLONE_PARENT_SETTID |
	// CLONE_CHILD_SETTID) and, once the thread has exited and its stack
	// is no longer used, the word is cleared and a futex wake is done on
	// it (CLONE_CHILD_CLEARTID), which is how pthread_join waits. Returns
	// the tid or -EAGAIN (thread limit), -ENOMEM, -EFAULT, -EINVAL.
	SysThreadCreate = 1056
)

// Launcher starts raw sandbox threads; the sandbox runtime provides it
// (sandbox.Sandbox.Start with a ThreadSpec{Entry, Arg, StackTop, FS}).
type Launcher interface {
	Launch(ctx context.Context, entry, arg, stackTop, fs uint64) (RawThread, error)
}

// NotifyLauncher is a Launcher that can also report a raw thread's end
// by calling done (once, with what Wait would return, from any goroutine,
// possibly before LaunchNotify returns) once its stack is no longer in
// use; Threads then needs no goroutine per thread to reap it.
type NotifyLauncher interface {
	Launcher
	LaunchNotify(ctx context.Context, entry, arg, stackTop, fs uint64, done func(error)) (RawThread, error)
}

// RawThread is a running raw sandbox thread.
type RawThread interface {
	// Wait blocks until the thread has exited and its stack is no longer
	// in use; the error says why it ended if not through exit.
	Wait() error
}

// ThreadsConfig configures a Threads manager.
type ThreadsConfig struct {
	// MaxThreads bounds the live threads (default 64).
	MaxThreads int
}

// Threads manages the threads of one sandbox: their TLS, tids, tid words,
// and the futex table.
type Threads struct {
	tls    *TLS
	mem    Memory
	launch Launcher
	fut    *Futexes
	ctx    context.Context
	cancel context.CancelFunc
	max    int

	mu      sync.Mutex
	byTID   map[int]*Thread
	byFS    map[uint64]*Thread
	nextTID int
	closed  bool
	wg      sync.WaitGroup // one per started thread until reaped
}

// Thread is one sandbox thread started through Threads.
type Thread struct {
	ts      *Threads
	tid     int
	tls     *ThreadTLS
	raw     RawThread
	ctid    uint64 // the tid word cleared at exit; 0 none
	done    chan struct{}
	err     error
	exitMu  sync.Mutex
	exited  bool
	status  int
	tidword sync.Mutex // guards ctid
	once    sync.Once  // cleanup
}

// NewThreads returns a manager that sets up TLS with tls, allocates through
// mem, and starts raw threads with l. Cancelling ctx (or Close) ends every
// futex wait with -EINTR.
func NewThreads(ctx context.Context, tls *TLS, mem Memory, l Launcher, cfg ThreadsConfig) *Threads {
	if cfg.MaxThreads <= 0 {
		cfg.MaxThreads = 64
	}
	ctx, cancel := context.WithCancel(ctx)
	return &Threads{tls: tls, mem: mem, launch: l, fut: NewFutexes(mem), ctx: ctx, cancel: cancel,
		max: cfg.MaxThreads, byTID: map[int]*Thread{}, byFS: map[uint64]*Thread{}, nextTID: 1}
}

// Futexes returns the futex table.
func (ts *Threads) Futexes() *Futexes { return ts.fut }

// TLS returns the TLS runtime.
func (ts *Threads) TLS() *TLS { return ts.tls }

// Start starts a sandbox thread at entry with %rdi = arg on the stack whose
// top is stackTop, with a fresh TCB and TLS. If tidAddr is not 0 the tid is
// stored there first, and cleared (with a futex wake) once the thread has
// exited.
func (ts *Threads) Start(entry, arg, stackTop, tidAddr uint64) (*Thread, error) {
	if tidAddr%4 != 0 {
		return nil, fmt.Errorf("pthread: tid address %#x is not 4-aligned", tidAddr)
	}
	ts.mu.Lock()
	if ts.closed {
		ts.mu.Unlock()
		return nil, fmt.Errorf("pthread: %w: the thread manager is closed", ErrLaunch)
	}
	if len(ts.byTID) >= ts.max {
		ts.mu.Unlock()
		return nil, fmt.Errorf("pthread: %w: %d threads running", ErrThreadLimit, ts.max)
	}
	tid := ts.allocTID()
	t := &Thread{ts: ts, tid: tid, ctid: tidAddr, done: make(chan struct{})}
	ts.byTID[tid] = t // reserve the slot and tid
	ts.wg.Add(1)      // under mu, so never after Close's Wait began
	ts.mu.Unlock()

	// fail undoes the reservation; the maps first, so that a thread
	// reusing the freed TLS area cannot be unregistered by mistake.
	fail := func(err error) (*Thread, error) {
		ts.mu.Lock()
		delete(ts.byTID, tid)
		if t.tls != nil {
			delete(ts.byFS, t.tls.TP())
		}
		ts.mu.Unlock()
		if t.tls != nil {
			_ = ts.tls.FreeThread(t.tls)
		}
		ts.wg.Done()
		return nil, err
	}
	tl, err := ts.tls.NewThread()
	if err != nil {
		return fail(err)
	}
	t.tls = tl
	ts.mu.Lock()
	ts.byFS[tl.TP()] = t // before Launch: its first host call may come at once
	ts.mu.Unlock()
	if tidAddr != 0 {
		if err := ts.mem.StoreUint32(tidAddr, uint32(tid)); err != nil {
			return fail(fmt.Errorf("pthread: %w: storing tid at %#x: %w", ErrBadAddress, tidAddr, err))
		}
	}
	var raw RawThread
	nl, notify := ts.launch.(NotifyLauncher)
	if notify {
		raw, err = nl.LaunchNotify(ts.ctx, entry, arg, stackTop, tl.TP(), func(err error) {
			defer ts.wg.Done()
			t.cleanup(err)
		})
	} else {
		raw, err = ts.launch.Launch(ts.ctx, entry, arg, stackTop, tl.TP())
	}
	if err != nil {
		if tidAddr != 0 {
			_ = ts.mem.StoreUint32(tidAddr, 0)
		}
		if !errors.Is(err, ErrThreadLimit) {
			err = fmt.Errorf("%w: %w", ErrLaunch, err)
		}
		return fail(fmt.Errorf("pthread: starting thread at %#x: %w", entry, err))
	}
	t.raw = raw
	if !notify {
		go t.reap()
	}
	return t, nil
}

// Errors of Threads.Start that the thread_create host call maps to errno
// values: ErrThreadLimit (-EAGAIN: MaxThreads threads are running),
// ErrBadAddress (-EFAULT: the tid word is not writable sandbox memory),
// ErrLaunch (the Launcher refused to start the thread: -EINVAL for a bad
// entry or stack; a Launcher error wrapping ErrThreadLimit gives -EAGAIN).
// Other errors (TLS memory) give -ENOMEM.
var (
	ErrThreadLimit = errors.New("thread limit reached")
	ErrBadAddress  = errors.New("bad address")
	ErrLaunch      = errors.New("cannot start the thread")
)

// allocTID returns an unused tid (ts.mu held); tids start at 1 and wrap
// at 1<<22 like Linux's pid_max.
func (ts *Threads) allocTID() int {
	for {
		tid := ts.nextTID
		ts.nextTID++
		if ts.nextTID >= 1<<22 {
			ts.nextTID = 1
		}
		if _, used := ts.byTID[tid]; !used {
			return tid
		}
	}
}

// reap waits for the raw thread to end, then clears the tid word and wakes
// its waiters (CLONE_CHILD_CLEARTID) and frees the thread's TLS.
func (t *Thread) reap() {
	defer t.ts.wg.Done()
	t.cleanup(t.raw.Wait())
}

// cleanup runs once, by reap or by a Join that saw the raw thread end
// first (saving a goroutine hand-off).
func (t *Thread) cleanup(err error) {
	t.once.Do(func() { t.finish(err) })
}

func (t *Thread) finish(err error) {
	ts := t.ts
	t.tidword.Lock()
	ctid := t.ctid
	t.tidword.Unlock()
	if ctid != 0 {
		// A bad address is the program's problem (Linux ignores it too).
		if ts.mem.StoreUint32(ctid, 0) == nil {
			ts.fut.Wake(ctid, 1<<31-1, futexBitsetAny)
		}
	}
	ts.mu.Lock()
	delete(ts.byTID, t.tid)
	delete(ts.byFS, t.tls.TP())
	ts.mu.Unlock()
	if ferr := ts.tls.FreeThread(t.tls); ferr != nil && err == nil {
		err = ferr
	}
	t.err = err
	close(t.done)
}

// TID is the thread's id (what gettid returns in it).
func (t *Thread) TID() int { return t.tid }

// TP is the thread pointer (%fs) the thread runs with.
func (t *Thread) TP() uint64 { return t.tls.TP() }

// TLSThread is the thread's TLS record (for TLS.Block).
func (t *Thread) TLSThread() *ThreadTLS { return t.tls }

// Join waits until the thread has ended and its TLS is freed, and returns
// the raw thread's error (nil after exit).
func (t *Thread) Join() error {
	t.cleanup(t.raw.Wait())
	<-t.done
	return t.err
}

// Done is closed once the thread has ended and been cleaned up.
func (t *Thread) Done() <-chan struct{} { return t.done }

// ExitStatus reports the status passed to exit, if the thread called it.
func (t *Thread) ExitStatus() (status int, ok bool) {
	t.exitMu.Lock()
	defer t.exitMu.Unlock()
	return t.status, t.exited
}

// Lookup returns the live thread with the given tid.
func (ts *Threads) Lookup(tid int) *Thread {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.byTID[tid]
}

// ThreadByFS returns the live thread started with thread pointer fs (the
// trusted value the sandbox started it with, never one read from sandbox
// memory): how a host-call handler finds the calling Thread.
func (ts *Threads) ThreadByFS(fs uint64) *Thread {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.byFS[fs]
}

// Live returns the number of threads not yet reaped.
func (ts *Threads) Live() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.byTID)
}

// ErrExit is returned by HostCall for SysExit: the sandbox runtime must end
// the calling raw thread (its stack is then free; reaping follows).
var ErrExit = errors.New("pthread: thread exit")

// HostCall services one thread-related host call made by thread self (nil
// for a thread not started through ts: gettid, set_tid_address and exit
// then fail with -ESRCH). ctx ends blocking calls (the calling thread's
// stop context); ts's own context does too. handled is false for call
// numbers this package does not own. For SysExit it records the status
// and returns ErrExit: the caller must then end the raw thread instead of
// returning to it.
func (ts *Threads) HostCall(ctx context.Context, self *Thread, nr int, a *[6]uint64) (ret int64, handled bool, err error) {
	if self == nil && (nr == SysGettid || nr == SysSetTidAddress || nr == SysExit) {
		return -eSRCH, true, nil
	}
	switch nr {
	case SysGettid:
		return int64(self.tid), true, nil
	case SysSchedYield:
		runtime.Gosched()
		return 0, true, nil
	case SysFutex:
		if ctx == nil || ctx == context.Background() {
			return ts.fut.Call(ts.ctx, a), true, nil
		}
		ctx, stop := mergeDone(ctx, ts.ctx)
		defer stop()
		return ts.fut.Call(ctx, a), true, nil
	case SysSetTidAddress:
		if a[0]%4 != 0 {
			// Linux accepts any address and faults later; we refuse
			// the misaligned word we could not store atomically.
			return -eINVAL, true, nil
		}
		self.tidword.Lock()
		self.ctid = a[0]
		self.tidword.Unlock()
		return int64(self.tid), true, nil
	case SysExit:
		self.exitMu.Lock()
		self.exited, self.status = true, int(int32(a[0]))
		self.exitMu.Unlock()
		return 0, true, ErrExit
	case SysThreadCreate:
		entry, arg, stack, tidAddr := a[0], a[1], a[2], a[3]
		if tidAddr%4 != 0 || entry == 0 || stack == 0 {
			return -eINVAL, true, nil
		}
		t, err := ts.Start(entry, arg, stack, tidAddr)
		switch {
		case errors.Is(err, ErrThreadLimit):
			return -eAGAIN, true, nil
		case errors.Is(err, ErrBadAddress):
			return -eFAULT, true, nil
		case errors.Is(err, ErrLaunch):
			return -eINVAL, true, nil
		case err != nil:
			return -eNOMEM, true, nil
		}
		return int64(t.tid), true, nil
	}
	return 0, false, nil
}

// Close cancels the context threads were launched with (which ends every
// futex wait with -EINTR; the sandbox stops threads whose context ends) and
// waits for every started thread to be reaped.
func (ts *Threads) Close() {
	ts.mu.Lock()
	ts.closed = true
	ts.mu.Unlock()
	ts.cancel()
	ts.wg.Wait()
}

// mergeDone returns a context cancelled when either a or b is.
func mergeDone(a, b context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(a)
	stop := context.AfterFunc(b, cancel)
	return ctx, func() { stop(); cancel() }
}
