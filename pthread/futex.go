package pthread

import (
	"context"
	"encoding/binary"
	"math"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Linux futex operations and flags (include/uapi/linux/futex.h).
const (
	FutexWait          = 0
	FutexWake          = 1
	FutexRequeue       = 3
	FutexCmpRequeue    = 4
	FutexWaitBitset    = 9
	FutexWakeBitset    = 10
	FutexPrivateFlag   = 128
	FutexClockRealtime = 256
	futexBitsetAny     = 0xffffffff
)

// Linux errno values returned (negated) by the host calls.
const (
	ePERM     = 1
	eSRCH     = 3
	eINTR     = 4
	eAGAIN    = 11
	eNOMEM    = 12
	eFAULT    = 14
	eINVAL    = 22
	eNOSYS    = 38
	eTIMEDOUT = 110
)

// Futexes is a futex table for one sandbox: wait queues keyed by the
// absolute guest address of a 32-bit word. It is implemented entirely on
// the trusted side; the value check and the enqueue happen under one lock,
// and every wake takes that lock, so no wake-up is lost. Private and shared
// futexes are the same (a sandbox is one address space).
type Futexes struct {
	mem Memory
	mu  sync.Mutex
	q   map[uint64][]*futexWaiter
}

type futexWaiter struct {
	addr   uint64
	bitset uint32
	ch     chan struct{} // closed (under mu) when woken
	woken  bool
}

// NewFutexes returns an empty table over mem.
func NewFutexes(mem Memory) *Futexes {
	return &Futexes{mem: mem, q: map[uint64][]*futexWaiter{}}
}

// Wait blocks while the word at addr holds val, until a Wake for addr (with
// an overlapping bitset) arrives, the deadline passes (zero: none) or ctx
// ends. It returns 0, -EAGAIN (the word differs), -ETIMEDOUT, -EINTR (ctx
// ended), -EFAULT or -EINVAL (misaligned address, empty bitset).
func (f *Futexes) Wait(ctx context.Context, addr uint64, val, bitset uint32, deadline time.Time) int64 {
	if addr%4 != 0 || bitset == 0 {
		return -eINVAL
	}
	f.mu.Lock()
	cur, err := f.mem.LoadUint32(addr)
	if err != nil {
		f.mu.Unlock()
		return -eFAULT
	}
	if cur != val {
		f.mu.Unlock()
		return -eAGAIN
	}
	w := &futexWaiter{addr: addr, bitset: bitset, ch: make(chan struct{})}
	f.q[addr] = append(f.q[addr], w)
	f.mu.Unlock()

	var timer <-chan time.Time
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			d = 0
		}
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	var res int64
	select {
	case <-w.ch:
		return 0
	case <-timer:
		res = -eTIMEDOUT
	case <-ctx.Done():
		res = -eINTR
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if w.woken { // a wake won the race: report it, as Linux does
		return 0
	}
	f.remove(w)
	return res
}

// remove takes w out of its queue; f.mu is held.
func (f *Futexes) remove(w *futexWaiter) {
	q := f.q[w.addr]
	for i, x := range q {
		if x == w {
			q = append(q[:i:i], q[i+1:]...)
			break
		}
	}
	if len(q) == 0 {
		delete(f.q, w.addr)
	} else {
		f.q[w.addr] = q
	}
}

// Wake wakes up to n waiters on addr whose bitset overlaps bitset, oldest
// first, and returns how many it woke.
func (f *Futexes) Wake(addr uint64, n int, bitset uint32) int64 {
	if addr%4 != 0 || bitset == 0 {
		return -eINVAL
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	woke := 0
	q := f.q[addr]
	kept := q[:0]
	for _, w := range q {
		if woke < n && w.bitset&bitset != 0 {
			w.woken = true
			close(w.ch)
			woke++
			continue
		}
		kept = append(kept, w)
	}
	clear(q[len(kept):])
	if len(kept) == 0 {
		delete(f.q, addr)
	} else {
		f.q[addr] = kept
	}
	return int64(woke)
}

// Requeue wakes up to nWake waiters on addr and moves up to nMove of the
// others to addr2. With check set (FUTEX_CMP_REQUEUE) it first returns
// -EAGAIN unless the word at addr holds val. It returns the number woken
// plus (for CMP_REQUEUE, as Linux) the number moved.
func (f *Futexes) Requeue(addr, addr2 uint64, nWake, nMove int, check bool, val uint32) int64 {
	if addr%4 != 0 || addr2%4 != 0 {
		return -eINVAL
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if check {
		cur, err := f.mem.LoadUint32(addr)
		if err != nil {
			return -eFAULT
		}
		if cur != val {
			return -eAGAIN
		}
	}
	q := f.q[addr]
	woke, moved := 0, 0
	var rest []*futexWaiter
	for _, w := range q {
		switch {
		case woke < nWake:
			w.woken = true
			close(w.ch)
			woke++
		case moved < nMove && addr2 != addr:
			w.addr = addr2
			f.q[addr2] = append(f.q[addr2], w)
			moved++
		default:
			rest = append(rest, w)
		}
	}
	if len(rest) == 0 {
		delete(f.q, addr)
	} else {
		f.q[addr] = rest
	}
	if check {
		return int64(woke + moved)
	}
	return int64(woke)
}

// Waiters returns the number of threads waiting on addr.
func (f *Futexes) Waiters(addr uint64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.q[addr])
}

// Call is the futex host call (Linux number 202) with Linux semantics:
// a[0] uaddr, a[1] op, a[2] val, a[3] timeout address (or val2 for the
// requeue operations), a[4] uaddr2, a[5] val3. It supports WAIT, WAKE,
// REQUEUE, CMP_REQUEUE, WAIT_BITSET and WAKE_BITSET, each with or without
// FUTEX_PRIVATE_FLAG; other operations return -ENOSYS. ctx ends a wait with
// -EINTR.
func (f *Futexes) Call(ctx context.Context, a *[6]uint64) int64 {
	op := a[1]
	if op>>32 != 0 {
		return -eNOSYS
	}
	realtime := op&FutexClockRealtime != 0
	cmd := op &^ (FutexPrivateFlag | FutexClockRealtime)
	if realtime && cmd != FutexWaitBitset {
		return -eNOSYS // as Linux: CLOCK_REALTIME only with WAIT_BITSET here
	}
	addr, val := a[0], uint32(a[2])
	switch cmd {
	case FutexWait, FutexWaitBitset:
		bitset := uint32(futexBitsetAny)
		if cmd == FutexWaitBitset {
			bitset = uint32(a[5])
		}
		var deadline time.Time
		if a[3] != 0 {
			var ts [16]byte
			if err := f.mem.Read(a[3], ts[:]); err != nil {
				return -eFAULT
			}
			sec := int64(binary.LittleEndian.Uint64(ts[0:]))
			nsec := int64(binary.LittleEndian.Uint64(ts[8:]))
			if sec < 0 || nsec < 0 || nsec >= 1e9 {
				return -eINVAL
			}
			if sec > math.MaxInt64/int64(time.Second)-1 {
				sec = math.MaxInt64/int64(time.Second) - 1 // saturate
			}
			d := time.Duration(sec)*time.Second + time.Duration(nsec)
			if cmd == FutexWait {
				deadline = time.Now().Add(d) // relative
			} else {
				// Absolute, on CLOCK_MONOTONIC (the clock the
				// sandbox's clock_gettime reads) or CLOCK_REALTIME.
				if realtime {
					deadline = time.Unix(sec, nsec)
				} else {
					mono, err := monotonicNow()
					if err != nil {
						return -eINVAL
					}
					deadline = time.Now().Add(d - mono)
				}
			}
		}
		return f.Wait(ctx, addr, val, bitset, deadline)
	case FutexWake, FutexWakeBitset:
		bitset := uint32(futexBitsetAny)
		if cmd == FutexWakeBitset {
			bitset = uint32(a[5])
		}
		return f.Wake(addr, clampCount(a[2]), bitset)
	case FutexRequeue, FutexCmpRequeue:
		return f.Requeue(addr, a[4], clampCount(a[2]), clampCount(a[3]), cmd == FutexCmpRequeue, uint32(a[5]))
	}
	return -eNOSYS
}

// clampCount reads a count argument as Linux does (an int; negative or huge
// means "all").
func clampCount(v uint64) int {
	n := int32(uint32(v))
	if n < 0 {
		return math.MaxInt32
	}
	return int(n)
}

// monotonicNow reads CLOCK_MONOTONIC.
func monotonicNow() (time.Duration, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, err
	}
	return time.Duration(ts.Sec)*time.Second + time.Duration(ts.Nsec), nil
}
