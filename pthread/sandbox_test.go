package pthread

import (
	"context"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"halite/sandbox"
	"halite/validate"
)

// codeOff is where the tests map testdata/sandbox/threads.S (offset from B).
const codeOff = 0x10000000

var progObj struct {
	once sync.Once
	obj  string
	err  error
}

// sandboxEnv is a sandbox with pthread installed and the test programs
// linked against its runtime object and mapped.
type sandboxEnv struct {
	s    *sandbox.Sandbox
	y    *System
	syms map[string]uint64 // absolute guest addresses
}

func newSandboxEnv(tb testing.TB, cfg Config) *sandboxEnv {
	tb.Helper()
	for _, tool := range []string{"as", "ld", "objcopy"} {
		if _, err := exec.LookPath(tool); err != nil {
			tb.Skipf("%s not installed (scripts/setup installs binutils)", tool)
		}
	}
	dir := testDir(tb)
	progObj.once.Do(func() {
		progObj.obj = filepath.Join(dir, "threads.o")
		if out, err := exec.Command("as", "--64", "-o", progObj.obj, "testdata/sandbox/threads.S").CombinedOutput(); err != nil {
			progObj.err = fmt.Errorf("as: %v\n%s", err, out)
		}
	})
	if progObj.err != nil {
		tb.Fatal(progObj.err)
	}
	s, err := sandbox.New(sandbox.Config{Validate: validate.Options{Profile: validate.Halite, Features: validate.HostFeatures()}, MaxThreads: 80})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	y, err := Install(ctx, s, cfg, ThreadsConfig{MaxThreads: 80})
	if err != nil {
		cancel()
		s.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		cancel()
		s.Close()
		y.Close()
	})
	tga, _ := y.Symbol("__tls_get_addr")
	f, err := os.CreateTemp(dir, "prog-*.elf")
	if err != nil {
		tb.Fatal(err)
	}
	f.Close()
	elfPath, binPath := f.Name(), f.Name()+".bin"
	if out, err := exec.Command("ld", "-Ttext="+fmt.Sprintf("%#x", codeOff), "--defsym=__tls_get_addr="+fmt.Sprintf("%#x", tga-s.Base()),
		"-e", "0", "-o", elfPath, progObj.obj).CombinedOutput(); err != nil {
		tb.Fatalf("ld: %v\n%s", err, out)
	}
	if out, err := exec.Command("objcopy", "-O", "binary", "-j", ".text", elfPath, binPath).CombinedOutput(); err != nil {
		tb.Fatalf("objcopy: %v\n%s", err, out)
	}
	code, err := os.ReadFile(binPath)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.MapCode(s.Base()+codeOff, code); err != nil {
		tb.Fatalf("MapCode of the test programs: %v", err)
	}
	ef, err := elf.Open(elfPath)
	if err != nil {
		tb.Fatal(err)
	}
	defer ef.Close()
	syms, err := ef.Symbols()
	if err != nil {
		tb.Fatal(err)
	}
	e := &sandboxEnv{s: s, y: y, syms: map[string]uint64{}}
	for _, sym := range syms {
		if elf.ST_BIND(sym.Info) == elf.STB_GLOBAL && sym.Section != elf.SHN_ABS {
			e.syms[sym.Name] = s.Base() + sym.Value
		}
	}
	return e
}

func (e *sandboxEnv) alloc(tb testing.TB, size uint64) uint64 {
	tb.Helper()
	a, err := e.s.Alloc(size, 4096, sandbox.ProtRead|sandbox.ProtWrite)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func (e *sandboxEnv) put64(tb testing.TB, addr uint64, vals ...uint64) {
	tb.Helper()
	b := make([]byte, 8*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	if err := e.s.Write(addr, b); err != nil {
		tb.Fatal(err)
	}
}

func (e *sandboxEnv) get64(tb testing.TB, addr uint64) uint64 {
	tb.Helper()
	var b [8]byte
	if err := e.s.Read(addr, b[:]); err != nil {
		tb.Fatal(err)
	}
	return binary.LittleEndian.Uint64(b[:])
}

func le64(s string) uint64 { return binary.LittleEndian.Uint64([]byte(s)) }

// TestSandboxTLS: 64 sandbox threads each see their own copies of a static
// and a dynamic (4 KiB-aligned) TLS block, initialised from tdata with
// zeroed tbss; a module loaded while they run is visible in all of them
// through __tls_get_addr.
func TestSandboxTLS(t *testing.T) {
	const n = 64
	e := newSandboxEnv(t, Config{})
	tls := e.y.TLS()
	exe, err := tls.Load("exe", Template{Init: []byte("tdata-01"), Memsz: 64, Align: 64}, true)
	if err != nil {
		t.Fatal(err)
	}
	lib, err := tls.Load("lib.so", Template{Init: []byte("dynamic!"), Memsz: 4096 + 16, Align: 4096}, false)
	if err != nil {
		t.Fatal(err)
	}
	data := e.alloc(t, n*256+4096)
	idxLib, idxLate, ready, gate := data+n*256, data+n*256+16, data+n*256+32, data+n*256+40
	e.put64(t, idxLib, uint64(lib.ID()), 0)
	off, _ := exe.TPOffset()
	var threads []*Thread
	for i := uint64(0); i < n; i++ {
		rec := data + 256*i
		e.put64(t, rec, 1000+i, uint64(off), idxLib, idxLate, ready, gate)
		stack := e.alloc(t, 16<<10)
		th, err := e.y.Start(e.syms["tlsprobe"], rec, stack+16<<10, 0)
		if err != nil {
			t.Fatal(err)
		}
		threads = append(threads, th)
	}
	deadline := time.Now().Add(60 * time.Second)
	for uint32(e.get64(t, ready)) != n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d threads reached the gate", uint32(e.get64(t, ready)), n)
		}
		time.Sleep(time.Millisecond)
	}
	// All threads are parked: load a module now, then open the gate.
	late, err := tls.Load("late.so", Template{Init: []byte("late-mod"), Memsz: 24, Align: 8}, false)
	if err != nil {
		t.Fatal(err)
	}
	e.put64(t, idxLate, uint64(late.ID()), 0)
	wantDyn := make([]uint64, n)
	wantLate := make([]uint64, n)
	for i, th := range threads {
		wantDyn[i] = tls.Block(th.TLSThread(), lib)
		wantLate[i] = tls.Block(th.TLSThread(), late)
	}
	e.put64(t, gate, 1)
	e.y.Threads().Futexes().Wake(gate, 1<<30, futexBitsetAny)
	for i, th := range threads {
		if err := th.Join(); err != nil {
			t.Fatalf("thread %d: %v", i, err)
		}
		rec := data + 256*uint64(i)
		out := func(o uint64) uint64 { return e.get64(t, rec+o) }
		tp := th.TP()
		id := 1000 + uint64(i)
		checks := []struct {
			what      string
			got, want uint64
		}{
			{"TP", out(48), tp},
			{"static block", out(56), tp + uint64(off)},
			{"static tdata", out(64), le64("tdata-01")},
			{"static tbss", out(72), 0},
			{"dynamic block", out(80), wantDyn[i]},
			{"dynamic tdata", out(88), le64("dynamic!")},
			{"dynamic tbss", out(96), 0},
			{"own static copy", out(104), id},
			{"own dynamic copy", out(112), id},
			{"late block", out(120), wantLate[i]},
			{"late tdata", out(128), le64("late-mod")},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("thread %d: %s = %#x, want %#x", i, c.what, c.got, c.want)
			}
		}
		if out(80)%4096 != 0 || out(80) == 0 {
			t.Errorf("thread %d: dynamic block %#x not 4 KiB aligned", i, out(80))
		}
	}
}

// TestSandboxMutexCondvarStress: a futex mutex and condition variable in
// sandbox code pass a token around 16 threads created and joined by a
// sandbox thread (thread_create host call, tid words), while another
// sandbox thread creates and joins 40 short-lived threads that end with
// the exit host call.
func TestSandboxMutexCondvarStress(t *testing.T) {
	const n, rounds, churn = 16, 150, 40
	e := newSandboxEnv(t, Config{})
	data := e.alloc(t, 64<<10)
	mutex, cond, turn, counter, counter2 := data, data+64, data+128, data+192, data+256
	ringRecs, tids, spawnRec := data+1024, data+8192, data+12288
	churnTids, churnRec := data+16384, data+20480
	for i := uint64(0); i < n; i++ {
		e.put64(t, ringRecs+128*i, i, n, rounds, mutex, cond, turn, counter, counter2)
	}
	stacks := e.alloc(t, (n+churn)*(16<<10))
	e.put64(t, spawnRec, n, e.syms["ring"], ringRecs, 128, stacks+16<<10, 16<<10, tids, 99)
	cstacks := stacks + n*(16<<10)
	e.put64(t, churnRec, churn, e.syms["exit_call"], 0, 0, cstacks+16<<10, 16<<10, churnTids, 99)
	stk := e.alloc(t, 32<<10)
	spawn, err := e.y.Start(e.syms["spawner"], spawnRec, stk+16<<10, 0)
	if err != nil {
		t.Fatal(err)
	}
	chn, err := e.y.Start(e.syms["spawner"], churnRec, stk+32<<10, 0)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 2)
	go func() { done <- spawn.Join() }()
	go func() { done <- chn.Join() }()
	for i := 0; i < 2; i++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(120 * time.Second):
			t.Fatalf("stress did not finish: turn %d counter %d", e.get64(t, turn), e.get64(t, counter))
		}
	}
	if f := e.get64(t, spawnRec+56); f != 0 {
		t.Errorf("%d ring creates failed", f)
	}
	if f := e.get64(t, churnRec+56); f != 0 {
		t.Errorf("%d churn creates failed", f)
	}
	if got := e.get64(t, turn); got != n*rounds {
		t.Errorf("turn %d, want %d", got, n*rounds)
	}
	if got := e.get64(t, counter); got != n*rounds {
		t.Errorf("counter %d, want %d (lost updates: the mutex failed)", got, n*rounds)
	}
	if got := e.get64(t, counter2); got != n*rounds*20 {
		t.Errorf("counter2 %d, want %d (lost updates: the mutex failed)", got, n*rounds*20)
	}
	if m := e.get64(t, mutex); uint32(m) != 0 {
		t.Errorf("mutex word %d after the run", uint32(m))
	}
}

// BenchmarkTLSGetAddr: the __tls_get_addr fast path in sandbox code, and a
// plain load called the same way (SFI call and masked return).
func BenchmarkTLSGetAddr(b *testing.B) {
	e := newSandboxEnv(b, Config{})
	m, err := e.y.TLS().Load("lib.so", Template{Init: []byte("x"), Memsz: 64, Align: 16}, false)
	if err != nil {
		b.Fatal(err)
	}
	data := e.alloc(b, 4096)
	stk := e.alloc(b, 64<<10)
	e.put64(b, data+64, uint64(m.ID()), 8)
	for _, bc := range []struct{ name, fn string }{{"tls_get_addr", "bench_tga"}, {"plain_load", "bench_load"}} {
		b.Run(bc.name, func(b *testing.B) {
			e.put64(b, data, data+64, uint64(b.N))
			b.ResetTimer()
			th, err := e.y.Start(e.syms[bc.fn], data, stk+64<<10, 0)
			if err != nil {
				b.Fatal(err)
			}
			if err := th.Join(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkThreadCreateJoin: start a sandbox thread (TCB, TLS, raw thread)
// that returns at once, and join it.
func BenchmarkThreadCreateJoin(b *testing.B) {
	e := newSandboxEnv(b, Config{})
	if _, err := e.y.TLS().Load("exe", Template{Init: []byte("tdata"), Memsz: 64, Align: 16}, true); err != nil {
		b.Fatal(err)
	}
	stk := e.alloc(b, 64<<10)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		th, err := e.y.Start(e.syms["exit_now"], 0, stk+64<<10, 0)
		if err != nil {
			b.Fatal(err)
		}
		if err := th.Join(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "us/op")
}

// BenchmarkRawThreadCreateJoin: the sandbox's raw thread start+wait alone
// (no TCB or TLS), for what pthread adds on top.
func BenchmarkRawThreadCreateJoin(b *testing.B) {
	e := newSandboxEnv(b, Config{})
	stk := e.alloc(b, 64<<10)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		th, err := e.s.Start(context.Background(), sandbox.ThreadSpec{Entry: e.syms["exit_now"], StackTop: stk + 64<<10})
		if err != nil {
			b.Fatal(err)
		}
		if err := th.Wait(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "us/op")
}

// TestSandboxCloseStopsThreads: threads blocked in a futex wait forever are
// stopped by System.Close, and Join reports why.
func TestSandboxCloseStopsThreads(t *testing.T) {
	e := newSandboxEnv(t, Config{})
	exe, err := e.y.TLS().Load("exe", Template{Init: []byte("x"), Memsz: 16, Align: 16}, true)
	if err != nil {
		t.Fatal(err)
	}
	lib, err := e.y.TLS().Load("lib", Template{Init: []byte("y"), Memsz: 16, Align: 16}, false)
	if err != nil {
		t.Fatal(err)
	}
	off, _ := exe.TPOffset()
	data := e.alloc(t, 4096)
	// tlsprobe parks on a gate that never opens.
	e.put64(t, data+2048, uint64(lib.ID()), 0)
	var threads []*Thread
	for i := uint64(0); i < 4; i++ {
		rec := data + 256*i
		e.put64(t, rec, i, uint64(off), data+2048, data+2048, data+2064, data+2072)
		stk := e.alloc(t, 16<<10)
		th, err := e.y.Start(e.syms["tlsprobe"], rec, stk+16<<10, 0)
		if err != nil {
			t.Fatal(err)
		}
		threads = append(threads, th)
	}
	deadline := time.Now().Add(30 * time.Second)
	for e.y.Threads().Futexes().Waiters(data+2072) != 4 || e.y.Threads().Live() != 4 {
		if time.Now().After(deadline) {
			t.Fatal("threads did not park")
		}
		time.Sleep(time.Millisecond)
	}
	done := make(chan struct{})
	go func() { e.y.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not stop the threads")
	}
	for i, th := range threads {
		if err := th.Join(); err == nil {
			t.Errorf("thread %d: Join = nil after a forced stop", i)
		}
	}
	if e.y.Threads().Live() != 0 {
		t.Errorf("%d threads live after Close", e.y.Threads().Live())
	}
}

// TestThreadOf: the Thread of a raw thread is found only for threads the
// System started and has not reaped.
func TestThreadOf(t *testing.T) {
	e := newSandboxEnv(t, Config{})
	stk := e.alloc(t, 64<<10)
	raw, err := e.s.Start(context.Background(), sandbox.ThreadSpec{Entry: e.syms["exit_now"], StackTop: stk + 64<<10})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.y.ThreadOf(raw); got != nil {
		t.Errorf("ThreadOf(a raw thread pthread did not start) = tid %d", got.TID())
	}
	if err := raw.Wait(); err != nil {
		t.Fatal(err)
	}
	th, err := e.y.Start(e.syms["exit_now"], 0, stk+64<<10, 0)
	if err != nil {
		t.Fatal(err)
	}
	rt, ok := th.raw.(*sandbox.Thread)
	if !ok {
		t.Fatalf("raw thread is a %T", th.raw)
	}
	if err := th.Join(); err != nil {
		t.Fatal(err)
	}
	if got := e.y.ThreadOf(rt); got != nil {
		t.Errorf("ThreadOf(a reaped thread) = tid %d", got.TID())
	}
	e2 := newSandboxEnv(t, Config{})
	if got := e2.y.ThreadOf(rt); got != nil {
		t.Errorf("another System's ThreadOf = tid %d", got.TID())
	}
}
