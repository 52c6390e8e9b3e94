package sandbox

import (
	"context"
	"errors"
	"testing"
)

// TestAllocSkipsRetired: while a thread is alive, Alloc does not return a
// range overlapping code unmapped meanwhile (retired), so code can be
// mapped into what it returns; once no thread is alive the range is
// handed out again.
func TestAllocSkipsRetired(t *testing.T) {
	s := newTestSandbox(t, Config{}, "calls")
	entered := make(chan struct{})
	s.Handle(1040, func(th *Thread, a *[6]uint64) int64 {
		close(entered)
		<-th.Context().Done()
		return 0
	})
	stk, err := s.Alloc(64<<10, 0, ProtRead|ProtWrite)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	th, err := s.Start(ctx, ThreadSpec{Entry: s.sym("hostloop"), Arg: 1, StackTop: stk + 64<<10})
	if err != nil {
		t.Fatal(err)
	}
	<-entered

	const size = 4 * pageSize
	x, err := s.Alloc(size, 0, ProtRead|ProtWrite)
	if err != nil {
		t.Fatal(err)
	}
	// Code in the middle page only; the whole span is freed.
	if err := s.MapCode(x+pageSize, []byte{0x90}); err != nil {
		t.Fatal(err)
	}
	if err := s.Unmap(x, size); err != nil {
		t.Fatal(err)
	}
	for _, sz := range []uint64{size, pageSize, 2 * pageSize} {
		a, err := s.Alloc(sz, 0, ProtRead|ProtWrite)
		if err != nil {
			t.Fatal(err)
		}
		if a < x+2*pageSize && x+pageSize < a+sz {
			t.Errorf("Alloc(%#x) = %#x overlaps retired code [%#x, %#x)", sz, a, x+pageSize, x+2*pageSize)
		}
		if err := s.MapCode(a, []byte{0x90}); err != nil {
			t.Errorf("code into Alloc(%#x) = %#x: %v", sz, a, err)
		}
		if err := s.Unmap(a, sz); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	if err := th.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("thread: %v", err)
	}
	// No thread alive: the retired ranges are forgotten; first fit again.
	if err := s.Unmap(stk, 64<<10); err != nil {
		t.Fatal(err)
	}
	a, err := s.Alloc(pageSize, 0, ProtRead|ProtWrite)
	if err != nil {
		t.Fatal(err)
	}
	if a > x+pageSize {
		t.Errorf("Alloc after the threads are gone = %#x, want at most %#x (first fit)", a, x+pageSize)
	}
}
