package sfi

import (
	"fmt"

	"golang.org/x/arch/x86/x86asm"
)

// BasicCheck is halite cc's own, simplified check of the SFI rules, built
// on the x86asm decoder: bundle crossings, forbidden instructions, masked
// indirect branches, call placement, memory-operand bases, %rsp/%rbp
// writes and direct-branch targets. It is an interim check and a test
// oracle; the trusted verdict is the validate package's.
func BasicCheck(code []byte, base uint64) []Violation {
	var out []Violation
	add := func(off int, rule, msg string, in *x86asm.Inst) {
		if len(out) >= 100 {
			return
		}
		dis := ""
		if in != nil {
			dis = x86asm.GNUSyntax(*in, base+uint64(off), nil)
		}
		out = append(out, Violation{Addr: base + uint64(off), Rule: rule, Message: msg, Disasm: dis})
	}
	if len(code)%32 != 0 || base%32 != 0 {
		add(0, "layout", "code size or base not a multiple of 32", nil)
		return out
	}
	starts := make([]bool, len(code)+1)
	inner := make([]bool, len(code)+1) // instruction starts inside a superinstruction
	type br struct {
		off    int
		target int64
		in     x86asm.Inst
	}
	var branches []br
	type prev struct {
		in  x86asm.Inst
		off int
		ok  bool
	}
	var p1, p2 prev // previous and the one before
	for off := 0; off < len(code); {
		in, err := x86asm.Decode(code[off:], 64)
		if err != nil {
			add(off, "undecodable", err.Error(), nil)
			return out
		}
		end := off + in.Len
		starts[off] = true
		if off/32 != (end-1)/32 {
			add(off, "bundle-crossing", "instruction crosses a bundle boundary", &in)
		}
		sameBundle := func(p prev) bool { return p.ok && p.off/32 == off/32 }
		restricted := func(p prev, r x86asm.Reg) bool {
			// p zero-extends into the 32-bit form of r
			if !sameBundle(p) || len(p.in.Args) == 0 {
				return false
			}
			d, ok := p.in.Args[0].(x86asm.Reg)
			return ok && d == r && (p.in.Op == x86asm.LEA || p.in.Op == x86asm.MOV)
		}
		switch in.Op {
		case x86asm.RET, x86asm.LRET, x86asm.SYSCALL, x86asm.SYSENTER, x86asm.INT, x86asm.INTO, x86asm.IRET, x86asm.IRETQ,
			x86asm.PUSHF, x86asm.PUSHFQ, x86asm.POPF, x86asm.POPFQ, x86asm.ENTER, x86asm.LEAVE, x86asm.XLATB,
			x86asm.IN, x86asm.OUT, x86asm.INSB, x86asm.OUTSB, x86asm.SYSRET, x86asm.SWAPGS, x86asm.RDMSR, x86asm.WRMSR:
			add(off, "forbidden", "forbidden instruction", &in)
		}
		if in.Op == x86asm.CALL || in.Op == x86asm.JMP {
			switch a := in.Args[0].(type) {
			case x86asm.Reg:
				ok := sameBundle(p1) && sameBundle(p2) && a != x86asm.R15 &&
					p1.in.Op == x86asm.ADD && p1.in.Args[0] == a && p1.in.Args[1] == x86asm.R15 &&
					p2.in.Op == x86asm.AND && p2.in.Args[0] == reg32(a)
				if ok {
					if imm, isImm := p2.in.Args[1].(x86asm.Imm); !isImm || int64(imm) != -32 {
						ok = false
					}
				}
				if !ok {
					add(off, "unmasked-indirect", "indirect branch without the masking sequence", &in)
				} else {
					inner[p1.off] = true
					inner[off] = true
				}
			case x86asm.Mem:
				add(off, "indirect-through-memory", "indirect branch through memory", &in)
			case x86asm.Rel:
				branches = append(branches, br{off, int64(end) + int64(a), in})
			}
			if in.Op == x86asm.CALL && end%32 != 0 {
				add(off, "call-not-at-bundle-end", "call does not end at a bundle end", &in)
			}
		} else if len(in.Args) > 0 {
			if r, ok := in.Args[0].(x86asm.Rel); ok {
				branches = append(branches, br{off, int64(end) + int64(r), in})
			}
		}
		for _, a := range in.Args {
			m, ok := a.(x86asm.Mem)
			if !ok || in.Op == x86asm.LEA || in.Op == x86asm.NOP || isString(in.Op) {
				continue
			}
			if m.Segment != 0 {
				if !(m.Segment == x86asm.FS && in.Op == x86asm.MOV && m.Base == 0 && m.Index == 0 && m.Disp == 0) {
					add(off, "segment", "segment-relative memory operand", &in)
				}
				continue
			}
			switch {
			case m.Base == x86asm.RIP && m.Index == 0:
			case (m.Base == x86asm.RSP || m.Base == x86asm.RBP || m.Base == x86asm.R15) && m.Index == 0:
			case m.Base == x86asm.R15 && m.Index != 0 && restricted(p1, reg32(m.Index)):
				inner[off] = true
			default:
				add(off, "bad-memory-operand", "memory operand base/index not sandboxed", &in)
			}
		}
		// writes to rsp/rbp
		if len(in.Args) > 0 && in.Op != x86asm.PUSH && in.Op != x86asm.CMP && in.Op != x86asm.TEST {
			if d, ok := in.Args[0].(x86asm.Reg); ok {
				switch d {
				case x86asm.RSP, x86asm.RBP:
					src, _ := in.Args[1].(x86asm.Reg)
					imm, isImm := in.Args[1].(x86asm.Imm)
					okw := (in.Op == x86asm.MOV && (src == x86asm.RSP || src == x86asm.RBP)) ||
						(in.Op == x86asm.ADD && src == x86asm.R15 && sameBundle(p1) && p1.in.Args[0] == reg32(d)) ||
						(d == x86asm.RSP && in.Op == x86asm.AND && isImm && int64(imm) < 0 && int64(imm) >= -128) ||
						(in.Op == x86asm.POP && d == x86asm.RSP)
					if in.Op == x86asm.POP {
						okw = false
					}
					if !okw {
						add(off, "base-write", "unsandboxed write to %rsp/%rbp", &in)
					} else if in.Op == x86asm.ADD {
						inner[off] = true
					}
				case x86asm.ESP, x86asm.EBP, x86asm.SP, x86asm.BP, x86asm.SPB, x86asm.BPB:
					nx, err := x86asm.Decode(code[end:], 64)
					okw := err == nil && (d == x86asm.ESP || d == x86asm.EBP) && end/32 == off/32 && end+nx.Len <= (off/32+1)*32 &&
						nx.Op == x86asm.ADD && nx.Args[0] == reg64(d) && nx.Args[1] == x86asm.R15
					if !okw {
						add(off, "base-write", "32-bit write to %esp/%ebp not followed by add %r15", &in)
					}
				}
			}
		}
		if isString(in.Op) {
			if !(sameBundle(p1) && p1.in.Op == x86asm.LEA && (p1.in.Args[0] == x86asm.RDI || p1.in.Args[0] == x86asm.RSI)) {
				add(off, "string", "string instruction without the sandboxing prefix", &in)
			} else {
				inner[off] = true
			}
		}
		p2, p1 = p1, prev{in, off, true}
		off = end
	}
	for _, b := range branches {
		t := b.target - int64(0)
		if t%32 == 0 && (t < 0 || t >= int64(len(code)) || !inner[t]) {
			continue
		}
		if t < 0 || t >= int64(len(code)) || !starts[t] || inner[t] {
			add(b.off, "bad-jump-target", fmt.Sprintf("direct branch to %#x is not an instruction start", base+uint64(t)), &b.in)
		}
	}
	return out
}

func isString(op x86asm.Op) bool {
	switch op {
	case x86asm.MOVSB, x86asm.MOVSW, x86asm.MOVSD, x86asm.MOVSQ, x86asm.STOSB, x86asm.STOSW, x86asm.STOSD, x86asm.STOSQ,
		x86asm.LODSB, x86asm.LODSW, x86asm.LODSD, x86asm.LODSQ, x86asm.SCASB, x86asm.SCASW, x86asm.SCASD, x86asm.SCASQ,
		x86asm.CMPSB, x86asm.CMPSW, x86asm.CMPSD, x86asm.CMPSQ:
		return true
	}
	return false
}

func reg32(r x86asm.Reg) x86asm.Reg {
	if r >= x86asm.RAX && r <= x86asm.R15 {
		return r - x86asm.RAX + x86asm.EAX
	}
	return r
}

func reg64(r x86asm.Reg) x86asm.Reg {
	if r >= x86asm.EAX && r <= x86asm.R15L {
		return r - x86asm.EAX + x86asm.RAX
	}
	return r
}
