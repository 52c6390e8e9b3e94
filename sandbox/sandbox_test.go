package sandbox

import (
	"bytes"
	"context"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestHello(t *testing.T) {
	var out bytes.Buffer
	s := newTestSandbox(t, Config{Stdout: &out}, "calls")
	n, err := s.Call(context.Background(), s.sym("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if n != 15 || out.String() != "hello, sandbox\n" {
		t.Errorf("hello: returned %d, wrote %q", n, out.String())
	}
	checkNoWX(t)
}

func TestComputations(t *testing.T) {
	s := newTestSandbox(t, Config{}, "calls")
	tests := []struct {
		fn   string
		args []uint64
		want uint64
	}{
		{"add", []uint64{2, 40}, 42},
		{"add", []uint64{1 << 63, 1 << 63}, 0},
		{"sum6", []uint64{1, 2, 3, 4, 5, 6}, 21},
		{"fib", []uint64{0}, 0},
		{"fib", []uint64{10}, 55},
		{"fib", []uint64{90}, 2880067194370816120},
		{"regs", nil, 1},
		{"nosys", nil, neg(unix.ENOSYS)},
		{"badwrite", nil, neg(unix.EFAULT)},
		{"badfd", nil, neg(unix.EBADF)},
		{"exitthread", nil, 42},
	}
	for _, tc := range tests {
		got, err := s.Call(context.Background(), s.sym(tc.fn), tc.args...)
		if err != nil {
			t.Errorf("%s%v: %v", tc.fn, tc.args, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s%v = %d, want %d", tc.fn, tc.args, int64(got), int64(tc.want))
		}
	}
	sec, err := s.Call(context.Background(), s.sym("clock"))
	if now := uint64(time.Now().Unix()); err != nil || sec+2 < now || sec > now+2 {
		t.Errorf("clock: %d, %v (now %d)", sec, err, now)
	}
}

func TestHostCallArgs(t *testing.T) {
	s := newTestSandbox(t, Config{}, "calls")
	var got [6]uint64
	s.Handle(1041, func(th *Thread, a *[6]uint64) int64 {
		got = *a
		return 777
	})
	r, err := s.Call(context.Background(), s.sym("echo"), 1, 2, 3, 4, 5, 6)
	if err != nil || r != 777 {
		t.Fatalf("echo = %d, %v", int64(r), err)
	}
	if got != [6]uint64{1, 2, 3, 4, 5, 6} {
		t.Errorf("handler saw %v", got)
	}
}

func TestThreadPointer(t *testing.T) {
	s := newTestSandbox(t, Config{}, "calls")
	tcb, err := s.Alloc(4096, 0, ProtRead|ProtWrite)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 8)
	putU64(b, tcb)
	if err := s.Write(tcb, b); err != nil {
		t.Fatal(err)
	}
	stk, err := s.Alloc(64<<10, 0, ProtRead|ProtWrite)
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range []string{"tpfast", "tpread"} {
		th, err := s.Start(context.Background(), ThreadSpec{Entry: s.sym(fn), StackTop: stk + 64<<10, FS: tcb})
		if err != nil {
			t.Fatal(err)
		}
		if err := th.Wait(); err != nil || th.Result() != tcb {
			t.Errorf("%s: %#x, %v; want %#x", fn, th.Result(), err, tcb)
		}
	}
}

func neg(e unix.Errno) uint64 { return uint64(-int64(e)) }
