package pthread

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"
)

func futexSetup(t *testing.T) (*arena, *Futexes, uint64) {
	a := newArena(1 << 20)
	addr, err := a.Alloc(4096, 64)
	if err != nil {
		t.Fatal(err)
	}
	return a, NewFutexes(a), addr
}

// waitUntil polls cond for up to 10 s (waiters enqueue asynchronously).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 10000; i++ {
		if cond() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestFutexErrors(t *testing.T) {
	a, f, addr := futexSetup(t)
	ctx := context.Background()
	_ = a.StoreUint32(addr, 5)
	tests := []struct {
		name string
		args [6]uint64
		want int64
	}{
		{"value differs", [6]uint64{addr, FutexWait, 4}, -eAGAIN},
		{"value differs private", [6]uint64{addr, FutexWait | FutexPrivateFlag, 4}, -eAGAIN},
		{"misaligned", [6]uint64{addr + 2, FutexWait, 5}, -eINVAL},
		{"outside memory", [6]uint64{0x1000, FutexWait, 5}, -eFAULT},
		{"bad timespec", [6]uint64{addr, FutexWait, 5, addr + 64}, -eINVAL},
		{"timespec outside memory", [6]uint64{addr, FutexWait, 5, 0x1000}, -eFAULT},
		{"empty bitset", [6]uint64{addr, FutexWaitBitset, 5, 0, 0, 0}, -eINVAL},
		{"wake none", [6]uint64{addr, FutexWake, 10}, 0},
		{"wake_op", [6]uint64{addr, 5, 1}, -eNOSYS},
		{"realtime wait", [6]uint64{addr, FutexWait | FutexClockRealtime, 5}, -eNOSYS},
		{"cmp_requeue differs", [6]uint64{addr, FutexCmpRequeue, 1, 1, addr + 8, 4}, -eAGAIN},
		{"huge op", [6]uint64{addr, 1 << 40, 1}, -eNOSYS},
	}
	var bad [16]byte
	binary.LittleEndian.PutUint64(bad[8:], 1e9) // tv_nsec out of range
	_ = a.Write(addr+64, bad[:])
	for _, tc := range tests {
		if got := f.Call(ctx, &tc.args); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestFutexTimeouts(t *testing.T) {
	a, f, addr := futexSetup(t)
	ctx := context.Background()
	ts := addr + 64
	put := func(sec, nsec int64) {
		var b [16]byte
		binary.LittleEndian.PutUint64(b[0:], uint64(sec))
		binary.LittleEndian.PutUint64(b[8:], uint64(nsec))
		_ = a.Write(ts, b[:])
	}
	// Relative (FUTEX_WAIT): 30 ms.
	put(0, 30e6)
	start := time.Now()
	if got := f.Call(ctx, &[6]uint64{addr, FutexWait | FutexPrivateFlag, 0, ts}); got != -eTIMEDOUT {
		t.Fatalf("relative wait: %d, want -ETIMEDOUT", got)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("relative wait returned after %v", d)
	}
	// Absolute on CLOCK_MONOTONIC (FUTEX_WAIT_BITSET): now + 30 ms.
	mono, err := monotonicNow()
	if err != nil {
		t.Fatal(err)
	}
	dl := mono + 30*time.Millisecond
	put(int64(dl/time.Second), int64(dl%time.Second))
	start = time.Now()
	if got := f.Call(ctx, &[6]uint64{addr, FutexWaitBitset, 0, ts, 0, futexBitsetAny}); got != -eTIMEDOUT {
		t.Fatalf("monotonic wait: %d, want -ETIMEDOUT", got)
	}
	if d := time.Since(start); d < 20*time.Millisecond || d > 5*time.Second {
		t.Errorf("monotonic wait returned after %v", d)
	}
	// Absolute on CLOCK_REALTIME, already past.
	put(1, 0)
	if got := f.Call(ctx, &[6]uint64{addr, FutexWaitBitset | FutexClockRealtime, 0, ts, 0, futexBitsetAny}); got != -eTIMEDOUT {
		t.Fatalf("realtime wait: %d, want -ETIMEDOUT", got)
	}
	// Cancellation ends a wait with EINTR.
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan int64)
	go func() { done <- f.Call(cctx, &[6]uint64{addr, FutexWait, 0}) }()
	waitUntil(t, "a waiter", func() bool { return f.Waiters(addr) == 1 })
	cancel()
	if got := <-done; got != -eINTR {
		t.Errorf("cancelled wait: %d, want -EINTR", got)
	}
	if f.Waiters(addr) != 0 {
		t.Errorf("cancelled waiter still queued")
	}
}

func TestFutexWakeCountsAndBitsets(t *testing.T) {
	_, f, addr := futexSetup(t)
	ctx := context.Background()
	results := make(chan int, 8)
	start := func(id int, bitset uint32) {
		go func() {
			if r := f.Call(ctx, &[6]uint64{addr, FutexWaitBitset | FutexPrivateFlag, 0, 0, 0, uint64(bitset)}); r != 0 {
				t.Errorf("waiter %d: %d", id, r)
			}
			results <- id
		}()
		waitUntil(t, "waiter queued", func() bool { return f.Waiters(addr) == id+1 })
	}
	start(0, 1)
	start(1, 2)
	start(2, 1)
	start(3, 4)
	// Wake 1 with bitset 2: only waiter 1.
	if n := f.Call(ctx, &[6]uint64{addr, FutexWakeBitset, 5, 0, 0, 2}); n != 1 {
		t.Fatalf("woke %d, want 1", n)
	}
	if id := <-results; id != 1 {
		t.Errorf("woke waiter %d, want 1", id)
	}
	// Plain wake of 2: the oldest two (0 and 2).
	if n := f.Call(ctx, &[6]uint64{addr, FutexWake, 2}); n != 2 {
		t.Fatalf("woke %d, want 2", n)
	}
	got := map[int]bool{<-results: true, <-results: true}
	if !got[0] || !got[2] {
		t.Errorf("woke %v, want 0 and 2", got)
	}
	// Requeue the last one to addr+4, then wake it there.
	if n := f.Call(ctx, &[6]uint64{addr, FutexCmpRequeue, 0, 10, addr + 4, 0}); n != 1 {
		t.Fatalf("cmp_requeue returned %d, want 1 (moved)", n)
	}
	if f.Waiters(addr) != 0 || f.Waiters(addr+4) != 1 {
		t.Fatalf("requeue did not move the waiter")
	}
	if n := f.Call(ctx, &[6]uint64{addr + 4, FutexWake, 1 << 32}); n != 0 {
		t.Errorf("wake with count 0 (truncated) woke %d", n)
	}
	if n := f.Call(ctx, &[6]uint64{addr + 4, FutexWake, 0xffffffff}); n != 1 { // -1: all
		t.Fatalf("woke %d after requeue, want 1", n)
	}
	if id := <-results; id != 3 {
		t.Errorf("woke waiter %d, want 3", id)
	}
}

// TestFutexMutexStress builds a futex mutex (Drepper's "Futexes Are
// Tricky", mutex 2) over arena memory and checks mutual exclusion among 16
// goroutines standing in for sandbox threads.
func TestFutexMutexStress(t *testing.T) {
	a, f, addr := futexSetup(t)
	ctx := context.Background()
	word := addr
	counter := addr + 64
	cas := func(old, new uint32) uint32 {
		// The arena's 32-bit CAS, as sandbox code's lock cmpxchg.
		return casUint32(a, word, old, new)
	}
	lock := func() {
		c := cas(0, 1)
		if c == 0 {
			return
		}
		if c != 2 {
			c = xchgUint32(a, word, 2)
		}
		for c != 0 {
			f.Call(ctx, &[6]uint64{word, FutexWait | FutexPrivateFlag, 2})
			c = xchgUint32(a, word, 2)
		}
	}
	unlock := func() {
		if xchgUint32(a, word, 0) == 2 {
			f.Call(ctx, &[6]uint64{word, FutexWake | FutexPrivateFlag, 1})
		}
	}
	const threads, iters = 16, 2000
	var wg sync.WaitGroup
	for i := 0; i < threads; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < iters; j++ {
				lock()
				v, _ := a.LoadUint32(counter) // non-atomic read-modify-write under the lock
				_ = a.StoreUint32(counter, v+1)
				unlock()
			}
		}()
	}
	wg.Wait()
	if v, _ := a.LoadUint32(counter); v != threads*iters {
		t.Errorf("counter %d, want %d", v, threads*iters)
	}
}
