package validate

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/arch/x86/x86asm"
)

// Property tests: the validator's verdicts are checked against properties
// that hold for every input, with x86asm as an independent oracle for
// accepted code. checkChunk is shared with FuzzValidate.

// maxPropChunk bounds the chunks the property checks build.
const maxPropChunk = 4096

// chunkFrom pads (with nops) or truncates b to a non-empty multiple of 32
// of at most maxPropChunk bytes.
func chunkFrom(b []byte) []byte {
	if len(b) > maxPropChunk {
		b = b[:maxPropChunk]
	}
	c := append([]byte(nil), b...)
	for len(c) == 0 || len(c)%32 != 0 {
		c = append(c, 0x90)
	}
	return c
}

var (
	forbiddenOps = map[x86asm.Op]bool{}
	stringOps    = map[x86asm.Op]bool{}
	readOnlyOps  = map[x86asm.Op]bool{}
)

func init() {
	for _, op := range []x86asm.Op{
		x86asm.SYSCALL, x86asm.SYSENTER, x86asm.SYSEXIT, x86asm.SYSRET, x86asm.INT, x86asm.INTO,
		x86asm.ICEBP, x86asm.IRET, x86asm.IRETD, x86asm.IRETQ, x86asm.RET, x86asm.LRET,
		x86asm.LCALL, x86asm.LJMP, x86asm.IN, x86asm.OUT, x86asm.INSB, x86asm.INSW, x86asm.INSD,
		x86asm.OUTSB, x86asm.OUTSW, x86asm.OUTSD, x86asm.PUSHF, x86asm.PUSHFD, x86asm.PUSHFQ,
		x86asm.POPF, x86asm.POPFD, x86asm.POPFQ, x86asm.ENTER, x86asm.LEAVE, x86asm.XLATB,
		x86asm.LGDT, x86asm.LIDT, x86asm.LLDT, x86asm.LTR, x86asm.SGDT, x86asm.SIDT, x86asm.SLDT,
		x86asm.STR, x86asm.LMSW, x86asm.SMSW, x86asm.RDMSR, x86asm.WRMSR, x86asm.CLI, x86asm.STI,
		x86asm.SWAPGS, x86asm.RDFSBASE, x86asm.RDGSBASE, x86asm.WRFSBASE, x86asm.WRGSBASE,
		x86asm.INVLPG, x86asm.CLTS, x86asm.WBINVD, x86asm.INVD, x86asm.RDPMC, x86asm.LAR, x86asm.LSL,
		x86asm.VERR, x86asm.VERW, x86asm.ARPL, x86asm.LDS, x86asm.LES, x86asm.LFS, x86asm.LGS, x86asm.LSS,
		x86asm.XSETBV, x86asm.INVPCID, x86asm.RSM, x86asm.XRSTORS, x86asm.XRSTORS64, x86asm.XSAVES,
		x86asm.XSAVES64, x86asm.MONITOR, x86asm.MWAIT,
	} {
		forbiddenOps[op] = true
	}
	for _, op := range []x86asm.Op{
		x86asm.MOVSB, x86asm.MOVSW, x86asm.MOVSD, x86asm.MOVSQ, x86asm.STOSB, x86asm.STOSW,
		x86asm.STOSD, x86asm.STOSQ, x86asm.LODSB, x86asm.LODSW, x86asm.LODSD, x86asm.LODSQ,
		x86asm.SCASB, x86asm.SCASW, x86asm.SCASD, x86asm.SCASQ, x86asm.CMPSB, x86asm.CMPSW,
		x86asm.CMPSD, x86asm.CMPSQ, x86asm.MASKMOVQ, x86asm.MASKMOVDQU, x86asm.VMASKMOVDQU,
	} {
		stringOps[op] = true
	}
	// Ops whose first operand is only read.
	for _, op := range []x86asm.Op{x86asm.CMP, x86asm.TEST, x86asm.PUSH, x86asm.BT, x86asm.MUL, x86asm.DIV,
		x86asm.IDIV, x86asm.NOP, x86asm.JMP, x86asm.CALL} {
		readOnlyOps[op] = true
	}
}

func isSegReg(r x86asm.Reg) bool { return r >= x86asm.ES && r <= x86asm.GS }

func isSysReg(r x86asm.Reg) bool {
	return (r >= x86asm.CR0 && r <= x86asm.CR15) || (r >= x86asm.DR0 && r <= x86asm.DR15) || (r >= x86asm.TR0 && r <= x86asm.TR7)
}

func isR15(r x86asm.Reg) bool {
	return r == x86asm.R15 || r == x86asm.R15L || r == x86asm.R15W || r == x86asm.R15B
}

// reg32 maps a 64-bit general register to its 32-bit form (0 if none).
func reg32(r x86asm.Reg) x86asm.Reg {
	if r >= x86asm.RAX && r <= x86asm.R15 {
		return r - x86asm.RAX + x86asm.EAX
	}
	return 0
}

// isHaliteTP reports whether in is the Halite profile's thread-pointer
// read `mov %fs:0x0,%reg64`.
func isHaliteTP(in x86asm.Inst) bool {
	if in.Op != x86asm.MOV || in.DataSize != 64 {
		return false
	}
	r, ok := in.Args[0].(x86asm.Reg)
	m, ok2 := in.Args[1].(x86asm.Mem)
	return ok && ok2 && r >= x86asm.RAX && r <= x86asm.R15 && r != x86asm.RSP && r != x86asm.RBP && r != x86asm.R15 &&
		m.Segment == x86asm.FS && m.Base == 0 && m.Index == 0 && m.Disp == 0
}

// oracleInst is one instruction of the x86asm walk over accepted code.
type oracleInst struct {
	off int
	in  x86asm.Inst
}

// oracleSkipped, when set, is told about accepted bytes x86asm cannot
// decode (the oracle cannot check them).
var oracleSkipped func(b []byte)

// checkAccepted walks accepted code with x86asm and returns the problems
// found: instruction lengths that disagree with the validator's targets,
// and instructions that accepted code must never contain.
func checkAccepted(code []byte, vd *Verdict, profile Profile) []string {
	var probs []string
	bad := func(off int, format string, args ...any) {
		if len(probs) < 20 {
			probs = append(probs, fmt.Sprintf("%#x: %s", off, fmt.Sprintf(format, args...)))
		}
	}
	n := len(code)
	for b := 0; b < n; b += 32 {
		if !vd.IsTarget(b) {
			bad(b, "bundle start is not a jump target")
		}
	}
	var prev []oracleInst // instructions of the current bundle so far
	restricted := func(r x86asm.Reg) bool {
		if len(prev) == 0 {
			return false
		}
		return writes32(prev[len(prev)-1].in, reg32(r))
	}
	undecoded := 0
	for off := 0; off < n; {
		if off%32 == 0 {
			prev = prev[:0]
		}
		in, err := decodeOracle(code[off:])
		if err != nil {
			// x86asm cannot decode it: resynchronize at the next target.
			undecoded++
			if oracleSkipped != nil {
				oracleSkipped(code[off:min(off+8, n)])
			}
			prev = prev[:0]
			next := off + 1
			for next < n && !vd.IsTarget(next) {
				next++
			}
			off = next
			continue
		}
		end := off + in.Len
		if off/32 != (end-1)/32 {
			bad(off, "x86asm's %v (%d bytes) crosses a bundle end", in, in.Len)
		}
		for o := off + 1; o < end && o < n; o++ {
			if vd.IsTarget(o) {
				bad(off, "x86asm decodes %v (%d bytes) but %#x is a target", in, in.Len, o)
			}
		}
		checkInst(code, vd, profile, off, in, prev, restricted, bad)
		prev = append(prev, oracleInst{off, in})
		off = end
	}
	if len(prev) > 0 {
		if r, ok := prev[len(prev)-1].in.Args[0].(x86asm.Reg); ok && (r == x86asm.ESP || r == x86asm.EBP) && writesFirst(prev[len(prev)-1].in) {
			bad(prev[len(prev)-1].off, "%%esp/%%ebp left restricted at the end of the code")
		}
	}
	_ = undecoded
	return probs
}

// checkInst applies the per-instruction oracle rules to an accepted
// instruction.
func checkInst(code []byte, vd *Verdict, profile Profile, off int, in x86asm.Inst, prev []oracleInst,
	restricted func(x86asm.Reg) bool, bad func(int, string, ...any)) {
	if forbiddenOps[in.Op] {
		bad(off, "forbidden %v", in)
	}
	tp := profile == Halite && isHaliteTP(in)
	for _, p := range in.Prefix {
		if p == 0 {
			break
		}
		// A segment prefix byte, whether x86asm folded it into the memory
		// operand (PrefixImplicit) or ignores it; branch hints are
		// distinct values (PrefixPN, PrefixPT).
		switch p &^ (x86asm.PrefixImplicit | x86asm.PrefixIgnored | x86asm.PrefixInvalid) {
		case x86asm.PrefixES, x86asm.PrefixCS, x86asm.PrefixSS, x86asm.PrefixDS, x86asm.PrefixFS, x86asm.PrefixGS:
			if !tp && in.Op != x86asm.NOP {
				bad(off, "segment prefix on %v", in)
			}
		}
		if p&x86asm.PrefixInvalid != 0 {
			bad(off, "invalid prefix on %v", in)
		}
	}
	// Previous instruction wrote %esp/%ebp: this one must restore the base.
	if len(prev) > 0 {
		p := prev[len(prev)-1].in
		if d, ok := p.Args[0].(x86asm.Reg); ok && (d == x86asm.ESP || d == x86asm.EBP) && writesFirst(p) {
			full := x86asm.RSP
			if d == x86asm.EBP {
				full = x86asm.RBP
			}
			if vd.IsTarget(off) {
				bad(off, "%v restoring %v is a jump target", in, full)
			}
			if !isBaseRestore(in, full) {
				bad(off, "%v after %v does not restore %v", in, p, full)
			}
		}
	}
	for i, a := range in.Args {
		if a == nil {
			break
		}
		switch a := a.(type) {
		case x86asm.Reg:
			if isSegReg(a) || isSysReg(a) {
				bad(off, "segment/system register in %v", in)
			}
			if i == 0 && writesFirst(in) {
				checkWrite(in, a, prev, off, bad)
			}
			if i == 1 && (in.Op == x86asm.XCHG || in.Op == x86asm.XADD) {
				checkWrite(in, a, prev, off, bad)
			}
		case x86asm.Mem:
			if in.Op == x86asm.LEA || in.Op == x86asm.NOP || tp || strings.HasPrefix(in.Op.String(), "PREFETCH") {
				continue // no memory access (prefetches never fault)
			}
			if stringOps[in.Op] {
				if vd.IsTarget(off) || (len(prev) > 0 && vd.IsTarget(prev[len(prev)-1].off)) {
					bad(off, "string instruction %v or its lea is a jump target", in)
				}
				if !stringSandboxed(in, prev) {
					bad(off, "string instruction %v without `mov %%e?i,%%e?i; lea (%%r15,%%r?i,1),%%r?i` right before", in)
				}
				continue
			}
			if a.Base == 0 && a.Index == 0 && vexRIPRelative(code[off:]) {
				a.Base = x86asm.RIP // x86asm drops RIP from VEX operands
			}
			switch a.Base {
			case x86asm.R15, x86asm.RIP, x86asm.RSP, x86asm.RBP:
			default:
				bad(off, "memory operand base %v in %v", a.Base, in)
			}
			if a.Index != 0 {
				if a.Index == x86asm.R15 || a.Index == x86asm.RSP || a.Index == x86asm.RBP || !restricted(a.Index) {
					bad(off, "index %v not restricted by the previous instruction in %v", a.Index, in)
				}
				if vd.IsTarget(off) {
					bad(off, "%v uses a restricted index but is a jump target", in)
				}
			}
			if (in.Op == x86asm.JMP || in.Op == x86asm.CALL) && i == 0 {
				bad(off, "indirect jump through memory %v", in)
			}
			if (in.Op == x86asm.BT || in.Op == x86asm.BTS || in.Op == x86asm.BTR || in.Op == x86asm.BTC) && i == 0 {
				if _, isReg := in.Args[1].(x86asm.Reg); isReg {
					bad(off, "bit test with register offset into memory %v", in)
				}
			}
		case x86asm.Rel:
			target := off + in.Len + int(a)
			if target >= 0 && target < len(code) {
				if !vd.IsTarget(target) {
					bad(off, "%v targets %#x, not an accepted target", in, target)
				}
			} else if target%32 != 0 {
				bad(off, "%v targets %#x outside the chunk, not 32-aligned", in, target)
			}
		}
	}
	if (in.Op == x86asm.MASKMOVQ || in.Op == x86asm.MASKMOVDQU || in.Op == x86asm.VMASKMOVDQU) && !stringSandboxed(in, prev) {
		// Implicit store through %rdi (x86asm shows no memory operand).
		bad(off, "%v without sandboxed %%rdi right before", in)
	}
	if in.Op == x86asm.JMP || in.Op == x86asm.CALL {
		if r, ok := in.Args[0].(x86asm.Reg); ok {
			if vd.IsTarget(off) {
				bad(off, "indirect %v is a jump target (not inside a masked superinstruction)", in)
			}
			if len(prev) < 2 || !isMaskAnd(prev[len(prev)-2].in, reg32(r)) || !isBaseRestore(prev[len(prev)-1].in, r) || r == x86asm.R15 {
				bad(off, "indirect %v not preceded by and $-32 / add %%r15", in)
			} else if vd.IsTarget(prev[len(prev)-1].off) {
				bad(off, "the add %%r15 of a masked jump is a jump target")
			}
		}
	}
}

// stringSandboxed reports whether the instructions right before the
// string (or maskmov) instruction in are, for each of the registers it
// addresses memory through (%rdi, %rsi), a 32-bit write of the register
// followed by exactly `lea (%r15,%rR,1),%rR`, the pairs back to back.
func stringSandboxed(in x86asm.Inst, prev []oracleInst) bool {
	need := map[x86asm.Reg]bool{}
	for _, a := range in.Args {
		if m, ok := a.(x86asm.Mem); ok {
			need[m.Base] = true
			if m.Index != 0 {
				return false
			}
		}
	}
	if in.Op == x86asm.MASKMOVQ || in.Op == x86asm.MASKMOVDQU || in.Op == x86asm.VMASKMOVDQU {
		if in.AddrSize == 32 { // x86asm leaves AddrSize 0 for VEX forms
			return false
		}
		need[x86asm.RDI] = true
	}
	k := len(prev)
	for n := len(need); n > 0; n-- {
		if k < 2 {
			return false
		}
		w, l := prev[k-2].in, prev[k-1].in
		r, _ := l.Args[0].(x86asm.Reg)
		m, _ := l.Args[1].(x86asm.Mem)
		d, _ := w.Args[0].(x86asm.Reg)
		if !need[r] || l.Op != x86asm.LEA || m != (x86asm.Mem{Base: x86asm.R15, Index: r, Scale: 1}) || d != reg32(r) || !writesFirst(w) {
			return false
		}
		delete(need, r)
		k -= 2
	}
	return len(need) == 0
}

// vexPrefix returns the offset of a VEX prefix (c4/c5) after legacy
// prefixes in b and its length, or -1.
func vexPrefix(b []byte) (pos, n int) {
	for i, c := range b {
		switch c {
		case 0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65:
			continue
		case 0xc5:
			return i, 2
		case 0xc4:
			return i, 3
		}
		return -1, 0
	}
	return -1, 0
}

// vexRIPRelative reports whether b starts with a VEX instruction whose
// ModRM selects RIP-relative addressing.
func vexRIPRelative(b []byte) bool {
	pos, n := vexPrefix(b)
	m := pos + n + 1 // ModRM follows the opcode byte
	return pos >= 0 && m < len(b) && b[m]&0xc7 == 0x05
}

// decodeOracle is x86asm.Decode with its known VEX slips corrected:
// vzeroupper/vzeroall have no ModRM.
func decodeOracle(b []byte) (x86asm.Inst, error) {
	in, err := x86asm.Decode(b, 64)
	if err == nil && (in.Op == x86asm.VZEROUPPER || in.Op == x86asm.VZEROALL) {
		if pos, n := vexPrefix(b); pos >= 0 {
			in.Len = pos + n + 1
		}
	}
	return in, err
}

// writes32 reports whether in writes the 32-bit register r (and so
// clears the upper half of its 64-bit register), explicitly or implicitly.
func writes32(in x86asm.Inst, r x86asm.Reg) bool {
	if d, ok := in.Args[0].(x86asm.Reg); ok && d == r && zeroExtends(in) {
		return true
	}
	if d, ok := in.Args[1].(x86asm.Reg); ok && d == r && (in.Op == x86asm.XCHG || in.Op == x86asm.XADD) {
		return true
	}
	switch in.Op {
	case x86asm.CWDE:
		return r == x86asm.EAX
	case x86asm.CDQ:
		return r == x86asm.EDX
	case x86asm.RDTSC:
		return r == x86asm.EAX || r == x86asm.EDX
	case x86asm.CPUID:
		return r == x86asm.EAX || r == x86asm.EBX || r == x86asm.ECX || r == x86asm.EDX
	case x86asm.MUL, x86asm.DIV, x86asm.IDIV, x86asm.IMUL:
		return in.DataSize == 32 && in.Args[1] == nil && (r == x86asm.EAX || r == x86asm.EDX)
	}
	return false
}

// zeroExtends reports whether in, writing a 32-bit register as its first
// operand, always clears the upper half: bsf/bsr may leave the destination
// unchanged (source zero), cmpxchg may not write it.
func zeroExtends(in x86asm.Inst) bool {
	switch in.Op {
	case x86asm.BSF, x86asm.BSR, x86asm.CMPXCHG:
		return false
	}
	return writesFirst(in)
}

// writesFirst reports whether in writes its first operand.
func writesFirst(in x86asm.Inst) bool {
	if readOnlyOps[in.Op] {
		return false
	}
	return !(in.Op == x86asm.IMUL && in.Args[1] == nil)
}

// isMaskAnd reports whether in is `and $-32,%r32` (any negative mask that
// clears the low 5 bits).
func isMaskAnd(in x86asm.Inst, r x86asm.Reg) bool {
	d, ok := in.Args[0].(x86asm.Reg)
	imm, ok2 := in.Args[1].(x86asm.Imm)
	return in.Op == x86asm.AND && ok && ok2 && d == r && int32(imm)&31 == 0 && int32(imm) < 0
}

// isBaseRestore reports whether in is `add/or %r15,%r` or
// `lea (%r,%r15,1),%r`.
func isBaseRestore(in x86asm.Inst, r x86asm.Reg) bool {
	d, ok := in.Args[0].(x86asm.Reg)
	if !ok || d != r {
		return false
	}
	switch in.Op {
	case x86asm.ADD, x86asm.OR:
		s, ok := in.Args[1].(x86asm.Reg)
		return ok && s == x86asm.R15
	case x86asm.LEA:
		m, ok := in.Args[1].(x86asm.Mem)
		return ok && m.Base == r && m.Index == x86asm.R15 && m.Scale == 1 && m.Disp == 0 && m.Segment == 0
	}
	return false
}

// checkWrite checks a register the instruction writes.
func checkWrite(in x86asm.Inst, r x86asm.Reg, prev []oracleInst, off int, bad func(int, string, ...any)) {
	switch {
	case isR15(r):
		bad(off, "%v writes %v", in, r)
	case r == x86asm.SP || r == x86asm.SPB || r == x86asm.BP || r == x86asm.BPB:
		bad(off, "%v writes %v", in, r)
	case r == x86asm.RSP || r == x86asm.RBP:
		other := x86asm.RBP
		if r == x86asm.RBP {
			other = x86asm.RSP
		}
		if in.Op == x86asm.MOV {
			if s, ok := in.Args[1].(x86asm.Reg); ok && s == other {
				return
			}
		}
		if r == x86asm.RSP && in.Op == x86asm.AND {
			if imm, ok := in.Args[1].(x86asm.Imm); ok && imm < 0 && imm >= -128 {
				return
			}
		}
		if isBaseRestore(in, r) {
			if len(prev) > 0 {
				if d, ok := prev[len(prev)-1].in.Args[0].(x86asm.Reg); ok && d == reg32(r) {
					return
				}
			}
			bad(off, "%v restores %v that was not restricted just before", in, r)
			return
		}
		bad(off, "%v writes %v", in, r)
	}
}

// checkChunk validates code (a multiple of 32 bytes) under both profiles
// and several options and returns every property that fails.
func checkChunk(code []byte) []string {
	var probs []string
	fail := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	const base = refBase
	nacl := Code(code, base, refOpts)
	hal := Code(code, base, Options{Profile: Halite, Features: AllFeatures})
	for _, p := range []struct {
		name string
		vd   *Verdict
		prof Profile
	}{{"nacl", nacl, NaCl}, {"halite", hal, Halite}} {
		vd := p.vd
		if vd.Size != len(code) || vd.Bundles != len(code)/32 || vd.Truncated {
			fail("%s: verdict size %d bundles %d truncated %v", p.name, vd.Size, vd.Bundles, vd.Truncated)
		}
		for _, v := range vd.Violations {
			if v.Offset < 0 || v.Offset > len(code) || !knownRule(v.Rule) || v.Message == "" {
				fail("%s: bad violation %+v", p.name, v)
			}
		}
		if vd.Valid() != (vd.Err() == nil) {
			fail("%s: Valid and Err disagree", p.name)
		}
		if vd.Valid() {
			for _, s := range checkAccepted(code, vd, p.prof) {
				fail("%s: ACCEPTED: %s", p.name, s)
			}
		}
	}
	// Halite is NaCl plus one form.
	if nacl.Valid() && !hal.Valid() {
		fail("valid under nacl but not halite: %v", hal.Err())
	}
	if hal.Valid() && !nacl.Valid() {
		// Every nacl violation is the thread-pointer read, or a direct
		// jump to one (not an instruction start under nacl).
		tpAt := func(off int) bool {
			in, err := x86asm.Decode(code[min(off, len(code)):], 64)
			return err == nil && isHaliteTP(in)
		}
		for _, v := range nacl.Violations {
			if tpAt(v.Offset) {
				continue
			}
			if in, err := x86asm.Decode(code[min(v.Offset, len(code)):], 64); err == nil && isJumpRule(v.Rule) {
				if rel, ok := in.Args[0].(x86asm.Rel); ok && tpAt(v.Offset+in.Len+int(rel)) {
					continue
				}
			}
			fail("halite accepts, nacl rejects %v which is not mov %%fs:0,%%reg64 (or a jump to one)", v)
		}
	}
	// Fewer features never accept more.
	if none := Code(code, base, Options{Features: 0}); none.Valid() && !nacl.Valid() {
		fail("valid with no features but not with all: %v", nacl.Err())
	}
	// A reused Validator and MaxErrors agree with a fresh one.
	val := New(refOpts)
	val.Validate(bytes.Repeat([]byte{0xcc}, 64), base)
	again := val.Validate(code, base)
	if fmt.Sprint(again.Violations) != fmt.Sprint(nacl.Violations) {
		fail("reused Validator differs: %v vs %v", again.Violations, nacl.Violations)
	}
	for o := 0; o < len(code); o++ {
		if again.IsTarget(o) != nacl.IsTarget(o) {
			fail("reused Validator: IsTarget(%#x) differs", o)
			break
		}
	}
	if !nacl.Valid() {
		one := Code(code, base, Options{Features: AllFeatures, MaxErrors: 1})
		if one.Valid() || len(one.Violations) != 1 || one.Violations[0] != nacl.Violations[0] || one.Truncated != (len(nacl.Violations) > 1) {
			fail("MaxErrors 1: %v (truncated %v), full %v", one.Violations, one.Truncated, nacl.Violations)
		}
	}
	probs = append(probs, checkBundleSplit(code, nacl)...)
	return probs
}

func isJumpRule(r Rule) bool { return r == RuleBadJumpTarget || r == RuleJumpOutOfRange }

// checkBundleSplit compares the whole-chunk verdict with the verdicts of
// its bundles validated as separate chunks (at their own addresses).
// Decoding never carries state across a bundle boundary, so:
//   - the offsets of violations other than direct-jump ones agree (their
//     rules may differ only for an instruction that crosses into the next
//     bundle: truncated when alone);
//   - the jump targets (IsTarget) agree;
//   - a jump that is bad in the chunk is bad in its bundle alone, and a
//     jump bad only alone is reported as leaving its bundle
//     (jump-out-of-range);
//   - when no jump leaves its bundle for a non-aligned target, the chunk
//     is valid exactly when every bundle is valid alone.
func checkBundleSplit(code []byte, whole *Verdict) []string {
	var probs []string
	fail := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	wholeOffs := map[int]Rule{}
	wholeJump := map[int]bool{}
	for _, v := range whole.Violations {
		if isJumpRule(v.Rule) {
			wholeJump[v.Offset] = true
		} else {
			wholeOffs[v.Offset] = v.Rule
		}
	}
	sepOffs := map[int]Rule{}
	sepJump := map[int]Rule{}
	allValid, leaves := true, false
	val := New(refOpts)
	for b := 0; b < len(code); b += 32 {
		vd := val.Validate(code[b:b+32], refBase+uint64(b))
		allValid = allValid && vd.Valid()
		for _, v := range vd.Violations {
			if isJumpRule(v.Rule) {
				sepJump[b+v.Offset] = v.Rule
				leaves = leaves || v.Rule == RuleJumpOutOfRange
			} else {
				sepOffs[b+v.Offset] = v.Rule
			}
		}
		for o := 0; o < 32; o++ {
			if vd.IsTarget(o) != whole.IsTarget(b+o) {
				fail("split: IsTarget(%#x) = %v alone, %v in the chunk", b+o, vd.IsTarget(o), whole.IsTarget(b+o))
				break
			}
		}
	}
	if allValid && !whole.Valid() {
		fail("split: every bundle valid alone, chunk invalid: %v", whole.Err())
	}
	if !leaves && whole.Valid() != allValid {
		fail("split: no jump leaves its bundle, chunk valid=%v, bundles all valid=%v", whole.Valid(), allValid)
	}
	for o, r := range wholeOffs {
		if _, ok := sepOffs[o]; !ok {
			fail("split: %s at %#x in the chunk, nothing there in its bundle alone", r, o)
		}
	}
	for o, r := range sepOffs {
		if _, ok := wholeOffs[o]; !ok {
			fail("split: %s at %#x in the bundle alone, nothing there in the chunk", r, o)
		}
	}
	for o := range wholeJump {
		if _, ok := sepJump[o]; !ok {
			if knownAlignedTargetBug && jumpTargetAligned(code, o) {
				alignedTargetBugSeen.Add(1)
				continue
			}
			fail("split: jump violation at %#x in the chunk, not in its bundle alone", o)
		}
	}
	for o, r := range sepJump {
		if !wholeJump[o] && r != RuleJumpOutOfRange {
			fail("split: %s at %#x only in the bundle alone", r, o)
		}
	}
	return probs
}

// knownAlignedTargetBug: the validator reports jumps to 32-aligned
// in-chunk targets at invalid bundle starts (validate-bugs.md item 7);
// NaCl never checks aligned targets. Set to false once fixed.
const knownAlignedTargetBug = false

var alignedTargetBugSeen atomic.Int64

// jumpTargetAligned reports whether the instruction at off is a direct
// jump whose target offset is 32-byte aligned.
func jumpTargetAligned(code []byte, off int) bool {
	in, err := x86asm.Decode(code[off:], 64)
	if err != nil {
		return false
	}
	rel, ok := in.Args[0].(x86asm.Rel)
	return ok && (off+in.Len+int(rel))%32 == 0
}

// watchdog panics with the input being checked if one check takes longer
// than d (a hang); stop it with the returned function.
func watchdog(d time.Duration, input func() []byte) (stop func()) {
	t := time.AfterFunc(d, func() {
		panic(fmt.Sprintf("validator hangs (> %v) on chunk %x", d, input()))
	})
	return func() { t.Stop() }
}

// mutate applies a few random byte-level mutations to b.
func mutate(r *rand.Rand, b []byte) []byte {
	b = append([]byte(nil), b...)
	for k := r.IntN(4) + 1; k > 0; k-- {
		if len(b) == 0 {
			b = append(b, byte(r.IntN(256)))
			continue
		}
		i := r.IntN(len(b))
		switch r.IntN(6) {
		case 0:
			b[i] = byte(r.IntN(256))
		case 1:
			b[i] ^= 1 << r.IntN(8)
		case 2: // insert a byte (shifts the rest)
			b = append(b[:i], append([]byte{byte(r.IntN(256))}, b[i:]...)...)
		case 3: // delete a byte
			b = append(b[:i], b[i+1:]...)
		case 4: // an interesting prefix
			b[i] = []byte{0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x2e, 0x3e, 0x64, 0x65, 0x40, 0x48, 0x41, 0x4c, 0xc4, 0xc5, 0x0f}[r.IntN(16)]
		case 5: // a direct jump to a random nearby offset
			if i+2 <= len(b) {
				b[i], b[i+1] = 0xeb, byte(r.IntN(256))
			}
		}
	}
	return b
}

// propInputs returns deterministic inputs for the property test: the
// reference cases, packed valid cases, mutations and random bytes.
func propInputs(t *testing.T, n int) [][]byte {
	cases := refCases(t)
	r := rand.New(rand.NewPCG(1, 2))
	var valid [][]byte
	var inputs [][]byte
	for _, c := range cases {
		inputs = append(inputs, c.Hex.Code)
		if c.Valid {
			valid = append(valid, c.Hex.Code)
		}
	}
	for len(inputs) < n {
		switch r.IntN(4) {
		case 0: // several valid cases packed
			var b []byte
			for k := r.IntN(6) + 2; k > 0; k-- {
				b = append(b, valid[r.IntN(len(valid))]...)
			}
			inputs = append(inputs, b)
		case 1: // a mutated case
			inputs = append(inputs, mutate(r, cases[r.IntN(len(cases))].Hex.Code))
		case 2: // a mutated pack of valid cases
			b := append(append([]byte(nil), valid[r.IntN(len(valid))]...), valid[r.IntN(len(valid))]...)
			inputs = append(inputs, mutate(r, b))
		default: // random bytes
			b := make([]byte, 32*(r.IntN(4)+1))
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			inputs = append(inputs, b)
		}
	}
	return inputs
}

func TestProperties(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 2000
	}
	var cur []byte
	failed := map[string]int{}
	var accepted int
	var unchecked []uncheckedChunk
	sawSkip := false
	oracleSkipped = func([]byte) { sawSkip = true }
	defer func() { oracleSkipped = nil }()
	for _, in := range propInputs(t, n) {
		cur = chunkFrom(in)
		c := cur
		stop := watchdog(time.Minute, func() []byte { return c })
		if vd := Code(cur, refBase, refOpts); vd.Valid() {
			accepted++
			sawSkip = false
			checkAccepted(cur, vd, NaCl)
			if sawSkip {
				unchecked = append(unchecked, uncheckedChunk{cur, vd, NaCl})
			}
		}
		probs := checkChunk(cur)
		stop()
		for _, p := range probs {
			// Report each kind of problem a few times only.
			kind := p
			if i := strings.Index(p, ": "); i >= 0 {
				kind = p[:i]
			}
			if failed[kind]++; failed[kind] <= 3 {
				t.Errorf("%s\n\tchunk %s", p, hex.EncodeToString(cur))
			}
		}
	}
	var kinds []string
	for k, c := range failed {
		kinds = append(kinds, fmt.Sprintf("%s x%d", k, c))
	}
	sort.Strings(kinds)
	if len(kinds) > 0 {
		t.Errorf("property failures by kind: %s", strings.Join(kinds, "; "))
	}
	objdumpCheck(t, unchecked)
	for _, tc := range []struct {
		text string
		bad  bool
	}{
		{"prefetch (%rsp)", false}, {"pfadd  %mm0,%mm0", false}, {"movdir64b (%r15),%rax", true}, {"clzero", true},
		{"vfmaddps %xmm3,%xmm2,%xmm1,%xmm0", false}, {"vfmaddps (%rax),%xmm2,%xmm1,%xmm0", true},
		{"rex.W vmovups 0x8(%rsp),%xmm0", false}, {"mov    %fs:0x0,%rax", true}, {"lock xadd %eax,(%r15,%rax,1)", false},
		{"ret", true}, {"retq", true}, {"in     $0x60,%al", true}, {"int3", true}, {"inc    %eax", false},
		{"insertps $0x1,%xmm0,%xmm1", false}, {"insb   (%dx),%es:(%rdi)", true}, {"int    $0x80", true}, {"outsb  %ds:(%rsi),(%dx)", true},
		{"clflush (%r15)", false}, {"cli", true}, {"strb", false}, {"str    %eax", true},
	} {
		if got := objdumpForbidden(tc.text, NaCl) != ""; got != tc.bad {
			t.Errorf("objdumpForbidden(%q) = %v, want %v", tc.text, got, tc.bad)
		}
	}
	if knownAlignedTargetBug && alignedTargetBugSeen.Load() == 0 && !testing.Short() {
		t.Errorf("known bug 7 (aligned jump targets checked) was not seen: if it is fixed, set knownAlignedTargetBug = false")
	}
	t.Logf("properties: %d chunks checked, %d accepted (nacl)", n, accepted)
}

// TestOracle checks that checkAccepted catches unsafe code when a verdict
// (faked here) accepts it, so the property tests can fail.
func TestOracle(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hex    string
		prof   Profile
		bad    bool
		inside []int // instruction starts that are not targets (inside superinstructions)
	}{
		{"nops", "90", NaCl, false, nil},
		{"masked jump", "83e0e0 4c01f8 ffe0", NaCl, false, []int{3, 6}},
		{"fs tp halite", "64488b042500000000", Halite, false, nil},
		{"fs tp nacl", "64488b042500000000", NaCl, true, nil},
		{"fs off 8", "64488b042508000000", Halite, true, nil},
		{"syscall", "0f05", NaCl, true, nil},
		{"int3", "cc", NaCl, true, nil},
		{"ret", "c3", NaCl, true, nil},
		{"bare jmp reg", "ffe0", NaCl, true, nil},
		{"jmp mem", "41ff27", NaCl, true, nil},
		{"mov to r15", "4989c7", NaCl, true, nil},
		{"mov to rsp", "4889c4", NaCl, true, nil},
		{"add to rsp", "4883c408", NaCl, true, nil},
		{"write spl", "4088c4", NaCl, true, nil},
		{"load via rax", "8b00", NaCl, true, nil},
		{"unrestricted index", "418b0407", NaCl, true, nil},
		{"restricted index", "89c0 418b0407", NaCl, false, []int{2}},
		{"esp not restored", "83ec08 90", NaCl, true, nil},
		{"esp restored", "83ec08 4c01fc", NaCl, false, []int{3}},
		{"bare stos", "ab", NaCl, true, nil},
		{"sandboxed stos", "89ff 498d3c3f ab", NaCl, false, []int{2, 6}},
		{"bare maskmovq", "0ff7d1", NaCl, true, nil},
		{"bsr restrict", "0fbdc1 418b0407", NaCl, true, []int{3}},
		{"cwde restrict", "98 418b0407", NaCl, false, []int{1}},
		{"cltq restrict", "4898 418b0407", NaCl, true, []int{2}},
		{"restricted index target", "89c0 418b0407", NaCl, true, nil},
		{"esp fix-up target", "83ec08 4c01fc", NaCl, true, nil},
		{"masked add target", "83e0e0 4c01f8 ffe0", NaCl, true, []int{6}},
		{"stos lea target", "89ff 498d3c3f ab", NaCl, true, []int{6}},
		{"stos lea scale 2", "89ff 498d3c7f ab", NaCl, true, nil},
		{"stos lea disp", "89ff 498d7c3f08 ab", NaCl, true, nil},
		{"stos lea no mov", "498d3c3f ab", NaCl, true, nil},
		{"stos lea then nop", "89ff 498d3c3f 90 ab", NaCl, true, nil},
		{"movs both", "89f6 498d3437 89ff 498d3c3f a4", NaCl, false, []int{2, 6, 8, 12}},
		{"movs only rdi", "89ff 498d3c3f a4", NaCl, true, nil},
		{"stos addr32", "89ff 498d3c3f 67ab", NaCl, true, nil},
		{"sandboxed maskmovq", "89ff 498d3c3f 0ff7d1", NaCl, false, []int{2, 6}},
		{"vex rip load", "c5f8100500000000", NaCl, false, nil},
		{"vex rax load", "c5f81000", NaCl, true, nil},
		{"xbegin out", "c7f8 01010000", NaCl, true, nil},
		{"mov to ds", "8ed8", NaCl, true, nil},
		{"push fs", "0fa0", NaCl, true, nil},
		{"gs prefix", "65418b07", NaCl, true, nil},
		{"bt reg mem", "410fa307", NaCl, true, nil},
		{"jump into insn", "eb01 b801000000", NaCl, true, nil},
		{"jump out unaligned", "e901010000", NaCl, true, nil},
		{"jump out aligned", "e91b010000", NaCl, false, nil},
	} {
		code, err := hex.DecodeString(strings.ReplaceAll(tc.hex, " ", ""))
		if err != nil {
			t.Fatal(err)
		}
		code = chunkFrom(code)
		// A verdict that accepts the chunk, with x86asm's boundaries as
		// targets except the given superinstruction interiors.
		vd := &Verdict{Size: len(code), Bundles: len(code) / 32, targets: make([]uint64, (len(code)+63)/64)}
		for off := 0; off < len(code); {
			in, err := x86asm.Decode(code[off:], 64)
			if err != nil {
				t.Fatalf("%s: x86asm: %v", tc.name, err)
			}
			if !slices.Contains(tc.inside, off) {
				vd.targets[off/64] |= 1 << (off % 64)
			}
			off += in.Len
		}
		probs := checkAccepted(code, vd, tc.prof)
		if (len(probs) > 0) != tc.bad {
			t.Errorf("%s: oracle problems %q, want bad=%v", tc.name, probs, tc.bad)
		}
	}
}
