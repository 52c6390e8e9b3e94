package pthread

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// fakeLauncher runs "sandbox code" as Go functions: entry selects one of
// the registered functions, which get a syscall function standing in for
// the trampoline.
type fakeLauncher struct {
	ts    *Threads
	mu    sync.Mutex
	funcs map[uint64]func(sys func(nr int, args ...uint64) int64, fs, arg, stack uint64)
	fail  bool
}

type fakeRaw struct {
	done chan struct{}
	err  error
}

func (r *fakeRaw) Wait() error { <-r.done; return r.err }

// errThreadExited is how a fake thread unwinds on exit.
var errThreadExited = errors.New("exited")

func (l *fakeLauncher) Launch(ctx context.Context, entry, arg, stackTop, fs uint64) (RawThread, error) {
	l.mu.Lock()
	fn := l.funcs[entry]
	fail := l.fail
	l.mu.Unlock()
	if fn == nil || fail {
		return nil, fmt.Errorf("fake: no code at %#x", entry)
	}
	r := &fakeRaw{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer func() {
			if p := recover(); p != nil && p != errThreadExited {
				r.err = fmt.Errorf("fault: %v", p)
			}
		}()
		sys := func(nr int, args ...uint64) int64 {
			var a [6]uint64
			copy(a[:], args)
			self := l.ts.ThreadByFS(fs)
			if self == nil {
				panic("host call from unknown thread")
			}
			ret, handled, err := l.ts.HostCall(ctx, self, nr, &a)
			if errors.Is(err, ErrExit) {
				panic(errThreadExited)
			}
			if !handled {
				return -eNOSYS
			}
			return ret
		}
		fn(sys, fs, arg, stackTop)
	}()
	return r, nil
}

type threadEnv struct {
	a   *arena
	tls *TLS
	ts  *Threads
	l   *fakeLauncher
}

func newThreadEnv(t *testing.T, max int) *threadEnv {
	a := newArena(256 << 20)
	r, err := NewTLS(a, Config{})
	if err != nil {
		t.Fatal(err)
	}
	l := &fakeLauncher{funcs: map[uint64]func(func(int, ...uint64) int64, uint64, uint64, uint64){}}
	ts := NewThreads(context.Background(), r, a, l, ThreadsConfig{MaxThreads: max})
	l.ts = ts
	t.Cleanup(ts.Close)
	return &threadEnv{a, r, ts, l}
}

func (e *threadEnv) code(entry uint64, fn func(sys func(nr int, args ...uint64) int64, fs, arg, stack uint64)) {
	e.l.mu.Lock()
	e.l.funcs[entry] = fn
	e.l.mu.Unlock()
}

// joinWord waits, as sandbox pthread_join does, until the tid word is 0.
func joinWord(sys func(int, ...uint64) int64, a *arena, word uint64) {
	for {
		v, _ := a.LoadUint32(word)
		if v == 0 {
			return
		}
		sys(SysFutex, word, FutexWait, uint64(v))
	}
}

// TestThreadsTLSAndJoin: 64 threads, each sees its own TLS copies (static
// and dynamic, tdata initialised, tbss zeroed), a module loaded while they
// run shows up in all, and a main thread joins them all through their tid
// words.
func TestThreadsTLSAndJoin(t *testing.T) {
	const n = 64
	e := newThreadEnv(t, n+1)
	exe, err := e.tls.Load("exe", Template{Init: []byte("tdata!"), Memsz: 64, Align: 64}, true)
	if err != nil {
		t.Fatal(err)
	}
	lib, err := e.tls.Load("lib.so", Template{Init: []byte("dyn"), Memsz: 4096 + 8, Align: 4096}, false)
	if err != nil {
		t.Fatal(err)
	}
	words, err := e.a.Alloc(4*n+64, 64)
	if err != nil {
		t.Fatal(err)
	}
	gate := words + 4*n // futex the workers wait on until the late module is loaded
	var late *Module
	var lateMu sync.Mutex
	errs := make(chan error, 4*n)
	e.code(0x20000, func(sys func(int, ...uint64) int64, fs, arg, _ uint64) {
		tid := sys(SysGettid)
		// Static TLS through the TP offset, dynamic through the DTV.
		off, _ := exe.TPOffset()
		s := fs + uint64(off)
		d := getAddr(e.a, fs, uint64(lib.ID()), 0)
		if string(e.a.readBytes(s, 6)) != "tdata!" || string(e.a.readBytes(d, 3)) != "dyn" {
			errs <- fmt.Errorf("thread %d: bad tdata", tid)
		}
		for _, b := range append(e.a.readBytes(s+6, 58), e.a.readBytes(d+3, 4096+5)...) {
			if b != 0 {
				errs <- fmt.Errorf("thread %d: tbss not zero", tid)
				break
			}
		}
		if d%4096 != 0 {
			errs <- fmt.Errorf("thread %d: dynamic block %#x not 4 KiB aligned", tid, d)
		}
		// Write our tid into our copies.
		_ = e.a.StoreUint32(s+8, uint32(tid))
		_ = e.a.StoreUint32(d+8, uint32(tid))
		// Wait for the late module.
		for {
			v, _ := e.a.LoadUint32(gate)
			if v != 0 {
				break
			}
			sys(SysFutex, gate, FutexWait|FutexPrivateFlag, 0)
		}
		lateMu.Lock()
		m := late
		lateMu.Unlock()
		l := getAddr(e.a, fs, uint64(m.ID()), 0)
		if l == 0 || string(e.a.readBytes(l, 4)) != "late" {
			errs <- fmt.Errorf("thread %d: late module not visible", tid)
		}
		_ = e.a.StoreUint32(l+4, uint32(tid))
		if v, _ := e.a.LoadUint32(s + 8); v != uint32(tid) {
			errs <- fmt.Errorf("thread %d: static copy shared (%d)", tid, v)
		}
		if v, _ := e.a.LoadUint32(d + 8); v != uint32(tid) {
			errs <- fmt.Errorf("thread %d: dynamic copy shared (%d)", tid, v)
		}
		sys(SysExit, 0)
		errs <- fmt.Errorf("thread %d: exit returned", tid)
	})
	mainDone := make(chan struct{})
	e.code(0x20020, func(sys func(int, ...uint64) int64, fs, arg, _ uint64) {
		defer close(mainDone)
		for i := uint64(0); i < n; i++ {
			if r := sys(SysThreadCreate, 0x20000, i, 0x100000, words+4*i); r <= 0 {
				errs <- fmt.Errorf("create %d: %d", i, r)
				return
			}
		}
		for e.ts.Live() < n+1 {
			sys(SysSchedYield)
		}
		lateMu.Lock()
		m, err := e.tls.Load("late.so", Template{Init: []byte("late"), Memsz: 32, Align: 16}, false)
		late = m
		lateMu.Unlock()
		if err != nil {
			errs <- err
			return
		}
		_ = e.a.StoreUint32(gate, 1)
		sys(SysFutex, gate, FutexWake|FutexPrivateFlag, 1<<31-1)
		for i := uint64(0); i < n; i++ {
			joinWord(sys, e.a, words+4*i)
		}
	})
	main, err := e.ts.Start(0x20020, 0, 0x200000, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := main.Join(); err != nil {
		t.Fatal(err)
	}
	<-mainDone
	e.ts.Close() // the workers' TLS is freed just after their tid words clear
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if e.ts.Live() != 0 {
		t.Errorf("%d threads not reaped", e.ts.Live())
	}
	// Every TLS allocation is freed: only the tid words remain.
	if err := e.tls.Trim(); err != nil {
		t.Fatal(err)
	}
	if n := e.a.liveCount(); n != 1 {
		t.Errorf("%d allocations live, want 1: %v", n, e.a.liveList())
	}
}

func TestThreadHostCalls(t *testing.T) {
	e := newThreadEnv(t, 2)
	word, _ := e.a.Alloc(64, 64)
	got := make(chan [4]int64, 1)
	e.code(0x20000, func(sys func(int, ...uint64) int64, fs, arg, _ uint64) {
		var r [4]int64
		r[0] = sys(SysGettid)
		r[1] = sys(SysSetTidAddress, word)
		r[2] = sys(SysSetTidAddress, word+2)
		r[3] = sys(9999)
		got <- r
		sys(SysExit, 7)
	})
	e.code(0x20020, func(sys func(int, ...uint64) int64, fs, arg, _ uint64) {
		// Parent: thread limit, bad arguments.
		got <- [4]int64{
			sys(SysThreadCreate, 0x20000, 0, 0x1000, word+5),
			sys(SysThreadCreate, 0, 0, 0x1000, 0),
			sys(SysThreadCreate, 0x30000, 0, 0x1000, 0),      // launch fails
			sys(SysThreadCreate, 0x20000, 0, 0x1000, 0x1000), // tid word outside memory
		}
	})
	_ = e.a.StoreUint32(word, 0xffff) // cleared at exit through set_tid_address
	th, err := e.ts.Start(0x20000, 0, 0x1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r[0] != int64(th.TID()) || r[1] != r[0] || r[2] != -eINVAL || r[3] != -eNOSYS {
		t.Errorf("gettid/set_tid_address/unknown: %v (tid %d)", r, th.TID())
	}
	if err := th.Join(); err != nil {
		t.Fatal(err)
	}
	if st, ok := th.ExitStatus(); !ok || st != 7 {
		t.Errorf("exit status %d %v, want 7", st, ok)
	}
	if v, _ := e.a.LoadUint32(word); v != 0 {
		t.Errorf("set_tid_address word %#x not cleared at exit", v)
	}
	p, err := e.ts.Start(0x20020, 0, 0x1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	r = <-got
	if r[0] != -eINVAL || r[1] != -eINVAL || r[2] != -eINVAL || r[3] != -eFAULT {
		t.Errorf("bad creates: %v", r)
	}
	_ = p.Join()
	// Limit: 2 live threads.
	block := make(chan struct{})
	e.code(0x20040, func(sys func(int, ...uint64) int64, fs, arg, _ uint64) { <-block })
	t1, err1 := e.ts.Start(0x20040, 0, 0x1000, 0)
	t2, err2 := e.ts.Start(0x20040, 0, 0x1000, 0)
	_, err3 := e.ts.Start(0x20040, 0, 0x1000, 0)
	if err1 != nil || err2 != nil || !errors.Is(err3, ErrThreadLimit) {
		t.Errorf("limit: %v %v %v", err1, err2, err3)
	}
	if t1.TID() == t2.TID() {
		t.Errorf("duplicate tids")
	}
	close(block)
	_ = t1.Join()
	_ = t2.Join()
	if _, err := e.ts.Start(0x20040, 0, 0x1000, 2); err == nil {
		t.Errorf("misaligned tid address accepted")
	}
	if err := e.tls.Trim(); err != nil {
		t.Fatal(err)
	}
	if n := e.a.liveCount(); n != 1 {
		t.Errorf("%d allocations live, want 1: %v", n, e.a.liveList())
	}
}

// TestExitJoinUnderLoad: threads that create threads, exit and join, many
// rounds at once.
func TestExitJoinUnderLoad(t *testing.T) {
	e := newThreadEnv(t, 64)
	words, _ := e.a.Alloc(4*64, 64)
	var spins sync.WaitGroup
	e.code(0x20000, func(sys func(int, ...uint64) int64, fs, arg, _ uint64) {
		for i := 0; i < 100; i++ {
			sys(SysSchedYield)
		}
		sys(SysExit, 0)
	})
	for w := uint64(0); w < 8; w++ {
		spins.Add(1)
		entry := 0x21000 + 32*w
		e.code(entry, func(sys func(int, ...uint64) int64, fs, arg, _ uint64) {
			defer spins.Done()
			base := words + 4*8*arg
			for round := 0; round < 20; round++ {
				for i := uint64(0); i < 6; i++ {
					for sys(SysThreadCreate, 0x20000, 0, 0x1000, base+4*i) == -eAGAIN {
						sys(SysSchedYield)
					}
				}
				for i := uint64(0); i < 6; i++ {
					joinWord(sys, e.a, base+4*i)
				}
			}
		})
		if _, err := e.ts.Start(entry, w, 0x1000, 0); err != nil {
			t.Fatal(err)
		}
	}
	spins.Wait()
	e.ts.Close() // waits until every thread is reaped
	if e.ts.Live() != 0 {
		t.Errorf("%d threads live", e.ts.Live())
	}
	if err := e.tls.Trim(); err != nil {
		t.Fatal(err)
	}
	if n := e.a.liveCount(); n != 1 {
		t.Errorf("%d allocations live, want 1", n)
	}
}

// TestStartAfterClose: a closed manager refuses new threads, also from a
// Start racing with Close.
func TestStartAfterClose(t *testing.T) {
	e := newThreadEnv(t, 8)
	e.code(0x20000, func(sys func(int, ...uint64) int64, fs, arg, _ uint64) {})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				if th, err := e.ts.Start(0x20000, 0, 0x1000, 0); err == nil {
					_ = th.Join()
				}
			}
		}()
	}
	e.ts.Close()
	wg.Wait()
	if _, err := e.ts.Start(0x20000, 0, 0x1000, 0); !errors.Is(err, ErrLaunch) {
		t.Errorf("Start after Close: %v, want ErrLaunch", err)
	}
	if e.ts.Live() != 0 {
		t.Errorf("%d threads live", e.ts.Live())
	}
}
