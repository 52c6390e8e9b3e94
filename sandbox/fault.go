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
	fmt.Fprintf(&b, "sandbox fault: %s (%s, code %d) at address %#x", unix.SignalName(f.Signal), f.Signal, f.Code, f.Addr)
	if f.Signal == unix.SIGSYS {
		fmt.Fprintf(&b, " (syscall %d refused by seccomp)", f.Syscall)
	}
	fmt.Fprintf(&b, ", rip %#x", f.Regs.RIP)
	if f.Module != "" {
		fmt.Fprintf(&b, " (%s+%#x)", f.Module, f.Offset)
	} else if f.Regs.RIP-f.Base < Size {
		fmt.Fprintf(&b, " (B+%#x)", f.Regs.RIP-f.Base)
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
