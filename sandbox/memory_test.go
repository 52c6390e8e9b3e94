package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// mapsAround returns the /proc/self/maps lines that overlap [lo, hi).
func mapsAround(t *testing.T, lo, hi uint64) []string {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var a, z uint64
		if _, err := fmt.Sscanf(sc.Text(), "%x-%x", &a, &z); err != nil {
			continue
		}
		if a < hi && z > lo {
			out = append(out, sc.Text())
		}
	}
	return out
}

func TestLayout(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := s.Base()
	if b%Size != 0 {
		t.Fatalf("base %#x not 4 GiB aligned", b)
	}
	// Everything from B-40 GiB to B+44 GiB is ours: PROT_NONE except the
	// trampolines (r-x).
	lines := mapsAround(t, b-GuardSize, b+Size+GuardSize)
	var first, last uint64
	for i, l := range lines {
		var a, z uint64
		var perm string
		fmt.Sscanf(l, "%x-%x %s", &a, &z, &perm)
		if i == 0 {
			first = a
		}
		last = z
		switch {
		case a == b+TrampolineOffset && z == b+UserOffset:
			if perm != "r-xp" {
				t.Errorf("trampolines: %s", l)
			}
		case perm != "---p":
			t.Errorf("unexpected mapping: %s", l)
		}
	}
	if first != b-GuardSize || last != b+Size+GuardSize {
		t.Errorf("reservation [%#x, %#x), want [%#x, %#x)", first, last, b-GuardSize, b+Size+GuardSize)
	}
	s.Close()
	if l := mapsAround(t, b-GuardSize, b+Size+GuardSize); len(l) != 0 {
		t.Errorf("after Close: %v", l)
	}
}

func TestMemoryAPI(t *testing.T) {
	s := newTestSandbox(t, Config{}, "calls")
	b := s.Base()
	data := b + 0x200000
	tests := []struct {
		name string
		err  error
		f    func() error
	}{
		{"map rw", nil, func() error { return s.Map(data, 0x4000, ProtRead|ProtWrite) }},
		{"map wx", ErrWX, func() error { return s.Map(data, 0x1000, ProtWrite|ProtExec) }},
		{"map rwx", ErrWX, func() error { return s.Map(data, 0x1000, ProtRead|ProtWrite|ProtExec) }},
		{"map x", ErrExec, func() error { return s.Map(data, 0x1000, ProtRead|ProtExec) }},
		{"protect x", ErrExec, func() error { return s.Protect(data, 0x1000, ProtRead|ProtExec) }},
		{"protect wx", ErrWX, func() error { return s.Protect(data, 0x1000, ProtWrite|ProtExec) }},
		{"map unaligned", ErrAlign, func() error { return s.Map(data+1, 0x1000, ProtRead) }},
		{"map size 0", ErrAlign, func() error { return s.Map(data, 0, ProtRead) }},
		{"map trampolines", ErrRange, func() error { return s.Map(b+TrampolineOffset, 0x1000, ProtRead) }},
		{"map page 0", ErrRange, func() error { return s.Map(b, 0x1000, ProtRead) }},
		{"map below", ErrRange, func() error { return s.Map(b-0x1000, 0x1000, ProtRead) }},
		{"map past end", ErrRange, func() error { return s.Map(b+Size-0x1000, 0x2000, ProtRead) }},
		{"map wrap", ErrRange, func() error { return s.Map(b+0x100000, ^uint64(0)&^0xfff, ProtRead) }},
		{"map over code", ErrCode, func() error { return s.Map(b+codeOff, 0x1000, ProtRead|ProtWrite) }},
		{"protect code", ErrCode, func() error { return s.Protect(b+codeOff, 0x1000, ProtRead|ProtWrite) }},
		{"protect unmapped", ErrNotMapped, func() error { return s.Protect(b+0x300000, 0x1000, ProtRead) }},
		{"code overlap", ErrCode, func() error { return s.MapCode(b+codeOff+0x20, []byte{0x90}) }},
		{"code unaligned", ErrAlign, func() error { return s.MapCode(b+0x400010, []byte{0x90}) }},
		{"code outside", ErrRange, func() error { return s.MapCode(b+Size, []byte{0x90}) }},
		{"protect ro", nil, func() error { return s.Protect(data+0x1000, 0x1000, ProtRead) }},
		{"unmap", nil, func() error { return s.Unmap(data+0x3000, 0x1000) }},
	}
	for _, tc := range tests {
		err := tc.f()
		if tc.err == nil && err != nil || tc.err != nil && !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
	// Read/Write and their bounds.
	if err := s.Write(data+0xffa, []byte("hello, world")); err == nil {
		t.Error("write across into a read-only page succeeded")
	}
	if err := s.Write(data+0x10, []byte("hello\x00")); err != nil {
		t.Fatal(err)
	}
	if str, err := s.ReadString(data+0x10, 100); err != nil || str != "hello" {
		t.Errorf("ReadString: %q, %v", str, err)
	}
	if _, err := s.ReadString(data+0x10, 4); err == nil {
		t.Error("ReadString over its limit succeeded")
	}
	if err := s.Write(data+0x2ff8, []byte("aaaaaaaa")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadString(data+0x2ff8, 1<<20); !errors.Is(err, ErrFault) {
		t.Errorf("ReadString into unmapped memory: %v", err) // runs into data+0x3000
	}
	buf := make([]byte, 16)
	for _, a := range []uint64{0, b - 8, b, b + 0x300000, data + 0x3000, b + Size - 8, ^uint64(0) - 4} {
		if err := s.Read(a, buf); !errors.Is(err, ErrFault) {
			t.Errorf("read %#x: %v", a, err)
		}
	}
	if err := s.Write(b+codeOff, buf); !errors.Is(err, ErrFault) {
		t.Errorf("write to code: %v", err)
	}
	if err := s.Write(b+TrampolineOffset, buf); !errors.Is(err, ErrFault) {
		t.Errorf("write to trampolines: %v", err)
	}
	if err := s.Read(b+TrampolineOffset, buf); err != nil {
		t.Errorf("read trampolines: %v", err)
	}
	// Alloc finds free space, aligned.
	a1, err := s.Alloc(10000, 1<<20, ProtRead|ProtWrite)
	if err != nil || a1%(1<<20) != 0 {
		t.Fatalf("alloc: %#x, %v", a1, err)
	}
	a2, err := s.Alloc(4096, 0, ProtRead)
	if err != nil || (a2 >= a1 && a2 < a1+12288) {
		t.Fatalf("alloc: %#x overlaps %#x, %v", a2, a1, err)
	}
	if _, err := s.Alloc(4096, 3, ProtRead); !errors.Is(err, ErrAlign) {
		t.Errorf("alloc align 3: %v", err)
	}
	if _, err := s.Alloc(4096, 0, ProtRead|ProtWrite|ProtExec); !errors.Is(err, ErrWX) {
		t.Errorf("alloc rwx: %v", err)
	}
	// Code goes in only valid.
	if err := s.MapCode(b+0x800000, []byte{0x0f, 0x05}); err == nil { // syscall
		t.Error("MapCode accepted a syscall")
	}
	if l := mapsAround(t, b+0x800000, b+0x801000); len(l) != 1 || !strings.Contains(l[0], "---p") {
		t.Errorf("refused code left a mapping: %v", l)
	}
	// Unmapping code allows new code there.
	if err := s.Unmap(b+codeOff, 0x1000); err != nil {
		t.Fatal(err)
	}
	if err := s.MapCode(b+codeOff+0x40, []byte{0x90, 0x90}); err != nil {
		t.Errorf("code after unmap: %v", err)
	}
	got := make([]byte, 0x44)
	if err := s.Read(b+codeOff, got); err != nil || got[0] != 0xf4 || got[0x40] != 0x90 || got[0x42] != 0xf4 {
		t.Errorf("code page: %x, %v", got, err)
	}
	checkNoWX(t)
}

func TestMemoryLimit(t *testing.T) {
	s, err := New(Config{MaxMemory: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The trampolines count (64 KiB).
	if _, err := s.Alloc(1<<20, 0, ProtRead|ProtWrite); !errors.Is(err, ErrMemLimit) {
		t.Errorf("alloc over the limit: %v", err)
	}
	a, err := s.Alloc(512<<10, 0, ProtRead|ProtWrite)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Unmap(a, 512<<10); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Alloc(900<<10, 0, ProtNone); err != nil {
		t.Errorf("PROT_NONE counts as uncommitted: %v", err)
	}
	if _, err := s.Alloc(900<<10, 0, ProtRead); err != nil {
		t.Errorf("alloc after unmap: %v", err)
	}
}

// TestReserveLimit: with `ulimit -v` too small the error says so.
func TestReserveLimit(t *testing.T) {
	if err := globalInit(); err != nil {
		t.Fatal(err)
	}
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_AS, &old); err != nil {
		t.Fatal(err)
	}
	// Current usage plus 16 GiB: enough for Go, not for 88 GiB.
	lim := old
	lim.Cur = vmSize(t) + 16<<30
	if err := unix.Setrlimit(unix.RLIMIT_AS, &lim); err != nil {
		t.Skip(err)
	}
	s, err := New(Config{})
	unix.Setrlimit(unix.RLIMIT_AS, &old)
	if err == nil {
		s.Close()
		t.Fatal("New succeeded under a small RLIMIT_AS")
	}
	t.Log(err)
	if !errors.Is(err, unix.ENOMEM) || !strings.Contains(err.Error(), "ulimit -v") {
		t.Errorf("error %q should mention ulimit -v", err)
	}
}

func vmSize(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		var kb uint64
		if _, err := fmt.Sscanf(l, "VmSize: %d kB", &kb); err == nil {
			return kb << 10
		}
	}
	t.Fatal("no VmSize")
	return 0
}

func TestMapCountHint(t *testing.T) {
	if h := mapCountHint(unix.ENOMEM); !strings.Contains(h, "vm.max_map_count") {
		t.Errorf("hint %q", h)
	}
	if h := mapCountHint(unix.EINVAL); h != "" {
		t.Errorf("hint for EINVAL: %q", h)
	}
}

func TestAtomicWords(t *testing.T) {
	s := newTestSandbox(t, Config{}, "calls")
	a, err := s.Alloc(4096, 0, ProtRead|ProtWrite)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.StoreUint32(a+8, 5); err != nil {
		t.Fatal(err)
	}
	if v, err := s.LoadUint32(a + 8); err != nil || v != 5 {
		t.Errorf("load: %d, %v", v, err)
	}
	if ok, err := s.CompareAndSwapUint32(a+8, 5, 6); !ok || err != nil {
		t.Errorf("cas: %v, %v", ok, err)
	}
	if ok, err := s.CompareAndSwapUint32(a+8, 5, 7); ok || err != nil {
		t.Errorf("failing cas: %v, %v", ok, err)
	}
	b := make([]byte, 4)
	if s.Read(a+8, b); b[0] != 6 {
		t.Errorf("read back %v", b)
	}
	for _, addr := range []uint64{a + 2, a + 4096, s.Base() + codeOff, s.Base() - 4, s.Base() + Size - 2} {
		if _, err := s.LoadUint32(addr); err == nil && addr != s.Base()+codeOff {
			t.Errorf("load %#x succeeded", addr)
		}
		if err := s.StoreUint32(addr, 1); !errors.Is(err, ErrFault) {
			t.Errorf("store %#x: %v", addr, err)
		}
	}
}

func TestAtomicWords64(t *testing.T) {
	s := newTestSandbox(t, Config{}, "calls")
	a, err := s.Alloc(4096, 0, ProtRead|ProtWrite)
	if err != nil {
		t.Fatal(err)
	}
	const v = 0x0123456789abcdef
	if err := s.StoreUint64(a+8, v); err != nil {
		t.Fatal(err)
	}
	if got, err := s.LoadUint64(a + 8); err != nil || got != v {
		t.Errorf("load: %#x, %v", got, err)
	}
	b := make([]byte, 8)
	if s.Read(a+8, b); b[0] != 0xef || b[7] != 0x01 {
		t.Errorf("read back %x (little-endian)", b)
	}
	for _, addr := range []uint64{a + 4, a + 4096, a + 4096 - 4, s.Base() + codeOff, s.Base() - 8, s.Base() + Size - 4} {
		if _, err := s.LoadUint64(addr); err == nil && addr != s.Base()+codeOff {
			t.Errorf("load %#x succeeded", addr)
		}
		if err := s.StoreUint64(addr, 1); !errors.Is(err, ErrFault) {
			t.Errorf("store %#x: %v", addr, err)
		}
	}
}

// TestRetiredCode: code unmapped while a thread is alive cannot be
// replaced until the thread is gone.
func TestRetiredCode(t *testing.T) {
	s := newTestSandbox(t, Config{}, "calls")
	// A thread that stays alive inside a host call meanwhile.
	entered := make(chan struct{})
	s.Handle(1040, func(th *Thread, a *[6]uint64) int64 {
		close(entered)
		<-th.Context().Done()
		return 0
	})
	stk, _ := s.Alloc(64<<10, 0, ProtRead|ProtWrite)
	ctx, cancel := context.WithCancel(context.Background())
	th, err := s.Start(ctx, ThreadSpec{Entry: s.sym("hostloop"), Arg: 1, StackTop: stk + 64<<10})
	if err != nil {
		t.Fatal(err)
	}
	<-entered
	code := s.Base() + codeOff
	if err := s.Unmap(code, 0x1000); err != nil {
		t.Fatal(err)
	}
	if err := s.MapCode(code, []byte{0x90}); !errors.Is(err, ErrRetired) {
		t.Errorf("new code over retired code with a live thread: %v", err)
	}
	if err := s.MapCode(code+0x1000, []byte{0x90}); err != nil {
		t.Errorf("code elsewhere: %v", err)
	}
	cancel()
	if err := th.Wait(); !errors.Is(err, context.Canceled) {
		t.Errorf("thread: %v", err)
	}
	if err := s.MapCode(code, []byte{0x90}); err != nil {
		t.Errorf("after the threads are gone: %v", err)
	}
}

// TestMapCodeWhileStarting runs MapCode (which looks at the thread set)
// and Start (which looks at the closed flag) at once: no lock-order
// deadlock.
func TestMapCodeWhileStarting(t *testing.T) {
	s := newTestSandbox(t, Config{}, "calls")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			a := s.Base() + 0x10000000 + uint64(i)*pageSize
			if err := s.MapCode(a, []byte{0x90}); err != nil {
				t.Error(err)
				return
			}
			if err := s.Unmap(a, pageSize); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < 100; i++ {
		if r, err := s.Call(context.Background(), s.sym("add"), 1, 1); err != nil || r != 2 {
			t.Fatal(r, err)
		}
	}
	<-done
}
