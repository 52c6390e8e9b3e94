package validate

import "encoding/binary"

// run checks code bundle by bundle.
func (v *Validator) run(code []byte) {
	vd := &v.verdict
	halite := v.opts.Profile == Halite
	feats := v.opts.Features
	var in inst
	var starts [bundleSize + 1]int
	for bstart := 0; bstart < len(code); bstart += bundleSize {
		bend := bstart + bundleSize
		restricted := int8(regNone)
		n := 0
		p := bstart
		aborted := false
		mask := uint32(0) // jump targets of the bundle (v.mask while checks run)
		for p < bend {
			// the fast paths (fastLoop), then one instruction on the
			// general path
			p, n, restricted, mask = v.fastLoop(code, p, bend, n, restricted, mask, &starts, feats)
			if p >= bend {
				break
			}
			end := min(len(code), p+15)
			// the general path: decode (decodeFast, else decodeSlow),
			// then the rules
			in = inst{base: regNone, index: regNone, reg: regNone, rm: regNone}
			var fe *fastEnt
			st := stOK
			if byteKind[code[p]] != bkPrefix {
				fe = decodeFast(code, p, end, &in)
			}
			if fe == nil {
				in = inst{base: regNone, index: regNone, reg: regNone, rm: regNone}
				st = decodeSlow(code, p, end, &in, halite)
			}
			if st != stOK && st != stIndirect {
				v.reject(code, p, st, &in)
				aborted = true
				break
			}
			if p+in.length > bend {
				v.report(code, p, RuleBundleCrossing, "instruction crosses a 32-byte bundle boundary")
				aborted = true
				break
			}
			mask |= 1 << uint(p&31)
			starts[n] = p
			n++
			if st == stIndirect {
				v.mask = mask
				ok := v.checkIndirect(code, p, &in, starts[:n-1])
				mask = v.mask
				if !ok {
					aborted = true
					break
				}
				restricted = regNone
				p += in.length
				continue
			}
			if in.o.kind == kString || in.o.kind == kStringRDI {
				v.mask = mask
				ok := v.checkString(code, p, &in, starts[:n-1])
				mask = v.mask
				if !ok {
					aborted = true
					break
				}
			}
			rejected := in.o.flags&fReject != 0
			if rejected {
				v.report(code, p, RuleForbidden, "instruction not allowed by NaCl's validator")
			}
			if never := in.need & neverFeatures; never != 0 && !isTZCNT(&in) {
				if !rejected {
					v.report(code, p, RuleCPUFeature, "instruction needs CPU feature "+never.String()+", outside NaCl's maximal feature set")
				}
			} else if in.need&^feats != 0 {
				v.report(code, p, RuleCPUFeature, "instruction needs CPU feature "+(in.need&^feats).String())
			}
			if restricted == regNone && !in.mem && in.rex&8 == 0 && in.o.flags&(fWReg|fWRM|fWOp|fWAX|fWV) == 0 {
				// nothing to check: no memory operand, no register
				// written, no fix-up, nothing pending
			} else if fe != nil && fe.chk != chkSlow && in.rex&8 == 0 && restricted != regRSP && restricted != regRBP {
				// checkInst's common cases, inline (see fastEnt.chk)
				v.mask = mask
				restricted = v.checkFast(code, p, &in, fe, restricted)
				mask = v.mask
			} else {
				v.mask = mask
				restricted = v.checkInst(code, p, &in, restricted)
				mask = v.mask
			}
			switch in.o.kind {
			case kJcc8, kJmp8, kLoop8, kJcc32, kJmp32, kCall32:
				v.jumps = append(v.jumps, jump{from: int32(p), target: int64(p+in.length) + in.rel})
			}
			p += in.length
		}
		vd.Instructions += n
		vd.targets[bstart>>6] |= uint64(mask) << uint(bstart&63)
		if !aborted {
			switch restricted {
			case regRSP:
				v.report(code, bend, RuleRSPSandboxing, "%rsp is left restricted at the end of the bundle")
			case regRBP:
				v.report(code, bend, RuleRBPSandboxing, "%rbp is left restricted at the end of the bundle")
			}
		}
	}
	for _, j := range v.jumps {
		if j.target%bundleSize == 0 {
			// A 32-aligned target is accepted unchecked, inside the chunk
			// or not (NaCl's MarkJumpTarget). Safe: no instruction may
			// cross a bundle boundary, a superinstruction's parts and a
			// restricted register's use are confined to one bundle
			// (restricted starts as none and the indirect-jump check only
			// looks back within the bundle), so in a valid chunk every
			// bundle start is an instruction start that IsTarget accepts.
			// A bundle that breaks this has its own violation, so the
			// chunk stays invalid.
			continue
		}
		if j.target >= 0 && j.target < int64(len(code)) {
			if !vd.IsTarget(int(j.target)) {
				v.report(code, int(j.from), RuleBadJumpTarget, "jump target is not an instruction boundary outside a superinstruction")
			}
		} else if j.target%bundleSize != 0 {
			v.report(code, int(j.from), RuleJumpOutOfRange, "jump target is outside the chunk and not 32-byte aligned")
		}
	}
}

// clearTarget removes p, an offset in the current bundle, from the jump
// targets.
func (v *Validator) clearTarget(p int) {
	v.mask &^= 1 << uint(p&31)
}

// reject reports an instruction the decoder refused.
func (v *Validator) reject(code []byte, p int, st int, in *inst) {
	switch st {
	case stForbidden:
		v.report(code, p, RuleForbidden, msgText[in.msg])
	case stSegment:
		v.report(code, p, RuleSegmentPrefix, "segment prefixes are not allowed")
	default:
		v.report(code, p, RuleUnrecognized, msgText[in.msg])
	}
}

var regNames = [...]string{"%rax", "%rcx", "%rdx", "%rbx", "%rsp", "%rbp", "%rsi", "%rdi",
	"%r8", "%r9", "%r10", "%r11", "%r12", "%r13", "%r14", "%r15", "%rip"}

// Messages built once, so that reporting a violation does not allocate.
var (
	badBaseMsg  [len(regNames) + 1]string // [base+1]
	badIndexMsg [len(regNames)]string
	fixupMsg    = [2]string{"%rsp fix-up without a preceding 32-bit write to %esp", "%rbp fix-up without a preceding 32-bit write to %ebp"}
)

func init() {
	badBaseMsg[0] = "memory operand without a base register (only %r15, %rsp, %rbp or %rip)"
	for i, n := range regNames {
		badBaseMsg[i+1] = "memory base " + n + " is not %r15, %rsp, %rbp or %rip"
		badIndexMsg[i] = "index register " + n + " is not restricted by the previous instruction"
	}
}

// checkInst applies the register and memory rules to one decoded
// instruction; prev is the register restricted by the previous
// instruction. It returns the register this instruction restricts.
func (v *Validator) checkInst(code []byte, p int, in *inst, prev int8) int8 {
	if in.nop {
		if prev == regRSP || prev == regRBP {
			v.unprocessed(code, p, prev)
		}
		return regNone
	}
	var b []byte
	if in.rex&8 != 0 {
		b = code[p : p+in.length]
		// %rsp/%rbp fix-ups: add/or %r15,%rsp|%rbp, lea
		// (%rsp,%r15,1),%rsp, lea 0x0(%rbp,%r15,1),%rbp (each starts
		// with REX 0x49, 0x4a or 0x4c: fixup is only called for those).
		if c := b[0]; c == 0x49 || c == 0x4a || c == 0x4c {
			if r := fixup(b); r != regNone {
				if prev != r {
					rule := RuleRSPSandboxing
					if r == regRBP {
						rule = RuleRBPSandboxing
					}
					v.report(code, p, rule, fixupMsg[r&1])
					if prev == regRSP || prev == regRBP {
						v.unprocessed(code, p, prev)
					}
				} else {
					v.clearTarget(p)
				}
				return regNone
			}
		}
	}
	if prev == regRSP || prev == regRBP {
		v.unprocessed(code, p, prev)
	}
	f := in.o.flags
	if in.mem && f&fNoMem == 0 && !in.fsRead {
		switch in.base {
		case regR15, regRSP, regRBP, regRIP:
			if in.index != regNone {
				if in.index == prev {
					v.clearTarget(p)
				} else {
					v.report(code, p, RuleBadIndex, badIndexMsg[in.index])
				}
			}
		default:
			v.report(code, p, RuleBadBase, badBaseMsg[in.base+1])
		}
		if f&fNoBTMem != 0 {
			v.report(code, p, RuleForbidden, "bit test with a register bit offset into memory")
		}
	}
	if f&(fWReg|fWRM|fWOp|fWAX|fWV) == 0 {
		return regNone
	}
	// allowed 64-bit writes to %rsp/%rbp
	if b != nil && isStackMove(b) {
		return regNone
	}
	bits := 32
	switch in.o.size {
	case szV:
		switch {
		case in.rex&8 != 0:
			bits = 64
		case in.p66:
			bits = 16
		}
	case sz8:
		bits = 8
	case sz64:
		bits = 64
		if in.p66 {
			bits = 16 // pop %bp
		}
	case szY:
		if in.rex&8 != 0 {
			bits = 64
		}
	case sz16:
		bits = 16
	}
	zext := bits == 32 && f&fNoZext == 0
	restricted := int8(regNone)
	if f&fWAX != 0 {
		restricted = v.write(code, p, in, 0, bits, zext, restricted)
	}
	if f&fWReg != 0 {
		if r := in.reg; r != regR15 && r != regRSP && r != regRBP && restricted == regNone {
			// common case, inline: an ordinary register, nothing pending
			if zext {
				restricted = r
			}
		} else {
			restricted = v.write(code, p, in, r, bits, zext, restricted)
		}
	}
	if f&fWRM != 0 {
		if in.mod == 3 {
			if r := in.rm; r != regR15 && r != regRSP && r != regRBP && restricted == regNone {
				if zext {
					restricted = r
				}
			} else {
				restricted = v.write(code, p, in, r, bits, zext, restricted)
			}
		} else if f&fWReg != 0 {
			// xchg/xadd with memory: NaCl treats only the second
			// (memory) write as the zero-extending one, so the
			// register written first is not restricted.
			if restricted == regRSP || restricted == regRBP {
				v.unprocessed(code, p, restricted)
			}
			restricted = regNone
		}
	}
	if f&fWOp != 0 {
		restricted = v.write(code, p, in, int8(in.opc&7)|int8(in.rex&1)<<3, bits, zext, restricted)
	}
	if f&fWV != 0 {
		restricted = v.write(code, p, in, in.vreg, bits, zext, restricted)
	}
	return restricted
}

// checkFast is checkInst for a fast-path instruction without REX.W whose
// shape has fe.chk != chkSlow, with no %rsp/%rbp restriction pending
// (prev): the memory operand check, then the single register write.
func (v *Validator) checkFast(code []byte, p int, in *inst, fe *fastEnt, prev int8) int8 {
	f := fe.o.flags
	if in.mem && f&fNoMem == 0 {
		switch in.base {
		case regR15, regRSP, regRBP, regRIP:
			if in.index != regNone {
				if in.index == prev {
					v.clearTarget(p)
				} else {
					v.report(code, p, RuleBadIndex, badIndexMsg[in.index])
				}
			}
		default:
			v.report(code, p, RuleBadBase, badBaseMsg[in.base+1])
		}
		if f&fNoBTMem != 0 {
			v.report(code, p, RuleForbidden, "bit test with a register bit offset into memory")
		}
	}
	var r int8
	switch fe.chk {
	case chkReg:
		r = in.reg
	case chkRM:
		if in.mod != 3 {
			return regNone
		}
		r = in.rm
	case chkOp:
		r = int8(in.opc&7) | int8(in.rex&1)<<3
	default:
		return regNone
	}
	if r != regR15 && r != regRSP && r != regRBP {
		if fe.zext {
			return r
		}
		return regNone
	}
	bits := 32
	switch fe.o.size {
	case sz8:
		bits = 8
	case sz64:
		bits = 64
	case sz16:
		bits = 16
	}
	return v.write(code, p, in, r, bits, fe.zext, regNone)
}

// write applies the rules to a write of bits bits to GP register r by the
// instruction at p; restricted is the register restricted by an earlier
// write of the same instruction. It returns the register now restricted.
func (v *Validator) write(code []byte, p int, in *inst, r int8, bits int, zext bool, restricted int8) int8 {
	if restricted == regRSP || restricted == regRBP {
		v.unprocessed(code, p, restricted)
	}
	if bits == 8 && in.rex == 0 && r >= 4 && r < 8 {
		r -= 4 // %ah, %ch, %dh, %bh
	}
	switch r {
	case regR15:
		v.report(code, p, RuleR15Modified, "%r15 is modified")
	case regRBP:
		if bits < 32 {
			v.report(code, p, RuleRBPModified, "%bpl or %bp is modified")
		} else if !zext {
			v.report(code, p, RuleRBPSandboxing, "%rbp is modified other than by a zero-extending 32-bit write followed by add %r15,%rbp")
		} else {
			return r
		}
	case regRSP:
		if bits < 32 {
			v.report(code, p, RuleRSPModified, "%spl or %sp is modified")
		} else if !zext {
			v.report(code, p, RuleRSPSandboxing, "%rsp is modified other than by a zero-extending 32-bit write followed by add %r15,%rsp")
		} else {
			return r
		}
	default:
		if zext {
			return r
		}
	}
	return regNone
}

// unprocessed reports a restricted %rsp/%rbp that the instruction at p
// does not fix up.
func (v *Validator) unprocessed(code []byte, p int, prev int8) {
	switch prev {
	case regRSP:
		v.report(code, p, RuleRSPSandboxing, "restricted %rsp is not followed by add %r15,%rsp")
	case regRBP:
		v.report(code, p, RuleRBPSandboxing, "restricted %rbp is not followed by add %r15,%rbp")
	}
}

// fixup returns regRSP or regRBP if b is one of the instructions that
// rebase a restricted %rsp/%rbp on %r15, else regNone.
func fixup(b []byte) int8 {
	switch len(b) {
	case 3:
		if b[0] == 0x4c && (b[1] == 0x01 || b[1] == 0x09) {
			switch b[2] {
			case 0xfc:
				return regRSP
			case 0xfd:
				return regRBP
			}
		}
		if b[0] == 0x49 && (b[1] == 0x03 || b[1] == 0x0b) {
			switch b[2] {
			case 0xe7:
				return regRSP
			case 0xef:
				return regRBP
			}
		}
	case 4:
		if b[0] == 0x4a && b[1] == 0x8d && b[2] == 0x24 && b[3] == 0x3c {
			return regRSP
		}
	case 5:
		if b[0] == 0x4a && b[1] == 0x8d && b[4] == 0 {
			if b[2] == 0x64 && b[3] == 0x3c {
				return regRSP
			}
			if b[2] == 0x6c && b[3] == 0x3d {
				return regRBP
			}
		}
	case 8:
		if b[0] == 0x4a && b[1] == 0x8d && b[4]|b[5]|b[6]|b[7] == 0 {
			if b[2] == 0xa4 && b[3] == 0x3c {
				return regRSP
			}
			if b[2] == 0xac && b[3] == 0x3d {
				return regRBP
			}
		}
	}
	return regNone
}

// isStackMove reports the 64-bit writes to %rsp/%rbp that are allowed as
// they are: mov %rsp,%rbp, mov %rbp,%rsp and and $negative-imm8,%rsp.
func isStackMove(b []byte) bool {
	switch len(b) {
	case 3:
		if b[0] == 0x48 && ((b[1] == 0x89 && (b[2] == 0xe5 || b[2] == 0xec)) || (b[1] == 0x8b && (b[2] == 0xec || b[2] == 0xe5))) {
			return true
		}
	case 4:
		return b[0] == 0x48 && b[1] == 0x83 && b[2] == 0xe4 && b[3]&0x80 != 0
	}
	return false
}

// checkIndirect checks that the indirect jmp/call at p completes the
// masked superinstruction `and $-32,%eXX; add %r15,%rXX; jmp|call *%rXX`
// whose first two instructions start at the last two entries of prev.
func (v *Validator) checkIndirect(code []byte, p int, in *inst, prev []int) bool {
	r := in.rm
	ok := in.mod == 3 && r != regR15 && r != regRSP && len(prev) >= 2
	if ok {
		a, d := prev[len(prev)-2], prev[len(prev)-1]
		and := code[a:d]
		add := code[d:p]
		lo := byte(r & 7)
		if r < 8 {
			ok = len(and) == 3 && and[0] == 0x83 && and[1] == 0xe0|lo && and[2] == 0xe0 &&
				len(add) == 3 && ((add[0] == 0x4c && add[1] == 0x01 && add[2] == 0xf8|lo) ||
				(add[0] == 0x49 && add[1] == 0x03 && add[2] == 0xc7|lo<<3))
		} else {
			ok = len(and) == 4 && and[0] == 0x41 && and[1] == 0x83 && and[2] == 0xe0|lo && and[3] == 0xe0 &&
				len(add) == 3 && add[0] == 0x4d && ((add[1] == 0x01 && add[2] == 0xf8|lo) ||
				(add[1] == 0x03 && add[2] == 0xc7|lo<<3))
		}
		if ok {
			v.clearTarget(d)
			v.clearTarget(p)
		}
	}
	if !ok {
		v.report(code, p, RuleIndirectJump, "indirect jump or call is not preceded by and $-32,%eXX; add %r15,%rXX on the same register in the same bundle")
	}
	return ok
}

// checkString checks that the string instruction (or maskmov) at p is
// preceded, in the bundle, by the sandboxing of %rsi and/or %rdi it uses:
// mov %esi,%esi; lea (%r15,%rsi,1),%rsi and mov %edi,%edi; lea
// (%r15,%rdi,1),%rdi (the %rsi pair first when both are needed).
func (v *Validator) checkString(code []byte, p int, in *inst, prev []int) bool {
	needSI, needDI := false, true
	if in.o.kind == kString {
		switch in.opc {
		case 0xa4, 0xa5, 0xa6, 0xa7:
			needSI = true
		case 0xac, 0xad:
			needSI, needDI = true, false
		}
	}
	pairs := 0
	if needSI {
		pairs++
	}
	if needDI {
		pairs++
	}
	ok := len(prev) >= 2*pairs
	if ok {
		k := len(prev) - 2*pairs
		end := func(i int) int {
			if i+1 < len(prev) {
				return prev[i+1]
			}
			return p
		}
		check := func(i int, mov byte, lea []byte) bool {
			m := code[prev[i]:end(i)]
			l := code[prev[i+1]:end(i+1)]
			return len(m) == 2 && (m[0] == 0x89 || m[0] == 0x8b) && m[1] == mov &&
				len(l) == 4 && l[0] == lea[0] && l[1] == lea[1] && l[2] == lea[2] && l[3] == lea[3]
		}
		i := k
		if needSI {
			ok = check(i, 0xf6, []byte{0x49, 0x8d, 0x34, 0x37})
			i += 2
		}
		if ok && needDI {
			ok = check(i, 0xff, []byte{0x49, 0x8d, 0x3c, 0x3f})
		}
		if ok {
			for j := k + 1; j < len(prev); j++ {
				v.clearTarget(prev[j])
			}
			v.clearTarget(p)
		}
	}
	if !ok {
		v.report(code, p, RuleUnrecognized, "string instruction without mov %edi,%edi; lea (%r15,%rdi,1),%rdi (and the same for %rsi) right before it")
	}
	return ok
}

// isTZCNT reports whether in is tzcnt (F3 0F BC), the one BMI1
// instruction NaCl allows whatever the maximal feature set says (it runs
// as bsf on CPUs without BMI1). It still needs FeatBMI1 in
// Options.Features.
func isTZCNT(in *inst) bool {
	return in.opc == 0xbc && in.o.feat == feat(FeatBMI1)
}

// fastLoop checks the instructions from p on, in the bundle ending at
// bend, for as long as they take the fast paths: runs of one-byte
// instructions without operands, NaCl's nop forms, and the common shapes
// (fastEnt.okFused), each decoded and checked in local variables exactly
// as decodeFast/decodeSlow + checkInst would. It stops, before any side
// effect, at the first instruction that needs the general path (or at
// bend) and returns the position and the bundle state: the instruction
// count n, the restricted register and the jump-target mask.
func (v *Validator) fastLoop(code []byte, p, bend, n int, restricted int8, mask uint32, starts *[bundleSize + 1]int, feats Features) (int, int, int8, uint32) {
	for p < bend {
		if simple1[code[p]] {
			// one-byte instructions without operands (nop, push, hlt, ...)
			if restricted == regRSP || restricted == regRBP {
				v.unprocessed(code, p, restricted)
			}
			restricted = regNone
			for {
				mask |= 1 << uint(p&31)
				starts[n] = p
				n++
				p++
				if p >= bend || !simple1[code[p]] {
					break
				}
			}
			continue
		}
		end := min(len(code), p+15)
		{
			// The fused fast path: decode and check the common
			// shapes (decodeFast's, with fastEnt.fused) in local
			// variables, exactly as decodeFast + checkInst would.
			// Anything else, before any side effect, goes to the
			// general path below.
			if p+8 > len(code) {
				return p, n, restricted, mask
			}
			if c := code[p]; (c == 0x66 || c == 0x0f) && (code[p+1] == 0x1f || code[p+1] == 0x66 || code[p+1] == 0x2e || code[p+1] == 0x0f) {
				// decodeSlow's nop check comes first for these bytes
				// (none of them starts a fast shape)
				k := matchNop(code[:end], p)
				if k == 0 || p+k > bend {
					return p, n, restricted, mask
				}
				mask |= 1 << uint(p&31)
				starts[n] = p
				n++
				if restricted == regRSP || restricted == regRBP {
					v.unprocessed(code, p, restricted)
				}
				restricted = regNone
				p += k
				continue
			}
			// The next instruction's start depends only on these
			// bytes, ALU work and two independent table loads.
			w := binary.LittleEndian.Uint64(code[p:])
			c := byte(w)
			rex := byte(0)
			rl := 0
			rc := uint8(0) // as rexClass[c]
			if c&0xf0 == 0x40 {
				rex = c
				rl = 1
				rc = 1 + (c>>3)&1
			}
			w >>= 8 * uint(rl)
			mi := 0
			if byte(w) == 0x0f {
				mi = 1
			}
			w >>= 8 * uint(mi)
			c = byte(w)
			fi := &fastInfo[mi][c]
			q := p + rl + mi + 1
			reg, rm, base, index := int8(regNone), int8(regNone), int8(regNone), int8(regNone)
			mem := false
			if fi.hasM {
				m := byte(w >> 8)
				q++
				r3 := (m >> 3) & 7
				reg = int8(r3) | int8(rex&4)<<1
				sb := r3
				if m >= 0xc0 {
					rm = int8(m&7) | int8(rex&1)<<3
					sb |= 8
				} else {
					mm := &modrmMem[m]
					mem = true
					k := int(mm.n)
					if mm.hasSIB {
						sib := byte(w >> 16)
						if ix := int8((sib>>3)&7) | int8(rex&2)<<2; ix != 4 {
							index = ix
						}
						if sib&7 == 5 && m < 0x40 {
							k += 4
						} else {
							base = int8(sib&7) | int8(rex&1)<<3
						}
					} else if mm.base == regRIP {
						base = regRIP
					} else {
						base = mm.base | int8(rex&1)<<3
					}
					q += k
				}
				if fi.sel != 0 {
					fi = &fastGroup[int(fi.idx)+int(sb&fi.sel)]
				}
			}
			if fi.ok>>rc&1 == 0 {
				return p, n, restricted, mask
			}
			isz, bits, zext := fi.isz, fi.bits, fi.zext
			if rex&8 != 0 {
				isz, bits, zext = fi.iszW, fi.bitsW, fi.zextW
			}
			q += int(isz)
			if q > end || q > bend {
				return p, n, restricted, mask
			}
			if fi.feat != 0 {
				if need := Features(1) << (fi.feat - 1); need&neverFeatures != 0 || need&^feats != 0 {
					return p, n, restricted, mask
				}
			}
			if restricted == regRSP || restricted == regRBP {
				return p, n, restricted, mask
			}
			if rex&8 != 0 && q-p <= 8 {
				// the %rsp/%rbp fix-ups start with REX 0x49, 0x4a or
				// 0x4c, the allowed stack moves with 0x48
				if b := code[p:q]; (rex == 0x49 || rex == 0x4a || rex == 0x4c) && fixup(b) != regNone || rex == 0x48 && isStackMove(b) {
					return p, n, restricted, mask
				}
			}
			// committed: the instruction is decoded and fits
			mask |= 1 << uint(p&31)
			starts[n] = p
			n++
			if mem && !fi.noMem {
				switch base {
				case regR15, regRSP, regRBP, regRIP:
					if index != regNone {
						if index == restricted {
							mask &^= 1 << uint(p&31)
						} else {
							v.report(code, p, RuleBadIndex, badIndexMsg[index])
						}
					}
				default:
					v.report(code, p, RuleBadBase, badBaseMsg[base+1])
				}
				if fi.noBTM {
					v.report(code, p, RuleForbidden, "bit test with a register bit offset into memory")
				}
			}
			restricted = regNone
			r := int8(regNone)
			switch fi.chk {
			case chkReg:
				r = reg
			case chkRM:
				r = rm // regNone for a memory operand
			case chkOp:
				r = int8(c&7) | int8(rex&1)<<3
			}
			if r != regNone {
				if r != regR15 && r != regRSP && r != regRBP {
					if zext {
						restricted = r
					}
				} else {
					restricted = v.write(code, p, &inst{rex: rex}, r, int(bits), zext, regNone)
				}
			}
			if fi.rel != 0 {
				t := int64(q) + int64(int8(code[q-1]))
				if fi.rel == 4 {
					t = int64(q) + int64(int32(binary.LittleEndian.Uint32(code[q-4:])))
				}
				v.addJump(p, t)
			}
			p = q
			continue
		}
	}
	return p, n, restricted, mask
}

// addJump records the direct jump or call at p to target.
func (v *Validator) addJump(p int, target int64) {
	v.jumps = append(v.jumps, jump{from: int32(p), target: target})
}
