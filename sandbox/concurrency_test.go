package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestManyThreads(t *testing.T) {
	const n = 48
	s := newTestSandbox(t, Config{MaxThreads: n}, "calls")
	var calls sync.Map
	s.Handle(1040, func(th *Thread, a *[6]uint64) int64 {
		calls.Store(th, true) // a start, not its OS thread (reused)
		return 0
	})
	stacks := make([]uint64, n)
	for i := range stacks {
		var err error
		if stacks[i], err = s.Alloc(64<<10, 0, ProtRead|ProtWrite); err != nil {
			t.Fatal(err)
		}
	}
	var ths []*Thread
	for i := 0; i < n; i++ {
		th, err := s.Start(context.Background(), ThreadSpec{Entry: s.sym("hostloop"), Arg: 200, StackTop: stacks[i] + 64<<10})
		if err != nil {
			t.Fatal(err)
		}
		ths = append(ths, th)
	}
	// One more than MaxThreads is refused while they run (they may have
	// finished already; only check the error kind when it fails).
	if _, err := s.Start(context.Background(), ThreadSpec{Entry: s.sym("add"), StackTop: stacks[0] + 32<<10}); err != nil && !errors.Is(err, ErrThreadMax) {
		t.Errorf("extra thread: %v", err)
	}
	for _, th := range ths {
		if err := th.Wait(); err != nil || th.Result() != 200 {
			t.Errorf("thread %d: %d, %v", th.TID(), th.Result(), err)
		}
	}
	k := 0
	calls.Range(func(any, any) bool { k++; return true })
	if k != n {
		t.Errorf("%d distinct threads made host calls, want %d", k, n)
	}
}

func TestConcurrentCalls(t *testing.T) {
	var out bytes.Buffer // not safe for concurrent use: the runtime serialises writes
	s := newTestSandbox(t, Config{Stdout: &out}, "calls")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := uint64(0); i < 50; i++ {
				r, err := s.Call(context.Background(), s.sym("add"), i, i)
				if err != nil || r != 2*i {
					t.Errorf("add(%d, %d) = %d, %v", i, i, r, err)
					return
				}
				if r, err := s.Call(context.Background(), s.sym("hello")); err != nil || r != 15 {
					t.Errorf("hello = %d, %v", r, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if want := strings.Repeat("hello, sandbox\n", 8*50); out.String() != want {
		t.Errorf("output: %d bytes, want %d", out.Len(), len(want))
	}
}

// TestSideBySideWithGC runs two sandboxes at once, computing and making
// host calls, and a third one faulting, while other goroutines churn the
// Go heap and force collections and the CPU profiler runs. Meant for
// -race too.
func TestSideBySideWithGC(t *testing.T) {
	a := newTestSandbox(t, Config{}, "calls")
	b := newTestSandbox(t, Config{}, "calls")
	// The CPU profiler's SIGPROF too (raw threads block it).
	if err := pprof.StartCPUProfile(io.Discard); err == nil {
		defer pprof.StopCPUProfile()
	}
	// A time budget bounds the loops (not the calls: a call cut by a
	// deadline would be a false failure on a loaded machine).
	deadline := time.Now().Add(2 * time.Second)
	more := func() bool { return time.Now().Before(deadline) }
	ctx := context.Background()
	stop := make(chan struct{})
	var gcwg sync.WaitGroup
	for i := 0; i < 2; i++ {
		gcwg.Add(1)
		go func() {
			defer gcwg.Done()
			var keep [][]byte
			for {
				select {
				case <-stop:
					return
				default:
				}
				keep = append(keep, make([]byte, 64<<10))
				if len(keep) > 64 {
					keep = nil
					runtime.GC()
				}
			}
		}()
	}
	var wg sync.WaitGroup
	for _, s := range []*testSandbox{a, b} {
		for g := 0; g < 2; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 150 && more(); i++ {
					if r, err := s.Call(ctx, s.sym("fib"), 20); err != nil || r != 6765 {
						t.Errorf("fib: %d, %v", r, err)
						return
					}
					if r, err := s.Call(ctx, s.sym("hostloop"), 20); err != nil || r != 20 {
						t.Errorf("hostloop: %d, %v", r, err)
						return
					}
				}
			}()
		}
	}
	// A third sandbox faults repeatedly meanwhile.
	wg.Add(1)
	go func() {
		defer wg.Done()
		c := newTestSandbox(t, Config{}, "calls")
		for i := 0; i < 200 && more(); i++ {
			_, err := c.Call(ctx, c.sym("guardlow"))
			var f *Fault
			if !errors.As(err, &f) {
				t.Errorf("fault: %v", err)
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	gcwg.Wait()
	checkNoWX(t)
}

// TestNewCloseCycles: 1,000 New/Close cycles (each running a thread)
// return mappings, threads and goroutines to the baseline.
func TestNewCloseCycles(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 100
	}
	cycle := func() {
		s, err := New(Config{Validate: haliteOpts()})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.MapCode(s.Base()+codeOff, objs["calls"].code); err != nil {
			t.Fatal(err)
		}
		if r, err := s.Call(context.Background(), s.Base()+codeOff+objs["calls"].syms["add"], 1, 2); err != nil || r != 3 {
			t.Fatalf("add: %d, %v", r, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	cycle()
	runtime.GC()
	maps, tasks, gs := countMaps(t), countTasks(t), runtime.NumGoroutine()
	for i := 0; i < n; i++ {
		cycle()
	}
	big, tramp := sandboxMaps(t)
	var m2, t2, g2 int
	for try := 0; try < 100; try++ {
		m2, t2, g2 = countMaps(t), countTasks(t), runtime.NumGoroutine()
		if m2 <= maps && t2 <= tasks+2 && g2 <= gs {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Go may map a new heap arena or start an extra OS thread or two for
	// blocking syscalls meanwhile; a leak would grow with n. The sandboxes'
	// own mappings must be back exactly.
	if m2 > maps+3 || t2 > tasks+2 || g2 > gs {
		t.Errorf("after %d cycles: maps %d -> %d, tasks %d -> %d, goroutines %d -> %d", n, maps, m2, tasks, t2, gs, g2)
	}
	if b2, tr2 := sandboxMaps(t); b2 != big || tr2 != tramp {
		t.Errorf("after %d cycles: guard-sized mappings %d -> %d, trampoline mappings %d -> %d", n, big, b2, tramp, tr2)
	}
	global.mu.Lock()
	live := global.live
	global.mu.Unlock()
	if live != 0 {
		t.Errorf("%d thread slots still in use", live)
	}
}

// sandboxMaps counts mappings of at least a guard's size and mappings of
// the trampoline memfd.
func sandboxMaps(t *testing.T) (big, tramp int) {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		var lo, hi uint64
		if _, err := fmt.Sscanf(l, "%x-%x", &lo, &hi); err != nil {
			continue
		}
		if hi-lo >= GuardSize {
			big++
		}
		if strings.Contains(l, "halite-trampolines") {
			tramp++
		}
	}
	return big, tramp
}
