package sandbox

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Regs are the general registers of a faulting thread, from its signal
// frame.
type Regs struct {
	R8, R9, R10, R11, R12, R13, R14, R15 uint64
	RDI, RSI, RBP, RBX, RDX, RAX, RCX    uint64
	RSP, RIP, EFlags                     uint64
}

// Fault is a fault in sandboxed code: it ended the thread and its run.
type Fault struct {
	TID     int
	Signal  unix.Signal
	Code    int32  // si_code
	Addr    uint64 // faulting address (si_addr; the syscall's address for SIGSYS)
	Syscall int    // SIGSYS only: the refused syscall number
	Regs    Regs
	// Module and Offset locate RIP when Config.Resolve knows it.
	Module string
	Offset uint64
	// Base is the sandbox's B (to read addresses as offsets).
	Base uint64
	// GSForged is set when %gs did not match the thread's context (the
	// thread was stopped without trusting anything it controls).
	GSForged bool
}

// RIP and RSP of the faulting instruction.
func (f *Fault) RIP() uint64 { return f.Regs.RIP }

// RSP at the fault.
func (f *Fault) RSP() uint64 { return f.Regs.RSP }

func (f *Fault) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sandbox fault: %s (%s, %s) at address %#x", unix.SignalName(f.Signal), f.Signal, codeName(f.Signal, f.Code), f.Addr)
	b.WriteString(rel(f.Addr, f.Base))
	if f.Signal == unix.SIGSYS {
		fmt.Fprintf(&b, " (syscall %d refused by seccomp)", f.Syscall)
	}
	fmt.Fprintf(&b, ", rip %#x", f.Regs.RIP)
	if f.Module != "" {
		fmt.Fprintf(&b, " (%s+%#x)", f.Module, f.Offset)
	} else {
		b.WriteString(rel(f.Regs.RIP, f.Base))
	}
	fmt.Fprintf(&b, ", rsp %#x, thread %d", f.Regs.RSP, f.TID)
	if f.GSForged {
		b.WriteString(" (%gs forged)")
	}
	return b.String()
}

func (t *Thread) fault() *Fault {
	sl := t.sl
	f := &Fault{
		TID:      int(t.tid),
		Signal:   unix.Signal(*sl.u64(ctxSigno)),
		Code:     int32(*sl.u64(ctxCode)),
		Addr:     *sl.u64(ctxAddr),
		Base:     t.s.b,
		GSForged: *sl.u64(ctxForged) != 0,
	}
	if f.Signal == unix.SIGSYS {
		f.Syscall = int(int32(*sl.u64(ctxSysNR)))
	}
	g := func(i int) uint64 { return *sl.u64(ctxGregs + 8*uintptr(i)) }
	f.Regs = Regs{
		R8: g(0), R9: g(1), R10: g(2), R11: g(3), R12: g(4), R13: g(5), R14: g(6), R15: g(7),
		RDI: g(8), RSI: g(9), RBP: g(10), RBX: g(11), RDX: g(12), RAX: g(13), RCX: g(14),
		RSP: g(15), RIP: g(16), EFlags: g(17),
	}
	if r := t.s.cfg.Resolve; r != nil {
		if m, off, ok := r(f.Regs.RIP); ok {
			f.Module, f.Offset = m, off
		}
	}
	return f
}

// codeName names the si_code values the runtime can see.
func codeName(sig unix.Signal, code int32) string {
	names := map[unix.Signal]map[int32]string{
		unix.SIGSEGV: {1: "SEGV_MAPERR", 2: "SEGV_ACCERR", 3: "SEGV_BNDERR", 4: "SEGV_PKUERR"},
		unix.SIGBUS:  {1: "BUS_ADRALN", 2: "BUS_ADRERR", 3: "BUS_OBJERR"},
		unix.SIGILL:  {1: "ILL_ILLOPC", 2: "ILL_ILLOPN", 3: "ILL_ILLADR", 4: "ILL_ILLTRP", 5: "ILL_PRVOPC", 6: "ILL_PRVREG"},
		unix.SIGFPE:  {1: "FPE_INTDIV", 2: "FPE_INTOVF", 3: "FPE_FLTDIV", 4: "FPE_FLTOVF", 5: "FPE_FLTUND", 6: "FPE_FLTRES", 7: "FPE_FLTINV", 8: "FPE_FLTSUB"},
		unix.SIGTRAP: {1: "TRAP_BRKPT", 2: "TRAP_TRACE"},
		unix.SIGSYS:  {1: "SYS_SECCOMP"},
	}
	if n, ok := names[sig][code]; ok {
		return n
	}
	switch code {
	case 0x80:
		return "SI_KERNEL"
	case 0:
		return "SI_USER"
	case -6:
		return "SI_TKILL"
	}
	return fmt.Sprintf("code %d", code)
}

// rel shows a as B+off or B-off when it lies in the sandbox or its guards.
func rel(a, base uint64) string {
	switch {
	case a >= base && a-base < Size+GuardSize:
		return fmt.Sprintf(" (B+%#x)", a-base)
	case a < base && base-a <= GuardSize:
		return fmt.Sprintf(" (B-%#x)", base-a)
	}
	return ""
}
