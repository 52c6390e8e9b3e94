package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// reuseEnv is a sandbox with the calls object and one stack.
func reuseEnv(t *testing.T) (*testSandbox, uint64) {
	t.Helper()
	s := newTestSandbox(t, Config{}, "calls")
	stk, err := s.Alloc(64<<10, 0, ProtRead|ProtWrite)
	if err != nil {
		t.Fatal(err)
	}
	return s, stk + 64<<10
}

func (ts *testSandbox) run(t *testing.T, fn string, stackTop uint64) *Thread {
	t.Helper()
	th, err := ts.Start(context.Background(), ThreadSpec{Entry: ts.sym(fn), StackTop: stackTop})
	if err != nil {
		t.Fatal(err)
	}
	return th
}

// TestThreadReuseCleanState: a thread started on the parked OS thread of
// one that dirtied every register it could (general, %rbp, %xmm, MXCSR,
// x87) starts with the same state as a freshly cloned one.
func TestThreadReuseCleanState(t *testing.T) {
	s, top := reuseEnv(t)
	fresh := s.run(t, "entrystate", top)
	if err := fresh.Wait(); err != nil || fresh.Result() != 0 {
		t.Fatalf("fresh thread: entry state flags %#x, %v", fresh.Result(), err)
	}
	for i := range 3 {
		d := s.run(t, "dirty", top)
		if err := d.Wait(); err != nil || d.Result() != ^uint64(0) {
			t.Fatalf("dirty: %#x, %v", d.Result(), err)
		}
		c := s.run(t, "entrystate", top)
		if err := c.Wait(); err != nil || c.Result() != 0 {
			t.Errorf("round %d: thread after dirty: entry state flags %#x, %v", i, c.Result(), err)
		}
		if c.TID() != d.TID() {
			t.Errorf("round %d: OS thread not reused: tid %d then %d", i, d.TID(), c.TID())
		}
	}
}

// TestThreadReuseExitPaths: the exit host call, exit_group and a return
// all park the OS thread; a fault or a stop ends it; a later start works
// in each case and reports its own result.
func TestThreadReuseExitPaths(t *testing.T) {
	s, top := reuseEnv(t)
	for _, fn := range []string{"add", "exitthread", "divzero", "add", "exitgroup", "add", "spin", "exitthread"} {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		th, err := s.Start(ctx, ThreadSpec{Entry: s.sym(fn), StackTop: top})
		if err != nil {
			cancel()
			t.Fatalf("%s: %v", fn, err)
		}
		err = th.Wait()
		cancel()
		var f *Fault
		var ee *ExitError
		switch fn {
		case "add":
			if err != nil || th.Result() != 0 {
				t.Errorf("add(0, 0) = %d, %v", th.Result(), err)
			}
		case "exitthread":
			if err != nil || th.Result() != 42 {
				t.Errorf("exitthread = %d, %v", th.Result(), err)
			}
		case "divzero":
			if !errors.As(err, &f) {
				t.Errorf("divzero: %v, want a fault", err)
			}
		case "exitgroup":
			if !errors.As(err, &ee) {
				t.Errorf("exitgroup: %v, want an exit error", err)
			}
		case "spin":
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("spin: %v, want the deadline", err)
			}
		}
	}
}

// TestStaleStopSignalIgnored: a stop signal meant for an earlier start of
// a reused OS thread, or one reaching it while parked, neither ends nor
// disturbs the thread's current start; a stop of the current start does.
func TestStaleStopSignalIgnored(t *testing.T) {
	s, top := reuseEnv(t)
	a := s.run(t, "add", top)
	if err := a.Wait(); err != nil {
		t.Fatal(err)
	}
	// Parked now: a stop signal for a's start (as if sent just before
	// the release) is ignored.
	killGen := (*atomic.Uint64)(unsafe.Pointer(a.sl.u64(ctxKillGen)))
	killGen.Store(a.gen)
	if err := unix.Tgkill(unix.Getpid(), a.TID(), StopSignal); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if _, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", a.TID())); err != nil {
		t.Fatalf("the parked OS thread ended on a stop signal: %v", err)
	}
	b := s.run(t, "spin", top)
	if b.TID() != a.TID() {
		t.Fatalf("OS thread not reused: tid %d then %d", a.TID(), b.TID())
	}
	// A signal for a's start reaching b's: ignored.
	killGen.Store(a.gen)
	if err := unix.Tgkill(unix.Getpid(), b.TID(), StopSignal); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b.Done():
		t.Fatalf("a stale stop signal ended the current start: %v", b.Wait())
	case <-time.After(50 * time.Millisecond):
	}
	// a's stop after its release sends nothing.
	a.stop(errors.New("late stop"))
	select {
	case <-b.Done():
		t.Fatalf("a released start's stop ended the current start: %v", b.Wait())
	case <-time.After(50 * time.Millisecond):
	}
	want := errors.New("stop b")
	b.stop(want)
	select {
	case <-b.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("b not stopped")
	}
	if err := b.Wait(); !errors.Is(err, want) {
		t.Errorf("b: %v, want %v", err, want)
	}
	c := s.run(t, "add", top)
	if err := c.Wait(); err != nil {
		t.Errorf("start after a stop: %v", err)
	}
}

// TestThreadReuseBounded: many threads ending at once keep at most
// maxParkedPerSandbox OS threads; Close ends them and frees their slots.
func TestThreadReuseBounded(t *testing.T) {
	s := newTestSandbox(t, Config{}, "calls")
	const n = 20
	stk, err := s.Alloc(n*16<<10, 0, ProtRead|ProtWrite)
	if err != nil {
		t.Fatal(err)
	}
	// Threads parked in a host call until all are started.
	release := make(chan struct{})
	s.Handle(1040, func(*Thread, *[6]uint64) int64 { <-release; return 0 })
	var ths []*Thread
	for i := range n {
		th, err := s.Start(context.Background(), ThreadSpec{Entry: s.sym("hostloop"), Arg: 1, StackTop: stk + uint64(i+1)*16<<10})
		if err != nil {
			t.Fatal(err)
		}
		ths = append(ths, th)
	}
	close(release)
	for _, th := range ths {
		if err := th.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	s.tmu.Lock()
	np := len(s.parked)
	s.tmu.Unlock()
	if np == 0 || np > maxParkedPerSandbox {
		t.Errorf("%d parked OS threads, want 1..%d", np, maxParkedPerSandbox)
	}
	global.mu.Lock()
	before := global.live
	global.mu.Unlock()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	global.mu.Lock()
	after := global.live
	global.mu.Unlock()
	if before-after != np {
		t.Errorf("Close freed %d slots, want the %d parked ones", before-after, np)
	}
}

// TestStartWithOptions: Data is the starter's value in handlers; OnExit
// runs once per thread with Wait's error, before Wait returns, for a
// return, an exit and a fault (reused OS thread or not).
func TestStartWithOptions(t *testing.T) {
	s, top := reuseEnv(t)
	var seen any
	s.Handle(1041, func(th *Thread, a *[6]uint64) int64 { seen = th.Data(); return 0 })
	for i, fn := range []string{"echo", "add", "exitthread", "divzero", "add"} {
		var calls int
		var got error
		th, err := s.StartWith(context.Background(), ThreadSpec{Entry: s.sym(fn), StackTop: top},
			StartOptions{Data: i, OnExit: func(err error) { calls++; got = err }})
		if err != nil {
			t.Fatal(err)
		}
		werr := th.Wait()
		if calls != 1 || got != werr {
			t.Errorf("%s: OnExit called %d times with %v; Wait = %v", fn, calls, got, werr)
		}
		if th.Data() != i {
			t.Errorf("%s: Data = %v, want %d", fn, th.Data(), i)
		}
	}
	if seen != 0 {
		t.Errorf("handler saw Data %v, want 0", seen)
	}
}

// TestThreadReuseStress: many start+wait cycles on one reused OS thread
// while stop signals that no start asked for keep arriving (running,
// parking, parked, being rewritten for the next start): every start ends
// normally with its own result, and the OS thread survives.
func TestThreadReuseStress(t *testing.T) {
	s, top := reuseEnv(t)
	const n = 2000
	var tid atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if id := tid.Load(); id != 0 {
				unix.Tgkill(unix.Getpid(), int(id), StopSignal)
			}
			time.Sleep(time.Microsecond)
		}
	}()
	defer func() { close(stop); <-done }()
	for i := range n {
		th, err := s.Start(context.Background(), ThreadSpec{Entry: s.sym("add"), Arg: uint64(i), StackTop: top})
		if err != nil {
			t.Fatal(err)
		}
		tid.Store(int64(th.TID()))
		if err := th.Wait(); err != nil || th.Result() != uint64(i) {
			t.Fatalf("start %d: %d, %v", i, th.Result(), err)
		}
	}
}

// TestParkedThreadGone: a parked OS thread that has exited (made to here
// through its order word) is not reused: the next start clones a new one.
func TestParkedThreadGone(t *testing.T) {
	s, top := reuseEnv(t)
	a := s.run(t, "add", top)
	if err := a.Wait(); err != nil {
		t.Fatal(err)
	}
	s.tmu.Lock()
	if len(s.parked) != 1 {
		s.tmu.Unlock()
		t.Fatalf("%d parked threads, want 1", len(s.parked))
	}
	sl := s.parked[0].sl
	s.tmu.Unlock()
	sl.u32(ctxGo).Store(2)
	futex(unsafe.Pointer(sl.u32(ctxGo)), futexWakePrivate, 1)
	joinSlot(sl)
	b := s.run(t, "add", top)
	done := make(chan error, 1)
	go func() { done <- b.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("start on an exited parked thread hangs")
	}
	if b.TID() == a.TID() {
		t.Errorf("exited OS thread %d reused", a.TID())
	}
}
