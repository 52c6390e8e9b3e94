package validate

// The validator's decoder and rule checker as they were before the speed
// work of session 2 (commit 5d5f62d), kept verbatim (identifiers renamed
// with an "Old" suffix, methods moved to oldValidator) as the oracle of
// the differential test and fuzz target in diff_test.go: the optimized
// validator must give the same instruction starts, lengths and verdicts.
// The opcode tables (tables.go, vex.go) are shared.

// oldValidator is Validator's state for the old checker.
type oldValidator struct {
	opts    Options
	verdict Verdict
	jumps   []jumpOld
	mask    uint32
}

// validateOld is Validator.Validate with the old checker.
func (v *oldValidator) validateOld(code []byte, base uint64) *Verdict {
	vd := &v.verdict
	vd.Violations = vd.Violations[:0]
	vd.Instructions = 0
	vd.Bundles = len(code) / bundleSize
	vd.Size = len(code)
	vd.Base = base
	vd.Truncated = false
	nw := (len(code) + 63) / 64
	if cap(vd.targets) < nw {
		vd.targets = make([]uint64, nw)
	}
	vd.targets = vd.targets[:nw]
	clear(vd.targets)
	v.jumps = v.jumps[:0]
	if base%bundleSize != 0 || len(code)%bundleSize != 0 {
		v.reportOld(code, 0, RuleChunkLayout, layoutMessage(base, len(code)))
		return vd
	}
	v.runOld(code)
	return vd
}

// instOld is one decoded instruction. The decoder fills only what the rules
// need.
type instOld struct {
	length int
	o      op // resolved entry (group merged)
	opc    byte
	rex    byte
	p66    bool
	rep    bool // f2 or f3 present
	mod    uint8
	reg    int8  // ModRM.reg with REX.R
	rm     int8  // ModRM.rm with REX.B (register form)
	vreg   int8  // VEX.vvvv (GP destination of BMI instructions)
	base   int8  // memory operand base, regNone if none, regRIP
	index  int8  // memory operand index, regNone if none
	mem    bool  // has a memory operand
	fsRead bool  // the Halite profile's mov %fs:0x0,%reg64
	nop    bool  // one of NaCl's special nop forms
	rel    int64 // direct jumpOld displacement
	need   Features
	msg    msgID // why it was rejected
}

// jumpOld is a direct jump or call: the offset of the instruction and its
// target offset relative to the chunk start.
type jumpOld struct {
	from   int32
	target int64
}

// matchNopOld recognises NaCl's multi-byte nop forms at code[p:]: returns the
// length or 0.
func matchNopOld(code []byte, p int) int {
	n := len(code) - p
	if n < 3 {
		return 0
	}
	c := code[p:]
	i := 0
	for i < len(c) && i < 7 && c[i] == 0x66 {
		i++
	}
	cs := false
	if i < len(c) && c[i] == 0x2e {
		if i == 0 {
			return 0
		}
		cs = true
		i++
	}
	if i+3 > len(c) || c[i] != 0x0f || c[i+1] != 0x1f {
		return 0
	}
	i += 2
	zero := func(j, k int) bool { return allZeroOld(c, j, k) }
	pre := i - 2 // number of prefix bytes
	switch c[i] {
	case 0x00:
		if pre == 0 {
			return i + 1
		}
	case 0x40:
		if pre == 0 && zero(i+1, 1) {
			return i + 2
		}
	case 0x44:
		if (pre == 0 || (pre == 1 && !cs)) && zero(i+1, 2) {
			return i + 3
		}
	case 0x80:
		if pre == 0 && zero(i+1, 4) {
			return i + 5
		}
	case 0x84:
		if (pre <= 1 || cs) && pre <= 7 && zero(i+1, 5) {
			if i+6 > 15 {
				return 0
			}
			return i + 6
		}
	}
	return 0
}

// allZeroOld reports whether c[j:j+k] is within c and all zero.
func allZeroOld(c []byte, j, k int) bool {
	if j+k > len(c) {
		return false
	}
	for _, b := range c[j : j+k] {
		if b != 0 {
			return false
		}
	}
	return true
}

// decodeFastOld is decodeOld for the common case: no legacy prefix, optionally
// a REX prefix, then an opcode b with fastOne[b] or 0f b with fastTwo[b]. It does exactly what decodeOld does for such
// an instruction when decodeOld accepts it with stOK; ok is false (and in is
// partly filled) when the instruction needs anything else, including any
// rejection: decodeOld then starts over on the general path, which makes
// the verdict and its message.
func decodeFastOld(code []byte, p, end int, in *instOld) (st int, ok bool) {
	start := p
	var rex byte
	if code[p]&0xf0 == 0x40 {
		rex = code[p]
		p++
		if p >= end {
			return 0, false
		}
	}
	opc := code[p]
	p++
	var o op
	if fastOne[opc] {
		o = oneByte[opc]
	} else if opc == 0x0f && p < end && fastTwo[code[p]] {
		opc = code[p]
		p++
		o = tab[map0F][pNone][opc]
	} else {
		return 0, false
	}
	in.rex = rex
	rexW := rex&8 != 0
	in.opc = opc
	if o.flags&fModRM != 0 {
		var r3 byte
		if p < end && code[p] >= 0xc0 {
			modrm := code[p]
			p++
			in.mod = 3
			r3 = (modrm >> 3) & 7
			in.reg = int8(r3) | int8(in.rex&4)<<1
			in.rm = int8(modrm&7) | int8(in.rex&1)<<3
		} else {
			q, r, ok := modRMOld(code, p, end, in)
			if !ok {
				return 0, false
			}
			p, r3 = q, r
		}
		if o.group != 0 {
			g := &groups[o.group-1]
			i := r3
			if in.mod == 3 {
				i += 8
			}
			sub := g[i]
			if sub.flags&fValid == 0 || sub.kind != kNormal {
				return 0, false
			}
			feat := o.feat
			if sub.feat != 0 {
				feat = sub.feat
			}
			o = op{flags: o.flags | sub.flags, imm: sub.imm, size: sub.size, feat: feat, kind: sub.kind}
		}
		if o.flags&fMemOnly != 0 && in.mod == 3 || o.flags&fRegOnly != 0 && in.mod != 3 {
			return 0, false
		}
	} else if o.group != 0 {
		return 0, false
	}
	if o.flags&fValid == 0 {
		return 0, false
	}
	in.o = o
	isz := 0
	switch o.imm {
	case imm8:
		isz = 1
	case imm16, imm88:
		isz = 2
	case immZ:
		isz = 4
	case immV:
		isz = 4
		if rexW {
			isz = 8
		}
	}
	switch o.kind {
	case kCall32, kJmp32, kJcc32:
		isz = 4
	}
	if p+isz > end {
		return 0, false
	}
	switch o.kind {
	case kNormal:
	case kJcc8, kJmp8:
		if in.rex != 0 {
			return 0, false
		}
		in.rel = int64(int8(code[p]))
	case kCall32, kJmp32, kJcc32:
		if in.rex != 0 {
			return 0, false
		}
		in.rel = int64(int32(uint32(code[p]) | uint32(code[p+1])<<8 | uint32(code[p+2])<<16 | uint32(code[p+3])<<24))
	default:
		return 0, false
	}
	p += isz
	in.length = p - start
	if rexW && o.flags&fNoRexW != 0 || !rexW && o.flags&fRexWOnly != 0 {
		return 0, false
	}
	if o.feat != 0 {
		in.need |= 1 << (o.feat - 1)
	}
	return stOK, true
}

// decodeOld decodes the instruction at code[p:]. It returns a status; on
// stOK, stIndirect and stForbidden in.length is set.
func decodeOld(code []byte, p int, in *instOld, halite bool) int {
	end := min(len(code), p+15)
	*in = instOld{base: regNone, index: regNone, reg: regNone, rm: regNone}
	if byteKind[code[p]] != bkPrefix {
		if st, ok := decodeFastOld(code, p, end, in); ok {
			return st
		}
		*in = instOld{base: regNone, index: regNone, reg: regNone, rm: regNone}
	}
	return decodeSlowOld(code, p, end, in, halite)
}

// decodeSlowOld is the general path of decodeOld: in is reset, end is
// min(len(code), p+15).
func decodeSlowOld(code []byte, p, end int, in *instOld, halite bool) int {
	start := p
	if c := code[p]; (c == 0x66 || c == 0x0f) && p+1 < end && (code[p+1] == 0x1f || code[p+1] == 0x66 || code[p+1] == 0x2e || code[p+1] == 0x0f) {
		if n := matchNopOld(code[:end], p); n > 0 {
			in.length = n
			in.nop = true
			in.o = op{flags: fValid}
			return stOK
		}
	}
	var seg byte
	var lock, f2, f3 bool
	if byteKind[code[p]] == bkOpcode {
		goto opcode
	}
	for p < end {
		b := code[p]
		switch b {
		case 0x66:
			if in.p66 {
				in.msg = mDuplicate0x66Prefix
				return stUnrecognized
			}
			in.p66 = true
		case 0xf0:
			if lock {
				in.msg = mDuplicateLockPrefix
				return stUnrecognized
			}
			lock = true
		case 0xf2:
			if f2 || f3 {
				in.msg = mMoreThanOneRepRepnePrefix
				return stUnrecognized
			}
			f2 = true
		case 0xf3:
			if f2 || f3 {
				in.msg = mMoreThanOneRepRepnePrefix
				return stUnrecognized
			}
			f3 = true
		case 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65:
			if seg != 0 {
				in.msg = mMoreThanOneSegmentPrefix
				return stSegment
			}
			seg = b
		case 0x67:
			in.msg = mAddressSizePrefix0x67IsNotAllowed
			return stUnrecognized
		default:
			goto rex
		}
		p++
	}
	in.msg = mTruncatedInstruction
	return stUnrecognized
rex:
	if code[p]&0xf0 == 0x40 {
		in.rex = code[p]
		p++
		if p >= end {
			in.msg = mTruncatedInstruction
			return stUnrecognized
		}
		if byteKind[code[p]] != bkOpcode {
			in.msg = mREXPrefixMustImmediatelyPrecedeTheOpcode
			return stUnrecognized
		}
	}
opcode:
	in.rep = f2 || f3
	rexW := in.rex&8 != 0
	var o op
	mapID := map1
	opc := code[p]
	p++
	switch opc {
	case 0x0f:
		if p >= end {
			in.msg = mTruncatedInstruction
			return stUnrecognized
		}
		opc = code[p]
		p++
		mapID = map0F
		if opc == 0x38 || opc == 0x3a {
			if opc == 0x38 {
				mapID = map0F38
			} else {
				mapID = map0F3A
			}
			if p >= end {
				in.msg = mTruncatedInstruction
				return stUnrecognized
			}
			opc = code[p]
			p++
		}
		sel := pNone
		switch {
		case f2:
			sel = pF2
		case f3:
			sel = pF3
		case in.p66:
			sel = p66
		}
		o = tab[mapID][sel][opc]
		switch {
		case sel == p66 && o.flags&fValid == 0:
			o = tab[mapID][pNone][opc]
			if o.flags&fOpsize == 0 {
				o = op{}
			}
		case sel == p66:
			in.p66 = false // mandatory prefix, not operand size
		case (f2 || f3) && in.p66:
			if o.flags&fOpsize == 0 {
				o = op{}
			}
		}
		if sel == pF2 || sel == pF3 {
			in.rep = false // mandatory prefix
		}
	case 0xc4, 0xc5:
		if in.rex != 0 || in.p66 || f2 || f3 || lock {
			in.msg = mPrefixBeforeVEX
			return stUnrecognized
		}
		if seg != 0 {
			in.msg = mSegmentPrefix
			return stSegment
		}
		return decodeVEXOld(code, start, p-1, end, in)
	default:
		o = oneByte[opc]
		if opc == 0x90 && in.rex&1 != 0 {
			o = oneByte[0x91]
		}
		if opc == 0x90 && f3 && !in.p66 && in.rex == 0 {
			in.rep = false // pause
		}
	}
	in.opc = opc
	if o.flags&fValid == 0 && o.kind == kNormal && o.group == 0 {
		in.msg = mUndefinedOrNotAllowedOpcode
		return stUnrecognized
	}
	// ModRM and group
	if o.flags&fModRM != 0 {
		var r3 byte
		if p < end && code[p] >= 0xc0 {
			// register form (mod 3), inline: what modRMOld does for it
			modrm := code[p]
			p++
			in.mod = 3
			r3 = (modrm >> 3) & 7
			in.reg = int8(r3) | int8(in.rex&4)<<1
			in.rm = int8(modrm&7) | int8(in.rex&1)<<3
		} else {
			q, r, ok := modRMOld(code, p, end, in)
			if !ok {
				in.msg = mTruncatedInstruction
				return stUnrecognized
			}
			p, r3 = q, r
		}
		if o.group != 0 {
			g := &groups[o.group-1]
			i := r3
			if in.mod == 3 {
				i += 8
			}
			sub := g[i]
			if sub.flags&fValid == 0 && sub.kind == kNormal {
				in.msg = mUndefinedOrNotAllowedOpcodeExtension
				return stUnrecognized
			}
			if mapID == map0F && opc == 0xae && in.mod == 3 && code[p-1]&7 != 0 {
				in.msg = mFenceWithANonCanonicalModRM
				return stUnrecognized
			}
			if mapID == map1 && opc >= 0xd8 && opc <= 0xdf && in.mod == 3 {
				ok, f := x87Reg(opc, code[p-1])
				if !ok {
					in.msg = mUndefinedX87Instruction
					return stUnrecognized
				}
				sub.feat = 0
				in.need = f
			}
			feat := o.feat
			if sub.feat != 0 {
				feat = sub.feat
			}
			o = op{flags: o.flags | sub.flags, imm: sub.imm, size: sub.size, feat: feat, kind: sub.kind}
		}
		if o.flags&fMemOnly != 0 && in.mod == 3 {
			in.msg = mRegisterOperandWhereMemoryIsRequired
			return stUnrecognized
		}
		if o.flags&fRegOnly != 0 && in.mod != 3 {
			in.msg = mMemoryOperandWhereARegisterIsRequired
			return stUnrecognized
		}
	}
	in.o = o
	if o.kind == kForbidden {
		in.msg = mForbiddenInstruction
		return stForbidden
	}
	// immediates and relative displacements
	isz := 0
	switch o.imm {
	case imm8:
		isz = 1
	case imm16:
		isz = 2
	case immZ:
		isz = 4
		if in.p66 {
			isz = 2
		}
	case immV:
		isz = 4
		if rexW {
			isz = 8
		} else if in.p66 {
			isz = 2
		}
	case imm88:
		isz = 2
	}
	switch o.kind {
	case kCall32, kJmp32, kJcc32:
		isz = 4
	}
	if p+isz > end {
		in.msg = mTruncatedInstruction
		return stUnrecognized
	}
	switch o.kind {
	case kJcc8, kJmp8, kLoop8:
		in.rel = int64(int8(code[p]))
	case kCall32, kJmp32, kJcc32:
		in.rel = int64(int32(uint32(code[p]) | uint32(code[p+1])<<8 | uint32(code[p+2])<<16 | uint32(code[p+3])<<24))
	case k3DNow:
		if f := amd3dnow[code[p]]; f != 0 {
			o.feat = f
			in.o.feat = f
		} else {
			in.msg = mUndefined3DNowInstruction
			return stUnrecognized
		}
	}
	p += isz
	in.length = p - start

	// prefix rules
	if seg != 0 || lock || in.p66 || in.rep {
		if seg != 0 {
			if seg == 0x2e || seg == 0x3e {
				if (o.kind == kJcc8 || o.kind == kJcc32) && !in.p66 && !in.rep && !lock && in.rex == 0 {
					seg = 0 // branch hint
				}
			}
			if seg == 0x64 && halite && isFSReadOld(code[start:start+in.length]) {
				in.fsRead = true
				seg = 0
			}
			if seg != 0 {
				if !in.mem {
					in.msg = mSegmentPrefixOnAnInstructionWithoutAMemo
					return stUnrecognized
				}
				in.msg = mSegmentPrefix
				return stSegment
			}
		}
		if lock && (o.flags&fLock == 0 || !in.mem) {
			in.msg = mLockPrefixOnAnInstructionThatDoesNotAllo
			return stUnrecognized
		}
		if in.rep {
			switch {
			case o.kind == kString && o.flags&fRepne != 0:
			case o.kind == kString && o.flags&fRep != 0 && f3:
			case opc == 0x90 && mapID == map1 && f3 && !in.p66 && in.rex == 0:
			default:
				in.msg = mRepRepnePrefixNotAllowedHere
				return stUnrecognized
			}
			if in.p66 {
				in.msg = m0x66PrefixTogetherWithRep
				return stUnrecognized
			}
		}
		if in.p66 && o.flags&fOpsize == 0 {
			in.msg = mOperandSizePrefixNotAllowedHere
			return stUnrecognized
		}
		if in.p66 && rexW && o.flags&fNo66W != 0 {
			in.msg = m0x66PrefixTogetherWithREXW
			return stUnrecognized
		}
	}
	if o.flags&(fNoRexW|fRexWOnly) != 0 {
		if rexW && o.flags&fNoRexW != 0 {
			in.msg = mREXWNotAllowedHere
			return stUnrecognized
		}
		if !rexW && o.flags&fRexWOnly != 0 {
			in.msg = mInstructionFormNeedsREXW
			return stUnrecognized
		}
	}
	if o.kind == kNormal {
		if o.feat != 0 {
			in.need |= 1 << (o.feat - 1)
		}
		return stOK
	}
	switch o.kind {
	case kJcc8, kJcc32, kJmp8, kJmp32, kCall32, kLoop8:
		if in.rex != 0 || in.p66 || in.rep || lock {
			in.msg = mPrefixOnADirectJump
			return stUnrecognized
		}
	case kIndirect:
		if in.p66 || in.rep || lock || (in.rex != 0 && in.rex != 0x41) {
			in.msg = mPrefixOnAnIndirectJump
			return stUnrecognized
		}
		return stIndirect
	case kNop:
		// 0f 1f /0 in a form that is not one of NaCl's nops: an ordinary
		// instruction whose memory operand is checked like any other.
		if (in.reg & 7) != 0 {
			in.msg = mReservedHintNop
			return stUnrecognized
		}
	}
	if o.feat != 0 {
		in.need |= 1 << (o.feat - 1)
	}
	return stOK
}

// isFSReadOld reports whether b is `mov %fs:0x0,%reg64`:
// 64 REX.W(+R) 8b modrm(mod=00 rm=100) sib=0x25 disp32=0.
func isFSReadOld(b []byte) bool {
	if len(b) != 9 || b[0] != 0x64 || (b[1] != 0x48 && b[1] != 0x4c) || b[2] != 0x8b {
		return false
	}
	return b[3]&0xc7 == 0x04 && b[4] == 0x25 && b[5] == 0 && b[6] == 0 && b[7] == 0 && b[8] == 0
}

// modRMOld decodes the ModRM byte at code[p] and, for a memory operand, its
// SIB byte and displacement (whose value the rules do not need), filling
// in.mod, in.reg, and in.rm or in.mem/in.base/in.index. It returns the
// position after them and ModRM.reg without REX.R; ok is false if the
// bytes run out before end.
func modRMOld(code []byte, p, end int, in *instOld) (next int, r3 byte, ok bool) {
	if p >= end {
		return p, 0, false
	}
	modrm := code[p]
	p++
	mod := modrm >> 6
	in.mod = mod
	r3 = (modrm >> 3) & 7
	in.reg = int8(r3) | int8(in.rex&4)<<1
	rm := modrm & 7
	if mod == 3 {
		in.rm = int8(rm) | int8(in.rex&1)<<3
		return p, r3, true
	}
	in.mem = true
	dispSize := int(dispSizes[mod])
	switch {
	case rm == 4:
		if p >= end {
			return p, 0, false
		}
		sib := code[p]
		p++
		if idx := int8((sib>>3)&7) | int8(in.rex&2)<<2; idx != 4 {
			in.index = idx
		}
		if sib&7 == 5 && mod == 0 {
			dispSize = 4
		} else {
			in.base = int8(sib&7) | int8(in.rex&1)<<3
		}
	case rm == 5 && mod == 0:
		in.base = regRIP
		dispSize = 4
	default:
		in.base = int8(rm) | int8(in.rex&1)<<3
	}
	p += dispSize
	return p, r3, p <= end
}

// runOld checks code bundle by bundle.
func (v *oldValidator) runOld(code []byte) {
	vd := &v.verdict
	halite := v.opts.Profile == Halite
	feats := v.opts.Features
	var in instOld
	var starts [bundleSize + 1]int
	for bstart := 0; bstart < len(code); bstart += bundleSize {
		bend := bstart + bundleSize
		restricted := int8(regNone)
		n := 0
		p := bstart
		aborted := false
		v.mask = 0
		for p < bend {
			if simple1[code[p]] {
				// one-byte instructions without operands (nop, push, hlt, ...)
				if restricted == regRSP || restricted == regRBP {
					v.unprocessedOld(code, p, restricted)
				}
				restricted = regNone
				for {
					v.mask |= 1 << uint(p&31)
					starts[n] = p
					n++
					p++
					if p >= bend || !simple1[code[p]] {
						break
					}
				}
				continue
			}
			// decodeOld, inline: the fast path, else the general one
			end := min(len(code), p+15)
			in = instOld{base: regNone, index: regNone, reg: regNone, rm: regNone}
			st, ok := 0, false
			if byteKind[code[p]] != bkPrefix {
				st, ok = decodeFastOld(code, p, end, &in)
			}
			if !ok {
				in = instOld{base: regNone, index: regNone, reg: regNone, rm: regNone}
				st = decodeSlowOld(code, p, end, &in, halite)
			}
			if st != stOK && st != stIndirect {
				v.rejectOld(code, p, st, &in)
				aborted = true
				break
			}
			if p+in.length > bend {
				v.reportOld(code, p, RuleBundleCrossing, "instruction crosses a 32-byte bundle boundary")
				aborted = true
				break
			}
			v.mask |= 1 << uint(p&31)
			starts[n] = p
			n++
			if st == stIndirect {
				if !v.checkIndirectOld(code, p, &in, starts[:n-1]) {
					aborted = true
					break
				}
				restricted = regNone
				p += in.length
				continue
			}
			if in.o.kind == kString || in.o.kind == kStringRDI {
				if !v.checkStringOld(code, p, &in, starts[:n-1]) {
					aborted = true
					break
				}
			}
			rejected := in.o.flags&fReject != 0
			if rejected {
				v.reportOld(code, p, RuleForbidden, "instruction not allowed by NaCl's validator")
			}
			if never := in.need & neverFeatures; never != 0 && !isTZCNTOld(&in) {
				if !rejected {
					v.reportOld(code, p, RuleCPUFeature, "instruction needs CPU feature "+never.String()+", outside NaCl's maximal feature set")
				}
			} else if in.need&^feats != 0 {
				v.reportOld(code, p, RuleCPUFeature, "instruction needs CPU feature "+(in.need&^feats).String())
			}
			if restricted == regNone && !in.mem && in.rex&8 == 0 && in.o.flags&(fWReg|fWRM|fWOp|fWAX|fWV) == 0 {
				// nothing to check: no memory operand, no register
				// written, no fix-up, nothing pending
			} else {
				restricted = v.checkInstOld(code, p, &in, restricted)
			}
			switch in.o.kind {
			case kJcc8, kJmp8, kLoop8, kJcc32, kJmp32, kCall32:
				v.jumps = append(v.jumps, jumpOld{from: int32(p), target: int64(p+in.length) + in.rel})
			}
			p += in.length
		}
		vd.Instructions += n
		vd.targets[bstart>>6] |= uint64(v.mask) << uint(bstart&63)
		if !aborted {
			switch restricted {
			case regRSP:
				v.reportOld(code, bend, RuleRSPSandboxing, "%rsp is left restricted at the end of the bundle")
			case regRBP:
				v.reportOld(code, bend, RuleRBPSandboxing, "%rbp is left restricted at the end of the bundle")
			}
		}
	}
	for _, j := range v.jumps {
		if j.target%bundleSize == 0 {
			// A 32-aligned target is accepted unchecked, inside the chunk
			// or not (NaCl's MarkJumpTarget). Safe: no instruction may
			// cross a bundle boundary, a superinstruction's parts and a
			// restricted register's use are confined to one bundle
			// (restricted starts as none and the indirect-jumpOld check only
			// looks back within the bundle), so in a valid chunk every
			// bundle start is an instruction start that IsTarget accepts.
			// A bundle that breaks this has its own violation, so the
			// chunk stays invalid.
			continue
		}
		if j.target >= 0 && j.target < int64(len(code)) {
			if !vd.IsTarget(int(j.target)) {
				v.reportOld(code, int(j.from), RuleBadJumpTarget, "jump target is not an instruction boundary outside a superinstruction")
			}
		} else if j.target%bundleSize != 0 {
			v.reportOld(code, int(j.from), RuleJumpOutOfRange, "jump target is outside the chunk and not 32-byte aligned")
		}
	}
}

// clearTargetOld removes p, an offset in the current bundle, from the jump
// targets.
func (v *oldValidator) clearTargetOld(p int) {
	v.mask &^= 1 << uint(p&31)
}

// rejectOld reports an instruction the decoder refused.
func (v *oldValidator) rejectOld(code []byte, p int, st int, in *instOld) {
	switch st {
	case stForbidden:
		v.reportOld(code, p, RuleForbidden, msgText[in.msg])
	case stSegment:
		v.reportOld(code, p, RuleSegmentPrefix, "segment prefixes are not allowed")
	default:
		v.reportOld(code, p, RuleUnrecognized, msgText[in.msg])
	}
}

// checkInstOld applies the register and memory rules to one decoded
// instruction; prev is the register restricted by the previous
// instruction. It returns the register this instruction restricts.
func (v *oldValidator) checkInstOld(code []byte, p int, in *instOld, prev int8) int8 {
	if in.nop {
		if prev == regRSP || prev == regRBP {
			v.unprocessedOld(code, p, prev)
		}
		return regNone
	}
	var b []byte
	if in.rex&8 != 0 {
		b = code[p : p+in.length]
		// %rsp/%rbp fix-ups: add/or %r15,%rsp|%rbp, lea
		// (%rsp,%r15,1),%rsp, lea 0x0(%rbp,%r15,1),%rbp (each starts
		// with REX 0x49, 0x4a or 0x4c: fixupOld is only called for those).
		if c := b[0]; c == 0x49 || c == 0x4a || c == 0x4c {
			if r := fixupOld(b); r != regNone {
				if prev != r {
					rule := RuleRSPSandboxing
					if r == regRBP {
						rule = RuleRBPSandboxing
					}
					v.reportOld(code, p, rule, fixupMsg[r&1])
					if prev == regRSP || prev == regRBP {
						v.unprocessedOld(code, p, prev)
					}
				} else {
					v.clearTargetOld(p)
				}
				return regNone
			}
		}
	}
	if prev == regRSP || prev == regRBP {
		v.unprocessedOld(code, p, prev)
	}
	f := in.o.flags
	if in.mem && f&fNoMem == 0 && !in.fsRead {
		switch in.base {
		case regR15, regRSP, regRBP, regRIP:
			if in.index != regNone {
				if in.index == prev {
					v.clearTargetOld(p)
				} else {
					v.reportOld(code, p, RuleBadIndex, badIndexMsg[in.index])
				}
			}
		default:
			v.reportOld(code, p, RuleBadBase, badBaseMsg[in.base+1])
		}
		if f&fNoBTMem != 0 {
			v.reportOld(code, p, RuleForbidden, "bit test with a register bit offset into memory")
		}
	}
	if f&(fWReg|fWRM|fWOp|fWAX|fWV) == 0 {
		return regNone
	}
	// allowed 64-bit writes to %rsp/%rbp
	if b != nil && isStackMoveOld(b) {
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
		restricted = v.writeOld(code, p, in, 0, bits, zext, restricted)
	}
	if f&fWReg != 0 {
		if r := in.reg; r != regR15 && r != regRSP && r != regRBP && restricted == regNone {
			// common case, inline: an ordinary register, nothing pending
			if zext {
				restricted = r
			}
		} else {
			restricted = v.writeOld(code, p, in, r, bits, zext, restricted)
		}
	}
	if f&fWRM != 0 {
		if in.mod == 3 {
			if r := in.rm; r != regR15 && r != regRSP && r != regRBP && restricted == regNone {
				if zext {
					restricted = r
				}
			} else {
				restricted = v.writeOld(code, p, in, r, bits, zext, restricted)
			}
		} else if f&fWReg != 0 {
			// xchg/xadd with memory: NaCl treats only the second
			// (memory) writeOld as the zero-extending one, so the
			// register written first is not restricted.
			if restricted == regRSP || restricted == regRBP {
				v.unprocessedOld(code, p, restricted)
			}
			restricted = regNone
		}
	}
	if f&fWOp != 0 {
		restricted = v.writeOld(code, p, in, int8(in.opc&7)|int8(in.rex&1)<<3, bits, zext, restricted)
	}
	if f&fWV != 0 {
		restricted = v.writeOld(code, p, in, in.vreg, bits, zext, restricted)
	}
	return restricted
}

// writeOld applies the rules to a write of bits bits to GP register r by the
// instruction at p; restricted is the register restricted by an earlier
// write of the same instruction. It returns the register now restricted.
func (v *oldValidator) writeOld(code []byte, p int, in *instOld, r int8, bits int, zext bool, restricted int8) int8 {
	if restricted == regRSP || restricted == regRBP {
		v.unprocessedOld(code, p, restricted)
	}
	if bits == 8 && in.rex == 0 && r >= 4 && r < 8 {
		r -= 4 // %ah, %ch, %dh, %bh
	}
	switch r {
	case regR15:
		v.reportOld(code, p, RuleR15Modified, "%r15 is modified")
	case regRBP:
		if bits < 32 {
			v.reportOld(code, p, RuleRBPModified, "%bpl or %bp is modified")
		} else if !zext {
			v.reportOld(code, p, RuleRBPSandboxing, "%rbp is modified other than by a zero-extending 32-bit write followed by add %r15,%rbp")
		} else {
			return r
		}
	case regRSP:
		if bits < 32 {
			v.reportOld(code, p, RuleRSPModified, "%spl or %sp is modified")
		} else if !zext {
			v.reportOld(code, p, RuleRSPSandboxing, "%rsp is modified other than by a zero-extending 32-bit write followed by add %r15,%rsp")
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

// unprocessedOld reports a restricted %rsp/%rbp that the instruction at p
// does not fix up.
func (v *oldValidator) unprocessedOld(code []byte, p int, prev int8) {
	switch prev {
	case regRSP:
		v.reportOld(code, p, RuleRSPSandboxing, "restricted %rsp is not followed by add %r15,%rsp")
	case regRBP:
		v.reportOld(code, p, RuleRBPSandboxing, "restricted %rbp is not followed by add %r15,%rbp")
	}
}

// fixupOld returns regRSP or regRBP if b is one of the instructions that
// rebase a restricted %rsp/%rbp on %r15, else regNone.
func fixupOld(b []byte) int8 {
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

// isStackMoveOld reports the 64-bit writes to %rsp/%rbp that are allowed as
// they are: mov %rsp,%rbp, mov %rbp,%rsp and and $negative-imm8,%rsp.
func isStackMoveOld(b []byte) bool {
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

// checkIndirectOld checks that the indirect jmp/call at p completes the
// masked superinstruction `and $-32,%eXX; add %r15,%rXX; jmp|call *%rXX`
// whose first two instructions start at the last two entries of prev.
func (v *oldValidator) checkIndirectOld(code []byte, p int, in *instOld, prev []int) bool {
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
			v.clearTargetOld(d)
			v.clearTargetOld(p)
		}
	}
	if !ok {
		v.reportOld(code, p, RuleIndirectJump, "indirect jump or call is not preceded by and $-32,%eXX; add %r15,%rXX on the same register in the same bundle")
	}
	return ok
}

// checkStringOld checks that the string instruction (or maskmov) at p is
// preceded, in the bundle, by the sandboxing of %rsi and/or %rdi it uses:
// mov %esi,%esi; lea (%r15,%rsi,1),%rsi and mov %edi,%edi; lea
// (%r15,%rdi,1),%rdi (the %rsi pair first when both are needed).
func (v *oldValidator) checkStringOld(code []byte, p int, in *instOld, prev []int) bool {
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
				v.clearTargetOld(prev[j])
			}
			v.clearTargetOld(p)
		}
	}
	if !ok {
		v.reportOld(code, p, RuleUnrecognized, "string instruction without mov %edi,%edi; lea (%r15,%rdi,1),%rdi (and the same for %rsi) right before it")
	}
	return ok
}

// isTZCNTOld reports whether in is tzcnt (F3 0F BC), the one BMI1
// instruction NaCl allows whatever the maximal feature set says (it runs
// as bsf on CPUs without BMI1). It still needs FeatBMI1 in
// Options.Features.
func isTZCNTOld(in *instOld) bool {
	return in.opc == 0xbc && in.o.feat == feat(FeatBMI1)
}

// decodeVEXOld decodes a VEX-prefixed instruction whose c4/c5 byte is at
// code[v]; start is the instruction start (no other prefix precedes).
func decodeVEXOld(code []byte, start, v, end int, in *instOld) int {
	p := v + 1
	var r, x, b, w, l bool
	var mm, pp, vvvv byte
	if code[v] == 0xc5 {
		if p >= end {
			in.msg = mTruncatedInstruction
			return stUnrecognized
		}
		b1 := code[p]
		p++
		r = b1&0x80 == 0
		vvvv = (^b1 >> 3) & 15
		l = b1&4 != 0
		pp = b1 & 3
		mm = 1
	} else {
		if p+1 >= end {
			in.msg = mTruncatedInstruction
			return stUnrecognized
		}
		b1, b2 := code[p], code[p+1]
		p += 2
		r = b1&0x80 == 0
		x = b1&0x40 == 0
		b = b1&0x20 == 0
		mm = b1 & 0x1f
		w = b2&0x80 != 0
		vvvv = (^b2 >> 3) & 15
		l = b2&4 != 0
		pp = b2 & 3
	}
	m := 0
	switch mm {
	case 1:
		m = map0F
	case 2:
		m = map0F38
	case 3:
		m = map0F3A
	default:
		in.msg = mUndefinedVEXOpcodeMap
		return stUnrecognized
	}
	if p >= end {
		in.msg = mTruncatedInstruction
		return stUnrecognized
	}
	opc := code[p]
	p++
	e := vexTab[m][pp][opc]
	if e.flags&fValid == 0 {
		in.msg = mVEXInstructionNotAllowed
		return stUnrecognized
	}
	in.opc = opc
	if w {
		in.rex |= 8
	}
	if r {
		in.rex |= 4
	}
	if x {
		in.rex |= 2
	}
	if b {
		in.rex |= 1
	}
	if in.rex != 0 {
		in.rex |= 0x40
	}
	o := op{flags: e.flags &^ vexOnly, imm: e.imm, size: szY, kind: e.kind}
	if e.flags&vW0 != 0 && w || e.flags&vW1 != 0 && !w {
		in.msg = mVEXWNotAllowedForThisInstruction
		return stUnrecognized
	}
	if e.flags&(vNoMd|vNoV) != 0 && vvvv != 0 {
		in.msg = mVEXVvvvMustBe1111
		return stUnrecognized
	}
	if e.flags&vNoMd == 0 {
		q, r3, ok := modRMOld(code, p, end, in)
		if !ok {
			in.msg = mTruncatedInstruction
			return stUnrecognized
		}
		p = q
		if e.group != 0 {
			g := vexGroup17[r3]
			if g.flags&fValid == 0 {
				in.msg = mUndefinedVEXOpcodeExtension
				return stUnrecognized
			}
			e.flags |= g.flags
			o.flags |= g.flags &^ vexOnly
		}
		if e.flags&vNoVMem != 0 && in.mod != 3 && vvvv != 0 {
			in.msg = mVEXVvvvMustBe1111
			return stUnrecognized
		}
		if o.flags&fMemOnly != 0 && in.mod == 3 || o.flags&fRegOnly != 0 && in.mod != 3 {
			in.msg = mInvalidOperandForm
			return stUnrecognized
		}
	}
	f := e.feat
	if l {
		// Scalar (LIG) forms are accepted with VEX.L = 0 only, the
		// encoding assemblers emit.
		f = e.feat1
	}
	if f == 0 {
		in.msg = mVEXLNotAllowedForThisInstruction
		return stUnrecognized
	}
	switch e.imm {
	case imm8:
		p++
	}
	if p > end {
		in.msg = mTruncatedInstruction
		return stUnrecognized
	}
	in.length = p - start
	if e.flags&vWV != 0 {
		in.vreg = int8(vvvv)
		o.flags |= fWV
	}
	if e.flags&(fWReg|fWRM|vWV) == 0 || e.flags&vNoMd != 0 {
		o.size = szY
	}
	// VEX GP writes: zero-extension is not relied upon
	o.flags |= fNoZext
	in.o = o
	in.need = 1 << (f - 1)
	return stOK
}

// reportOld records a violation at off unless MaxErrors is reached.
func (v *oldValidator) reportOld(code []byte, off int, rule Rule, msg string) {
	vd := &v.verdict
	if v.opts.MaxErrors > 0 && len(vd.Violations) >= v.opts.MaxErrors {
		vd.Truncated = true
		return
	}
	d := ""
	if !v.opts.NoDisasm {
		d = disasm(code, off)
	}
	vd.Violations = append(vd.Violations, Violation{Offset: off, Rule: rule, Message: msg, Disasm: d})
}
