package pthread

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// getAddr is the Go model of the in-sandbox __tls_get_addr: the same reads
// in the same order.
func getAddr(a *arena, tp uint64, mod, off uint64) uint64 {
	dtv := a.load64(tp + 8)
	if mod > a.load64(dtv-8) {
		return 0
	}
	b := a.load64(dtv + 8*mod)
	if b == 0 {
		return 0
	}
	return b + off
}

func tmpl(init string, memsz, align uint64) Template {
	return Template{Init: []byte(init), Memsz: memsz, Align: align}
}

// checkBlock checks that module m's block in thread t holds the template.
// freeAndCheckLeaks frees threads, trims the runtime's caches and fails
// the test if any allocation of arena a is still live.
func freeAndCheckLeaks(t *testing.T, a *arena, r *TLS, threads ...*ThreadTLS) {
	t.Helper()
	for _, th := range threads {
		if err := r.FreeThread(th); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Trim(); err != nil {
		t.Fatal(err)
	}
	if n := a.liveCount(); n != 0 {
		t.Errorf("%d allocations leaked: %v", n, a.liveList())
	}
}

func checkBlock(t *testing.T, a *arena, r *TLS, th *ThreadTLS, m *Module) {
	t.Helper()
	b := getAddr(a, th.TP(), uint64(m.ID()), 0)
	if b == 0 {
		t.Fatalf("module %q: no block in thread %#x", m.Name(), th.TP())
	}
	if got := r.Block(th, m); got != b {
		t.Fatalf("module %q: Block = %#x, DTV says %#x", m.Name(), got, b)
	}
	tp := m.Template()
	if tp.Align > 1 && (b-tp.Vaddr)%tp.Align != 0 {
		t.Fatalf("module %q: block %#x not congruent to vaddr %#x mod %d", m.Name(), b, tp.Vaddr, tp.Align)
	}
	if off, ok := m.TPOffset(); ok && th.TP()+uint64(off) != b {
		t.Fatalf("module %q: static block %#x != TP%+d", m.Name(), b, off)
	}
	got := a.readBytes(b, tp.Memsz)
	want := append(append([]byte{}, tp.Init...), make([]byte, tp.Memsz-uint64(len(tp.Init)))...)
	if !bytes.Equal(got, want) {
		t.Fatalf("module %q: block %x, want %x", m.Name(), got, want)
	}
}

func TestStaticOffset(t *testing.T) {
	tests := []struct {
		used, memsz, align, vaddr, want uint64
	}{
		{0, 0, 1, 0, 0},
		{0, 1, 1, 0, 1},
		{0, 9, 8, 0, 16}, // psABI: roundup(9, 8)
		{16, 4, 4, 0, 20},
		{16, 4, 16, 0, 32},
		{0, 100, 4096, 0, 4096},
		{4096, 1, 4096, 0, 8192},
		{0, 8, 16, 8, 8},       // TP-8 ≡ 8 (mod 16)
		{0, 9, 16, 8, 24},      // TP-24 ≡ 8
		{0, 8, 16, 4, 12},      // TP-12 ≡ 4
		{10, 3, 8, 0x1005, 19}, // -19 ≡ 5 (mod 8)
	}
	for _, tc := range tests {
		got := staticOffset(tc.used, tc.memsz, tc.align, tc.vaddr)
		if got != tc.want {
			t.Errorf("staticOffset(%d,%d,%d,%#x) = %d, want %d", tc.used, tc.memsz, tc.align, tc.vaddr, got, tc.want)
		}
		if got < tc.used+tc.memsz || (got+tc.vaddr)%tc.align != 0 {
			t.Errorf("staticOffset(%d,%d,%d,%#x) = %d violates its contract", tc.used, tc.memsz, tc.align, tc.vaddr, got)
		}
	}
}

func TestLayoutTCBAndStatic(t *testing.T) {
	a := newArena(8 << 20)
	r, err := NewTLS(a, Config{TCBReserved: 100, StaticSurplus: 1000})
	if err != nil {
		t.Fatal(err)
	}
	exe, err := r.Load("exe", tmpl("abc", 10, 8), true)
	if err != nil {
		t.Fatal(err)
	}
	lib, err := r.Load("libx.so", tmpl("\x01\x02\x03\x04\x05", 40, 4096), true)
	if err != nil {
		t.Fatal(err)
	}
	if exe.ID() != 1 || lib.ID() != 2 {
		t.Fatalf("ids %d %d, want 1 2", exe.ID(), lib.ID())
	}
	if off, _ := exe.TPOffset(); off != -16 {
		t.Errorf("exe TPOffset %d, want -16 (roundup(10, 8))", off)
	}
	if off, _ := lib.TPOffset(); off != -4096 {
		t.Errorf("lib TPOffset %d, want -4096", off)
	}
	th, err := r.NewThread()
	if err != nil {
		t.Fatal(err)
	}
	if th.TP()%4096 != 0 {
		t.Errorf("TP %#x not 4 KiB aligned", th.TP())
	}
	if got := a.load64(th.TP()); got != th.TP() {
		t.Errorf("self pointer %#x, want %#x", got, th.TP())
	}
	if got := a.load64(th.TP() + 8); got != th.DTV() {
		t.Errorf("DTV pointer %#x, want %#x", got, th.DTV())
	}
	// Reserved area: zero and inside the allocation.
	if res := a.readBytes(th.TP()+16, 112); !bytes.Equal(res, make([]byte, 112)) {
		t.Errorf("reserved TCB area not zero")
	}
	if want := alignUp(4096+1000, 4096); r.StaticSize() != want {
		t.Errorf("StaticSize %d, want %d", r.StaticSize(), want)
	}
	if g := a.load64(th.DTV()); g != r.Generation() || g != 2 {
		t.Errorf("dtv generation %d, runtime %d, want 2", g, r.Generation())
	}
	checkBlock(t, a, r, th, exe)
	checkBlock(t, a, r, th, lib)
	// A TLS access through the GD model adds the offset.
	if got, want := getAddr(a, th.TP(), 2, 3), th.TP()-4096+3; got != want {
		t.Errorf("getAddr(2, 3) = %#x, want %#x", got, want)
	}
	if getAddr(a, th.TP(), 9, 0) != 0 || getAddr(a, th.TP(), 1<<40, 0) != 0 {
		t.Errorf("unknown module ids must give 0")
	}
	freeAndCheckLeaks(t, a, r, th)
	if err := r.FreeThread(th); err == nil {
		t.Errorf("double FreeThread accepted")
	}
}

func TestStaticSurplusAndNamedError(t *testing.T) {
	a := newArena(8 << 20)
	r, err := NewTLS(a, Config{StaticSurplus: 8192})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Load("exe", tmpl("x", 100, 16), true); err != nil {
		t.Fatal(err)
	}
	th, err := r.NewThread()
	if err != nil {
		t.Fatal(err)
	}
	size := r.StaticSize() // alignUp(112+8192, 4096) = 12288
	if size != 12288 {
		t.Fatalf("StaticSize %d, want 12288", size)
	}
	// An initial-exec module loaded later lands in the surplus, in the
	// running thread and in threads created afterwards.
	ie, err := r.Load("libie.so", tmpl("IE!", 5000, 64), true)
	if err != nil {
		t.Fatal(err)
	}
	th2, err := r.NewThread()
	if err != nil {
		t.Fatal(err)
	}
	checkBlock(t, a, r, th, ie)
	checkBlock(t, a, r, th2, ie)
	// One that does not fit gives the named error and changes nothing.
	gen := r.Generation()
	_, err = r.Load("libhuge.so", tmpl("", 7200, 32), true)
	var se *StaticTLSError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want *StaticTLSError", err)
	}
	if se.Module != "libhuge.so" || se.Size != 7200 || se.Align != 32 || se.Available != 112+8192 || se.Used != 5120 || se.Needed != 12320 {
		t.Errorf("error fields %+v", *se)
	}
	for _, s := range []string{"libhuge.so", "7200", "8304", "static TLS"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	// The area's rounding slack (up to 12288) is not surplus: a module
	// ending at 8432 > 112+8192 is refused as glibc would refuse it.
	if _, err := r.Load("libslack.so", tmpl("", 3300, 16), true); !errors.As(err, &se) || se.Needed != 8432 {
		t.Errorf("module in the rounding slack: got %v, want a StaticTLSError needing 8432", err)
	}
	if r.Generation() != gen || len(r.Modules()) != 2 {
		t.Errorf("failed Load changed state")
	}
	// The same module fits as dynamic TLS.
	dyn, err := r.Load("libhuge.so", tmpl("", 7200, 32), false)
	if err != nil {
		t.Fatal(err)
	}
	checkBlock(t, a, r, th, dyn)
	freeAndCheckLeaks(t, a, r, th, th2)
}

func TestDynamicLoadUnloadReuse(t *testing.T) {
	a := newArena(64 << 20)
	r, err := NewTLS(a, Config{})
	if err != nil {
		t.Fatal(err)
	}
	exe, err := r.Load("exe", tmpl("main", 8, 8), true)
	if err != nil {
		t.Fatal(err)
	}
	var threads []*ThreadTLS
	for i := 0; i < 8; i++ {
		th, err := r.NewThread()
		if err != nil {
			t.Fatal(err)
		}
		threads = append(threads, th)
	}
	// Load 40 modules while threads exist: DTVs must grow past 16 slots,
	// and the old DTV pointer must keep working for old ids.
	var mods []*Module
	for i := 0; i < 40; i++ {
		init := fmt.Sprintf("mod%02d", i)
		m, err := r.Load(fmt.Sprintf("lib%d.so", i), Template{Init: []byte(init), Memsz: uint64(len(init) + i*3), Align: 1 << (i % 13), Vaddr: uint64(i * 24)}, false)
		if err != nil {
			t.Fatal(err)
		}
		if m.ID() != i+2 {
			t.Fatalf("module %d got id %d", i, m.ID())
		}
		mods = append(mods, m)
	}
	late, err := r.NewThread()
	if err != nil {
		t.Fatal(err)
	}
	threads = append(threads, late)
	for _, th := range threads {
		checkBlock(t, a, r, th, exe)
		for _, m := range mods {
			checkBlock(t, a, r, th, m)
		}
		if a.load64(th.DTV()) != r.Generation() {
			t.Errorf("thread %#x: dtv generation %d, want %d", th.TP(), a.load64(th.DTV()), r.Generation())
		}
	}
	// Each thread has its own copy: write into thread 0's block.
	b0 := r.Block(threads[0], mods[5])
	if err := a.Write(b0, []byte("XX")); err != nil {
		t.Fatal(err)
	}
	checkBlock(t, a, r, threads[1], mods[5])
	// Unload a few; their ids are reused lowest first.
	for _, i := range []int{7, 3, 20} {
		if err := r.Unload(mods[i]); err != nil {
			t.Fatal(err)
		}
		for _, th := range threads {
			if getAddr(a, th.TP(), uint64(mods[i].ID()), 0) != 0 {
				t.Errorf("unloaded module still in DTV")
			}
		}
	}
	if err := r.Unload(mods[7]); err == nil {
		t.Errorf("double Unload accepted")
	}
	for _, want := range []int{5, 9, 22, 42} {
		m, err := r.Load("again", tmpl("new", 16, 16), false)
		if err != nil {
			t.Fatal(err)
		}
		if m.ID() != want {
			t.Errorf("reused id %d, want %d", m.ID(), want)
		}
		for _, th := range threads {
			checkBlock(t, a, r, th, m)
		}
	}
	freeAndCheckLeaks(t, a, r, threads...)
}

func TestLoadRollbackOnAllocFailure(t *testing.T) {
	a := newArena(8 << 20)
	r, err := NewTLS(a, Config{})
	if err != nil {
		t.Fatal(err)
	}
	var threads []*ThreadTLS
	for i := 0; i < 4; i++ {
		th, err := r.NewThread()
		if err != nil {
			t.Fatal(err)
		}
		threads = append(threads, th)
	}
	before := a.liveCount()
	a.fail = 3 // the third thread's block fails
	if _, err := r.Load("libfail.so", tmpl("x", 64, 16), false); err == nil || !strings.Contains(err.Error(), "libfail.so") {
		t.Fatalf("Load error %v, want one naming libfail.so", err)
	}
	if err := r.Trim(); err != nil {
		t.Fatal(err)
	}
	if a.liveCount() != before || len(r.Modules()) != 0 || r.Generation() != 0 {
		t.Errorf("failed Load left state behind: %d -> %d allocations", before, a.liveCount())
	}
	m, err := r.Load("libok.so", tmpl("x", 64, 16), false)
	if err != nil || m.ID() != 1 {
		t.Fatalf("Load after failure: %v id %v", err, m)
	}
	for _, th := range threads {
		checkBlock(t, a, r, th, m)
	}
	freeAndCheckLeaks(t, a, r, threads...)
}

func TestLoadRejects(t *testing.T) {
	a := newArena(1 << 20)
	r, err := NewTLS(a, Config{MaxModules: 2})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		t      Template
		static bool
		want   string
	}{
		{"align3", tmpl("", 8, 3), false, "not a power of two"},
		{"bigalign", tmpl("", 8, 1<<20), false, "exceeds the limit"},
		{"staticalign", tmpl("", 8, 8192), true, "thread pointer's alignment"},
		{"initbig", tmpl("abcdef", 3, 1), false, "larger than its memory size"},
		{"huge", tmpl("", 1<<40, 1), false, "exceeds the limit"},
	}
	for _, tc := range tests {
		_, err := r.Load(tc.name, tc.t, tc.static)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s: error %v, want one naming the module and %q", tc.name, err, tc.want)
		}
	}
	for i := 0; i < 2; i++ {
		if _, err := r.Load("ok", tmpl("", 8, 8), false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Load("third", tmpl("", 8, 8), false); !errors.Is(err, ErrTooManyModules) {
		t.Errorf("got %v, want ErrTooManyModules", err)
	}
	for _, c := range []Config{{MaxStaticAlign: 100}, {MaxStaticAlign: 8}, {MaxAlign: 1024}, {MaxModules: -1}, {TCBReserved: 1 << 30}} {
		if _, err := NewTLS(a, c); err == nil {
			t.Errorf("NewTLS(%+v) accepted", c)
		}
	}
}

// TestConcurrentLoadAndThreads runs Load/Unload against NewThread/FreeThread
// and readers of the DTV (as sandbox threads would read it) under -race.
func TestConcurrentLoadAndThreads(t *testing.T) {
	a := newArena(256 << 20)
	r, err := NewTLS(a, Config{StaticSurplus: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Load("exe", tmpl("E", 8, 8), true); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				th, err := r.NewThread()
				if err != nil {
					errc <- err
					return
				}
				// Read module 1 as __tls_get_addr would.
				if b := getAddr(a, th.TP(), 1, 0); a.readBytes(b, 1)[0] != 'E' {
					errc <- fmt.Errorf("thread %#x: bad static block", th.TP())
				}
				if err := r.FreeThread(th); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 30; i++ {
			m, err := r.Load("lib", tmpl("L", 32, 32), false)
			if err != nil {
				errc <- err
				return
			}
			if err := r.Unload(m); err != nil {
				errc <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	freeAndCheckLeaks(t, a, r)
}

// TestThreadAreaReuse: a thread's memory is reused by the next thread
// (no mmap per thread) and comes back clean: TCB words, zeroed reserved
// area, tdata images and zeroed tbss, a fresh DTV.
func TestThreadAreaReuse(t *testing.T) {
	a := newArena(8 << 20)
	r, err := NewTLS(a, Config{TCBReserved: 64})
	if err != nil {
		t.Fatal(err)
	}
	exe, err := r.Load("exe", tmpl("abc", 32, 16), true)
	if err != nil {
		t.Fatal(err)
	}
	lib, err := r.Load("lib", tmpl("xyz", 48, 16), false)
	if err != nil {
		t.Fatal(err)
	}
	th, err := r.NewThread()
	if err != nil {
		t.Fatal(err)
	}
	dirty := bytes.Repeat([]byte{0xee}, 64)
	for _, at := range []uint64{th.TP() + 16, r.Block(th, exe), r.Block(th, lib), th.DTV() + 8*3} {
		if err := a.Write(at, dirty[:32]); err != nil {
			t.Fatal(err)
		}
	}
	tp, allocs := th.TP(), a.liveCount()
	if err := r.FreeThread(th); err != nil {
		t.Fatal(err)
	}
	th2, err := r.NewThread()
	if err != nil {
		t.Fatal(err)
	}
	if th2.TP() != tp || a.liveCount() != allocs {
		t.Errorf("thread memory not reused: TP %#x (was %#x), %d allocations (were %d)", th2.TP(), tp, a.liveCount(), allocs)
	}
	if res := a.readBytes(th2.TP()+16, 64); !bytes.Equal(res, make([]byte, 64)) {
		t.Errorf("reserved TCB area not cleared: %x", res)
	}
	checkBlock(t, a, r, th2, exe)
	checkBlock(t, a, r, th2, lib)
	if a.load64(th2.DTV()+8*3) != 0 || getAddr(a, th2.TP(), 3, 0) != 0 {
		t.Errorf("stale DTV slot 3")
	}
	freeAndCheckLeaks(t, a, r, th2)
}
