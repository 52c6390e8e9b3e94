package sandbox

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// faultCase is one fault class: the function, the signal and the faulting
// address it must report (nil: not checked; rip is always checked).
type faultCase struct {
	fn   string
	sig  unix.Signal
	addr func(s *testSandbox) uint64 // expected si_addr
}

func faultCases() []faultCase {
	return []faultCase{
		{"guardlow", unix.SIGSEGV, func(s *testSandbox) uint64 { return s.Base() - 0x100 }},
		{"guardhigh", unix.SIGSEGV, func(s *testSandbox) uint64 { return s.Base() + 0xffffffff + 0x1001 }},
		{"undef", unix.SIGILL, func(s *testSandbox) uint64 { return s.sym("undef") }},
		{"divzero", unix.SIGFPE, nil},
		{"badrsp", unix.SIGSEGV, func(s *testSandbox) uint64 { return s.Base() - 8 }},
		{"jumpout", unix.SIGSEGV, func(s *testSandbox) uint64 { return s.Base() + 0x40000000 }},
		{"privileged", unix.SIGSEGV, nil},
	}
}

func checkFault(t testing.TB, s *testSandbox, fc faultCase, err error) {
	t.Helper()
	var f *Fault
	if !errors.As(err, &f) {
		t.Fatalf("%s: got %v, want a *Fault", fc.fn, err)
	}
	if f.Signal != fc.sig {
		t.Fatalf("%s: signal %v, want %v (%v)", fc.fn, f.Signal, fc.sig, f)
	}
	if fc.addr != nil && f.Addr != fc.addr(s) {
		t.Fatalf("%s: address %#x, want %#x (%v)", fc.fn, f.Addr, fc.addr(s), f)
	}
	fn := s.sym(fc.fn)
	if fc.fn == "jumpout" {
		if f.Regs.RIP != s.Base()+0x40000000 {
			t.Fatalf("%s: rip %#x", fc.fn, f.Regs.RIP)
		}
	} else if f.Regs.RIP < fn || f.Regs.RIP >= fn+64 {
		t.Fatalf("%s: rip %#x not in the function at %#x (%v)", fc.fn, f.Regs.RIP, fn, f)
	}
	if f.Regs.R15 != s.Base() {
		t.Fatalf("%s: r15 %#x", fc.fn, f.Regs.R15)
	}
	msg := f.Error()
	for _, want := range []string{unix.SignalName(fc.sig), "rip 0x", "rsp 0x", "at address 0x"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("%s: message %q lacks %q", fc.fn, msg, want)
		}
	}
}

func TestFaults(t *testing.T) {
	s := newTestSandbox(t, Config{}, "calls")
	for _, fc := range faultCases() {
		t.Run(fc.fn, func(t *testing.T) {
			_, err := s.Call(context.Background(), s.sym(fc.fn))
			checkFault(t, s, fc, err)
			t.Log(err)
			// The sandbox is usable again afterwards.
			if r, err := s.Call(context.Background(), s.sym("add"), 1, 2); err != nil || r != 3 {
				t.Fatalf("after fault: add = %d, %v", r, err)
			}
		})
	}
	// A jump into mapped, non-executable data faults the same way.
	if err := s.Map(s.Base()+0x40000000, pageSize, ProtRead|ProtWrite); err != nil {
		t.Fatal(err)
	}
	_, err := s.Call(context.Background(), s.sym("jumpout"))
	checkFault(t, s, faultCases()[5], err)
	if f := err.(*Fault); f.Code != 2 { // SEGV_ACCERR
		t.Errorf("jump into data: %v", f)
	}
	checkNoWX(t)
}

// TestFaultsRepeated survives every fault class 1,000 times.
func TestFaultsRepeated(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 100
	}
	s := newTestSandbox(t, Config{}, "calls")
	for _, fc := range faultCases() {
		for i := 0; i < n; i++ {
			_, err := s.Call(context.Background(), s.sym(fc.fn))
			checkFault(t, s, fc, err)
		}
	}
	if r, err := s.Call(context.Background(), s.sym("fib"), 10); err != nil || r != 55 {
		t.Fatalf("after faults: fib = %d, %v", r, err)
	}
}

func TestResolver(t *testing.T) {
	var s *testSandbox
	s = newTestSandbox(t, Config{Resolve: func(a uint64) (string, uint64, bool) {
		base := s.Base() + codeOff
		if a >= base && a < base+4096 {
			return "calls.so", a - base, true
		}
		return "", 0, false
	}}, "calls")
	_, err := s.Call(context.Background(), s.sym("undef"))
	var f *Fault
	if !errors.As(err, &f) || f.Module != "calls.so" || f.Offset != s.obj.syms["undef"] {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "calls.so+0x") {
		t.Errorf("message %q lacks module+offset", err)
	}
}

func TestRunawayDeadline(t *testing.T) {
	s := newTestSandbox(t, Config{}, "calls")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Call(ctx, s.sym("spin"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stopping took %v", d)
	}
	if r, err := s.Call(context.Background(), s.sym("add"), 1, 2); err != nil || r != 3 {
		t.Fatalf("after stop: add = %d, %v", r, err)
	}
}

// TestSmuggledSyscall: a syscall instruction that the validator would refuse
// is mapped through the test-only bypass; seccomp stops it (SIGSYS).
func TestSmuggledSyscall(t *testing.T) {
	s := newTestSandbox(t, withoutValidation(Config{}), "smuggle")
	_, err := s.Call(context.Background(), s.sym("getpid"))
	var f *Fault
	if !errors.As(err, &f) || f.Signal != unix.SIGSYS || f.Syscall != unix.SYS_GETPID {
		t.Fatalf("got %v, want SIGSYS for getpid", err)
	}
	if f.Addr < s.sym("getpid") || f.Addr > s.sym("getpid")+16 {
		t.Errorf("syscall address %#x, function at %#x", f.Addr, s.sym("getpid"))
	}
	t.Log(err)
	_, err = s.Call(context.Background(), s.sym("trap"))
	if !errors.As(err, &f) || f.Signal != unix.SIGTRAP {
		t.Fatalf("int3: got %v, want SIGTRAP", err)
	}
	// The real validator refuses the same bytes.
	s2, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.MapCode(s2.Base()+codeOff, objs["smuggle"].code); err == nil {
		t.Fatal("validator accepted a syscall instruction")
	}
}

// TestForgedGS: code that moves %gs (wrgsbase; the validator refuses it)
// and then faults is stopped, never handed to Go's handler.
func TestForgedGS(t *testing.T) {
	if !hasFSGSBASE() {
		t.Skip("no FSGSBASE")
	}
	s := newTestSandbox(t, withoutValidation(Config{}), "smuggle")
	_, err := s.Call(context.Background(), s.sym("wrgs"))
	var f *Fault
	if !errors.As(err, &f) || f.Signal != unix.SIGILL || !f.GSForged {
		t.Fatalf("got %v, want SIGILL with a forged %%gs", err)
	}
}

func TestGoNilPointerStillRecovers(t *testing.T) {
	s := newTestSandbox(t, Config{}, "calls") // installs the front handler
	// Meanwhile a raw thread spins and others fault.
	stk, _ := s.Alloc(64<<10, 0, ProtRead|ProtWrite)
	ctx, cancel := context.WithCancel(context.Background())
	spinner, err := s.Start(ctx, ThreadSpec{Entry: s.sym("spin"), StackTop: stk + 64<<10})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		spinner.Wait()
	}()
	other := newTestSandbox(t, Config{}, "calls")
	faulting := make(chan struct{})
	go func() {
		defer close(faulting)
		for i := 0; i < 50; i++ {
			if _, err := other.Call(context.Background(), other.sym("guardlow")); err == nil {
				t.Error("no fault")
				return
			}
		}
	}()
	defer func() { <-faulting }()
	for i := 0; i < 100; i++ {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Fatal("no panic")
				}
			}()
			var p *int
			*p = 1
		}()
	}
}

func TestExitGroup(t *testing.T) {
	s := newTestSandbox(t, Config{}, "calls")
	stk, _ := s.Alloc(64<<10, 0, ProtRead|ProtWrite)
	spinner, err := s.Start(context.Background(), ThreadSpec{Entry: s.sym("spin"), StackTop: stk + 64<<10})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Call(context.Background(), s.sym("exitgroup"))
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 7 {
		t.Fatalf("exit_group thread: %v", err)
	}
	if err := spinner.Wait(); !errors.As(err, &ee) {
		t.Fatalf("other thread: %v", err)
	}
}

func TestFaultStopsRun(t *testing.T) {
	s := newTestSandbox(t, Config{}, "calls")
	stk, _ := s.Alloc(64<<10, 0, ProtRead|ProtWrite)
	spinner, err := s.Start(context.Background(), ThreadSpec{Entry: s.sym("spin"), StackTop: stk + 64<<10})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Call(context.Background(), s.sym("undef"))
	var f *Fault
	if !errors.As(err, &f) {
		t.Fatal(err)
	}
	err = spinner.Wait()
	if !errors.As(err, &f) || !errors.Is(err, err) {
		t.Fatalf("other thread: %v", err)
	}
}
