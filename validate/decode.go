package validate

// Register numbers used by the decoder: 0..15 are rax..r15 in encoding
// order; regRIP marks a RIP-relative memory operand; regNone no register.
const (
	regRSP  = 4
	regRBP  = 5
	regRDI  = 7
	regRSI  = 6
	regR15  = 15
	regRIP  = 16
	regNone = -1
)

// decode status
const (
	stOK = iota
	stUnrecognized
	stForbidden
	stSegment
	stIndirect // kIndirect decoded; the caller checks the superinstruction
)

// inst is one decoded instruction. The decoder fills only what the rules
// need.
type inst struct {
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
	rel    int64 // direct jump displacement
	need   Features
	msg    msgID // why it was rejected
}

// byteKind classifies a byte at the start of an instruction.
var byteKind [256]uint8

const (
	bkOpcode = iota
	bkPrefix // legacy prefix
	bkREX
)

func init() {
	for _, b := range []byte{0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65} {
		byteKind[b] = bkPrefix
	}
	for b := 0x40; b <= 0x4f; b++ {
		byteKind[b] = bkREX
	}
}

// matchNop recognises NaCl's multi-byte nop forms at code[p:]: returns the
// length or 0.
func matchNop(code []byte, p int) int {
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
	zero := func(j, k int) bool { return allZero(c, j, k) }
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

// allZero reports whether c[j:j+k] is within c and all zero.
func allZero(c []byte, j, k int) bool {
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

// fastOne[b]: the one-byte-map opcode b (after at most a REX prefix and
// no legacy prefix) can take decodeFast: a defined opcode of kind
// kNormal, or a direct jump or call, that is not x87, not 0x90 (whose
// meaning depends on REX.B and f3) and not an escape (0f, c4, c5).
var fastOne [256]bool

// buildFastOne fills fastOne from oneByte and byteKind (called by the
// table init after they are built).
func buildFastOne() {
	for c := range fastOne {
		o := oneByte[c]
		if byteKind[c] != bkOpcode || c == 0x0f || c == 0xc4 || c == 0xc5 || c == 0x90 || (c >= 0xd8 && c <= 0xdf) {
			continue
		}
		switch o.kind {
		case kNormal, kJcc8, kJmp8, kJmp32, kCall32:
		default:
			continue
		}
		fastOne[c] = o.flags&fValid != 0 || o.group != 0
	}
	for c := range fastTwo {
		o := tab[map0F][pNone][c]
		switch c {
		case 0x0f, 0x1f, 0x2e, 0x38, 0x3a, 0x66, 0xae:
			// 3DNow!, nops (and the bytes decode's nop check looks
			// at), escapes to 0f38/0f3a, fences
			continue
		}
		switch o.kind {
		case kNormal, kJcc32:
		default:
			continue
		}
		fastTwo[c] = o.flags&fValid != 0 || o.group != 0
	}
	buildFastTab()
}

// fastTwo[b]: the same as fastOne for 0f b without a mandatory prefix: a
// defined opcode of kind kNormal or a rel32 conditional jump, except
// 3DNow!, the nop forms, the 0f38/0f3a escapes and fences.
var fastTwo [256]bool

// decode decodes the instruction at code[p:]. It returns a status; on
// stOK, stIndirect and stForbidden in.length is set.
func decode(code []byte, p int, in *inst, halite bool) int {
	end := min(len(code), p+15)
	*in = inst{base: regNone, index: regNone, reg: regNone, rm: regNone}
	if byteKind[code[p]] != bkPrefix {
		if decodeFast(code, p, end, in) != nil {
			return stOK
		}
		*in = inst{base: regNone, index: regNone, reg: regNone, rm: regNone}
	}
	return decodeSlow(code, p, end, in, halite)
}

// decodeSlow is the general path of decode: in is reset, end is
// min(len(code), p+15).
func decodeSlow(code []byte, p, end int, in *inst, halite bool) int {
	start := p
	if c := code[p]; (c == 0x66 || c == 0x0f) && p+1 < end && (code[p+1] == 0x1f || code[p+1] == 0x66 || code[p+1] == 0x2e || code[p+1] == 0x0f) {
		if n := matchNop(code[:end], p); n > 0 {
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
		return decodeVEX(code, start, p-1, end, in)
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
			// register form (mod 3), inline: what modRM does for it
			modrm := code[p]
			p++
			in.mod = 3
			r3 = (modrm >> 3) & 7
			in.reg = int8(r3) | int8(in.rex&4)<<1
			in.rm = int8(modrm&7) | int8(in.rex&1)<<3
		} else {
			q, r, ok := modRM(code, p, end, in)
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
			if seg == 0x64 && halite && isFSRead(code[start:start+in.length]) {
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

// msgID names the reason the decoder rejected an instruction (an index
// into msgText; kept out of inst as a string so that decoding writes no
// pointers).
type msgID uint8

const (
	mNone msgID = iota
	mDuplicate0x66Prefix
	mDuplicateLockPrefix
	mMoreThanOneRepRepnePrefix
	mMoreThanOneSegmentPrefix
	mAddressSizePrefix0x67IsNotAllowed
	mTruncatedInstruction
	mREXPrefixMustImmediatelyPrecedeTheOpcode
	mPrefixBeforeVEX
	mSegmentPrefix
	mUndefinedOrNotAllowedOpcode
	mUndefinedOrNotAllowedOpcodeExtension
	mFenceWithANonCanonicalModRM
	mUndefinedX87Instruction
	mRegisterOperandWhereMemoryIsRequired
	mMemoryOperandWhereARegisterIsRequired
	mForbiddenInstruction
	mUndefined3DNowInstruction
	mSegmentPrefixOnAnInstructionWithoutAMemo
	mLockPrefixOnAnInstructionThatDoesNotAllo
	mRepRepnePrefixNotAllowedHere
	m0x66PrefixTogetherWithRep
	mOperandSizePrefixNotAllowedHere
	m0x66PrefixTogetherWithREXW
	mREXWNotAllowedHere
	mInstructionFormNeedsREXW
	mPrefixOnADirectJump
	mPrefixOnAnIndirectJump
	mReservedHintNop
	mUndefinedVEXOpcodeMap
	mVEXInstructionNotAllowed
	mVEXVvvvMustBe1111
	mUndefinedVEXOpcodeExtension
	mInvalidOperandForm
	mVEXLNotAllowedForThisInstruction
	mVEXWNotAllowedForThisInstruction
)

var msgText = [...]string{
	mNone:                                     "",
	mDuplicate0x66Prefix:                      "duplicate 0x66 prefix",
	mDuplicateLockPrefix:                      "duplicate lock prefix",
	mMoreThanOneRepRepnePrefix:                "more than one rep/repne prefix",
	mMoreThanOneSegmentPrefix:                 "more than one segment prefix",
	mAddressSizePrefix0x67IsNotAllowed:        "address-size prefix (0x67) is not allowed",
	mTruncatedInstruction:                     "truncated instruction",
	mREXPrefixMustImmediatelyPrecedeTheOpcode: "REX prefix must immediately precede the opcode",
	mPrefixBeforeVEX:                          "prefix before VEX",
	mSegmentPrefix:                            "segment prefix",
	mUndefinedOrNotAllowedOpcode:              "undefined or not allowed opcode",
	mUndefinedOrNotAllowedOpcodeExtension:     "undefined or not allowed opcode extension",
	mFenceWithANonCanonicalModRM:              "fence with a non-canonical ModRM",
	mUndefinedX87Instruction:                  "undefined x87 instruction",
	mRegisterOperandWhereMemoryIsRequired:     "register operand where memory is required",
	mMemoryOperandWhereARegisterIsRequired:    "memory operand where a register is required",
	mForbiddenInstruction:                     "forbidden instruction",
	mUndefined3DNowInstruction:                "undefined 3DNow! instruction",
	mSegmentPrefixOnAnInstructionWithoutAMemo: "segment prefix on an instruction without a memory operand",
	mLockPrefixOnAnInstructionThatDoesNotAllo: "lock prefix on an instruction that does not allow it",
	mRepRepnePrefixNotAllowedHere:             "rep/repne prefix not allowed here",
	m0x66PrefixTogetherWithRep:                "0x66 prefix together with rep",
	mOperandSizePrefixNotAllowedHere:          "operand-size prefix not allowed here",
	m0x66PrefixTogetherWithREXW:               "0x66 prefix together with REX.W",
	mREXWNotAllowedHere:                       "REX.W not allowed here",
	mInstructionFormNeedsREXW:                 "instruction form needs REX.W",
	mPrefixOnADirectJump:                      "prefix on a direct jump",
	mPrefixOnAnIndirectJump:                   "prefix on an indirect jump",
	mReservedHintNop:                          "reserved hint nop",
	mUndefinedVEXOpcodeMap:                    "undefined VEX opcode map",
	mVEXInstructionNotAllowed:                 "VEX instruction not allowed",
	mVEXVvvvMustBe1111:                        "VEX.vvvv must be 1111",
	mUndefinedVEXOpcodeExtension:              "undefined VEX opcode extension",
	mInvalidOperandForm:                       "invalid operand form",
	mVEXLNotAllowedForThisInstruction:         "VEX.L not allowed for this instruction",
	mVEXWNotAllowedForThisInstruction:         "VEX.W not allowed for this instruction",
}

// isFSRead reports whether b is `mov %fs:0x0,%reg64`:
// 64 REX.W(+R) 8b modrm(mod=00 rm=100) sib=0x25 disp32=0.
func isFSRead(b []byte) bool {
	if len(b) != 9 || b[0] != 0x64 || (b[1] != 0x48 && b[1] != 0x4c) || b[2] != 0x8b {
		return false
	}
	return b[3]&0xc7 == 0x04 && b[4] == 0x25 && b[5] == 0 && b[6] == 0 && b[7] == 0 && b[8] == 0
}

// modRM decodes the ModRM byte at code[p] and, for a memory operand, its
// SIB byte and displacement (whose value the rules do not need), filling
// in.mod, in.reg, and in.rm or in.mem/in.base/in.index. It returns the
// position after them and ModRM.reg without REX.R; ok is false if the
// bytes run out before end.
func modRM(code []byte, p, end int, in *inst) (next int, r3 byte, ok bool) {
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

// dispSizes is the displacement size by ModRM.mod (mod 3 has no memory
// operand).
var dispSizes = [4]uint8{0, 1, 4, 0}
