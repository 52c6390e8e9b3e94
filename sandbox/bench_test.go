package sandbox

import (
	"context"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkHostCall: one no-op host call's round trip (sandbox thread ->
// Go handler -> back), measured inside one thread making b.N calls.
func BenchmarkHostCall(b *testing.B) {
	s := newTestSandbox(b, Config{}, "calls")
	s.Handle(1040, func(*Thread, *[6]uint64) int64 { return 0 })
	b.ResetTimer()
	if r, err := s.Call(context.Background(), s.sym("hostloop"), uint64(b.N)); err != nil || r != uint64(b.N) {
		b.Fatal(r, err)
	}
}

// BenchmarkHostCallSpin: the same with (adaptive) spinning forced on.
func BenchmarkHostCallSpin(b *testing.B) {
	s := newTestSandbox(b, Config{Spin: pausesPerSpin()}, "calls")
	s.Handle(1040, func(*Thread, *[6]uint64) int64 { return 0 })
	b.ResetTimer()
	if r, err := s.Call(context.Background(), s.sym("hostloop"), uint64(b.N)); err != nil || r != uint64(b.N) {
		b.Fatal(r, err)
	}
}

// BenchmarkGetppid: a raw syscall from Go, for comparison.
func BenchmarkGetppid(b *testing.B) {
	for range b.N {
		unix.Getppid()
	}
}

// BenchmarkThreadPointer: the trampoline fast path (no thread switch).
func BenchmarkThreadPointer(b *testing.B) {
	s := newTestSandbox(b, Config{}, "calls")
	tcb, err := s.Alloc(4096, 0, ProtRead|ProtWrite)
	if err != nil {
		b.Fatal(err)
	}
	stk, err := s.Alloc(64<<10, 0, ProtRead|ProtWrite)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	th, err := s.Start(context.Background(), ThreadSpec{Entry: s.sym("tploop"), Arg: uint64(b.N), StackTop: stk + 64<<10, FS: tcb})
	if err != nil {
		b.Fatal(err)
	}
	if err := th.Wait(); err != nil || th.Result() != uint64(b.N) {
		b.Fatal(th.Result(), err)
	}
}

// BenchmarkThreadStartJoin: Call = stack alloc + clone + run + exit + join.
func BenchmarkThreadStartJoin(b *testing.B) {
	s := newTestSandbox(b, Config{}, "calls")
	add := s.sym("add")
	b.ResetTimer()
	for range b.N {
		if r, err := s.Call(context.Background(), add, 1, 2); err != nil || r != 3 {
			b.Fatal(r, err)
		}
	}
}

// BenchmarkNewClose: reserve, trampolines, release.
func BenchmarkNewClose(b *testing.B) {
	for range b.N {
		s, err := New(Config{})
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}
