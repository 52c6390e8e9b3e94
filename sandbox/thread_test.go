package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestStartSpecErrors(t *testing.T) {
	s := newTestSandbox(t, Config{}, "calls")
	stk, err := s.Alloc(64<<10, 0, ProtRead|ProtWrite)
	if err != nil {
		t.Fatal(err)
	}
	top := stk + 64<<10
	b := s.Base()
	for _, spec := range []ThreadSpec{
		{Entry: s.sym("add") + 1, StackTop: top},     // unaligned
		{Entry: stk, StackTop: top},                  // data, not code
		{Entry: b + TrampolineOffset, StackTop: top}, // trampolines are not an entry
		{Entry: b + Size, StackTop: top},             // outside
		{Entry: s.sym("add"), StackTop: top - 8},     // misaligned stack
		{Entry: s.sym("add"), StackTop: b + Size + 16},
		{Entry: s.sym("add"), StackTop: top, FS: b - 4096},
	} {
		if th, err := s.Start(context.Background(), spec); !errors.Is(err, ErrBadSpec) {
			if th != nil {
				th.Wait()
			}
			t.Errorf("%+v: %v, want ErrBadSpec", spec, err)
		}
	}
	// A stack top whose slot is not writable.
	if _, err := s.Start(context.Background(), ThreadSpec{Entry: s.sym("add"), StackTop: b + 0x300000}); !errors.Is(err, ErrFault) {
		t.Errorf("unmapped stack: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Start(ctx, ThreadSpec{Entry: s.sym("add"), StackTop: top}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: %v", err)
	}
}

// TestStopDuringHostCall: a thread blocked in a slow host call is stopped
// by its context; the handler sees Thread.Context end.
func TestStopDuringHostCall(t *testing.T) {
	s := newTestSandbox(t, Config{}, "calls")
	entered, saw := make(chan struct{}), make(chan struct{})
	calls := 0
	s.Handle(1040, func(th *Thread, a *[6]uint64) int64 {
		if calls++; calls > 1 {
			t.Error("host call answered after the thread was stopped")
			return 0
		}
		close(entered)
		<-th.Context().Done()
		close(saw)
		return 0
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-entered
		time.Sleep(10 * time.Millisecond) // let the thread sleep in the stub
		cancel()
	}()
	_, err := s.Call(ctx, s.sym("hostloop"), 5)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	<-saw
	s.Handle(1040, nil)
	if r, err := s.Call(context.Background(), s.sym("hostloop"), 3); err != nil || r != 3 {
		t.Fatalf("after stop: %d, %v", r, err)
	}
}

func TestHandlerPanic(t *testing.T) {
	s := newTestSandbox(t, Config{}, "calls")
	s.Handle(1040, func(*Thread, *[6]uint64) int64 { panic("boom") })
	_, err := s.Call(context.Background(), s.sym("hostloop"), 1)
	if err == nil || !strings.Contains(err.Error(), "panicked: boom") {
		t.Fatalf("got %v", err)
	}
}

func TestCloseStopsThreads(t *testing.T) {
	s, err := New(Config{Validate: haliteOpts()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.MapCode(s.Base()+codeOff, objs["calls"].code); err != nil {
		t.Fatal(err)
	}
	stk, _ := s.Alloc(64<<10, 0, ProtRead|ProtWrite)
	var ths []*Thread
	for i := 0; i < 4; i++ {
		th, err := s.Start(context.Background(), ThreadSpec{Entry: s.Base() + codeOff + objs["calls"].syms["spin"], StackTop: stk + uint64(i+1)*16<<10})
		if err != nil {
			t.Fatal(err)
		}
		ths = append(ths, th)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, th := range ths {
		if err := th.Wait(); !errors.Is(err, ErrClosed) {
			t.Errorf("thread after Close: %v", err)
		}
	}
	if _, err := s.Alloc(4096, 0, ProtRead); !errors.Is(err, ErrClosed) {
		t.Errorf("alloc after Close: %v", err)
	}
	if _, err := s.Call(context.Background(), s.Base()+codeOff); !errors.Is(err, ErrClosed) {
		t.Errorf("call after Close: %v", err)
	}
}

func TestHandleReserved(t *testing.T) {
	s := newTestSandbox(t, Config{}, "calls")
	for _, nr := range []int{-1, CallThreadPointer, CallReturn, NumCalls} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Handle(%d) did not panic", nr)
				}
			}()
			s.Handle(nr, func(*Thread, *[6]uint64) int64 { return 0 })
		}()
	}
}

// TestRawThreadState reads a running raw thread's kernel state: its own
// seccomp filter and no_new_privs (Go's threads have neither), and its
// signal mask (everything blocked but the synchronous signals and
// StopSignal).
func TestRawThreadState(t *testing.T) {
	s := newTestSandbox(t, Config{}, "calls")
	stk, _ := s.Alloc(64<<10, 0, ProtRead|ProtWrite)
	ctx, cancel := context.WithCancel(context.Background())
	th, err := s.Start(ctx, ThreadSpec{Entry: s.sym("spin"), StackTop: stk + 64<<10})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		th.Wait()
	}()
	status := func(tid int) map[string]string {
		b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/status", tid))
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok {
				m[k] = strings.TrimSpace(v)
			}
		}
		return m
	}
	// Wait until the thread has finished its set-up.
	raw := status(th.TID())
	for i := 0; i < 500 && raw["Seccomp"] != "2"; i++ {
		time.Sleep(2 * time.Millisecond)
		raw = status(th.TID())
	}
	if raw["Seccomp"] != "2" || raw["NoNewPrivs"] != "1" {
		t.Errorf("raw thread: Seccomp %s, NoNewPrivs %s", raw["Seccomp"], raw["NoNewPrivs"])
	}
	if want := fmt.Sprintf("%016x", childMask()); raw["SigBlk"] != want {
		t.Errorf("raw thread SigBlk %s, want %s", raw["SigBlk"], want)
	}
	goth := status(os.Getpid())
	if goth["Seccomp"] != "0" {
		t.Errorf("Go's main thread has Seccomp %s", goth["Seccomp"])
	}
}
