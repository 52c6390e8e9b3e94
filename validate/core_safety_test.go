package validate

import (
	"math/rand"
	"testing"

	"golang.org/x/arch/x86/x86asm"
)

// readOnlyDest lists instructions whose first (Intel-order) operand is not
// written.
var readOnlyDest = map[x86asm.Op]bool{
	x86asm.CMP: true, x86asm.TEST: true, x86asm.BT: true, x86asm.PUSH: true,
	x86asm.PREFETCHNTA: true, x86asm.PREFETCHT0: true, x86asm.PREFETCHT1: true, x86asm.PREFETCHT2: true,
	x86asm.PREFETCHW: true, x86asm.NOP: true, x86asm.UCOMISS: true, x86asm.UCOMISD: true, x86asm.COMISS: true,
	x86asm.COMISD: true, x86asm.PTEST: true, x86asm.MUL: true, x86asm.IMUL: true, x86asm.DIV: true, x86asm.IDIV: true,
	x86asm.JMP: true, x86asm.CALL: true, x86asm.LDMXCSR: true, x86asm.FXRSTOR: true, x86asm.FXRSTOR64: true,
	x86asm.PCMPESTRI: true, x86asm.PCMPESTRM: true, x86asm.PCMPISTRI: true, x86asm.PCMPISTRM: true,
	x86asm.FLD: true, x86asm.FILD: true, x86asm.FBLD: true, x86asm.FLDCW: true, x86asm.FLDENV: true, x86asm.FRSTOR: true,
	x86asm.FCOM: true, x86asm.FCOMP: true, x86asm.FICOM: true, x86asm.FICOMP: true, x86asm.FUCOMI: true, x86asm.FCOMI: true,
	x86asm.FUCOMIP: true, x86asm.FCOMIP: true, x86asm.FUCOM: true, x86asm.FUCOMP: true, x86asm.MASKMOVQ: true, x86asm.MASKMOVDQU: true,
	x86asm.VMASKMOVDQU: true,
}

func isReg(a x86asm.Arg, regs ...x86asm.Reg) bool {
	r, ok := a.(x86asm.Reg)
	if !ok {
		return false
	}
	for _, x := range regs {
		if r == x {
			return true
		}
	}
	return false
}

// TestAcceptedCodeIsSafe generates random single instructions and, for
// every one the validator accepts on its own (followed by nops), checks
// with x86asm as an independent decoder that it does not write %r15, does
// not write %rsp/%rbp other than by the allowed forms, and accesses memory
// only through %r15, %rsp, %rbp or %rip without an index register.
func TestAcceptedCodeIsSafe(t *testing.T) {
	rnd := rand.New(rand.NewSource(2))
	pre := [][]byte{nil, nil, nil, {0x66}, {0xf3}, {0xf2}, {0xf0}, {0x64}, {0x2e}, {0x67}}
	val := New(Options{Profile: Halite, Features: AllFeatures})
	code := make([]byte, 32)
	accepted := 0
	for i := 0; i < 300000; i++ {
		b := code[:0]
		b = append(b, pre[rnd.Intn(len(pre))]...)
		if rnd.Intn(2) == 0 {
			b = append(b, 0x40|byte(rnd.Intn(16)))
		}
		switch rnd.Intn(6) {
		case 0:
			b = append(b, 0x0f)
		case 1:
			b = append(b, 0x0f, 0x38)
		case 2:
			b = append(b, 0x0f, 0x3a)
		case 3:
			if rnd.Intn(2) == 0 {
				b = append(b, 0xc5, byte(rnd.Intn(256)))
			} else {
				b = append(b, 0xc4, byte(rnd.Intn(256)), byte(rnd.Intn(256)))
			}
		}
		for len(b) < 32 {
			b = append(b, byte(rnd.Intn(256)))
		}
		var in inst
		st := decode(b, 0, &in, true)
		if st != stOK || in.length > 32 {
			continue
		}
		for j := in.length; j < 32; j++ {
			b[j] = 0x90
		}
		vd := val.Validate(b, 0x10000)
		if !vd.Valid() {
			continue
		}
		accepted++
		if b[0] == 0xc4 || b[0] == 0xc5 {
			// x86asm's VEX support is too partial to serve as an oracle:
			// check the memory operand structurally instead.
			if in.mem && in.base != regR15 && in.base != regRSP && in.base != regRBP && in.base != regRIP || in.index != regNone {
				t.Errorf("% x: accepted VEX memory operand base %d index %d", b[:in.length], in.base, in.index)
			}
			continue
		}
		x, err := x86asm.Decode(b, 64)
		if err != nil {
			if amdOnly(b) {
				continue // 3DNow!/prefetch: x86asm does not know them
			}
			t.Errorf("% x: accepted but x86asm cannot decode it: %v", b[:in.length], err)
			continue
		}
		if x.Len != in.length {
			t.Errorf("% x: accepted with length %d, x86asm says %d", b[:in.length], in.length, x.Len)
			continue
		}
		s := x86asm.GNUSyntax(x, 0, nil)
		if !readOnlyDest[x.Op] {
			if isReg(x.Args[0], x86asm.R15, x86asm.R15L, x86asm.R15W, x86asm.R15B) {
				t.Errorf("% x (%s): accepted, writes %%r15", b[:in.length], s)
			}
			if isReg(x.Args[0], x86asm.SP, x86asm.SPB, x86asm.BP, x86asm.BPB, x86asm.ESP, x86asm.EBP) {
				t.Errorf("% x (%s): accepted, writes %%rsp/%%rbp partially", b[:in.length], s)
			}
			if isReg(x.Args[0], x86asm.RSP, x86asm.RBP) && !isStackMove(b[:in.length]) && x.Op != x86asm.POP {
				t.Errorf("% x (%s): accepted, writes %%rsp/%%rbp", b[:in.length], s)
			}
		}
		switch x.Op {
		case x86asm.XCHG, x86asm.XADD:
			if isReg(x.Args[1], x86asm.R15, x86asm.R15L, x86asm.R15W, x86asm.R15B, x86asm.RSP, x86asm.RBP, x86asm.ESP, x86asm.EBP, x86asm.SP, x86asm.BP, x86asm.SPB, x86asm.BPB) {
				t.Errorf("% x (%s): accepted, exchanges a protected register", b[:in.length], s)
			}
		case x86asm.POP:
			if isReg(x.Args[0], x86asm.RSP, x86asm.RBP) {
				t.Errorf("% x (%s): accepted pop of %%rsp/%%rbp", b[:in.length], s)
			}
		case x86asm.LEA, x86asm.NOP, x86asm.PREFETCHNTA, x86asm.PREFETCHT0, x86asm.PREFETCHT1, x86asm.PREFETCHT2, x86asm.PREFETCHW:
			continue
		case x86asm.SYSCALL, x86asm.SYSENTER, x86asm.INT, x86asm.RET, x86asm.LRET, x86asm.IRET, x86asm.IN, x86asm.OUT,
			x86asm.LCALL, x86asm.LJMP, x86asm.PUSHF, x86asm.POPF, x86asm.ENTER, x86asm.LEAVE, x86asm.XLATB,
			x86asm.CLI, x86asm.STI, x86asm.LGDT, x86asm.WRMSR, x86asm.RDMSR, x86asm.SWAPGS:
			t.Errorf("% x (%s): accepted a forbidden instruction", b[:in.length], s)
		}
		if x.Op == x86asm.JMP || x.Op == x86asm.CALL {
			if _, ok := x.Args[0].(x86asm.Rel); !ok {
				t.Errorf("% x (%s): accepted an indirect jump on its own", b[:in.length], s)
			}
		}
		for _, a := range x.Args {
			m, ok := a.(x86asm.Mem)
			if !ok {
				continue
			}
			if in.fsRead {
				continue
			}
			if m.Segment != 0 {
				t.Errorf("% x (%s): accepted a segment override", b[:in.length], s)
			}
			switch m.Base {
			case x86asm.R15, x86asm.RSP, x86asm.RBP, x86asm.RIP:
			default:
				t.Errorf("% x (%s): accepted memory base %v", b[:in.length], s, m.Base)
			}
			if m.Index != 0 {
				t.Errorf("% x (%s): accepted index %v without restriction", b[:in.length], s, m.Index)
			}
		}
	}
	if accepted < 5000 {
		t.Errorf("only %d instructions accepted", accepted)
	}
	t.Logf("%d random instructions accepted and checked", accepted)
}

// amdOnly reports whether b (after an optional REX) is 0f 0d, 0f 0e or
// 0f 0f, which x86asm cannot decode.
func amdOnly(b []byte) bool {
	if b[0]&0xf0 == 0x40 {
		b = b[1:]
	}
	return b[0] == 0x0f && (b[1] == 0x0d || b[1] == 0x0e || b[1] == 0x0f)
}
