package validate

// VEX-encoded instructions: the AVX forms of the SSE instructions in the
// legacy tables (derived from them), plus AVX-only, AVX2, FMA, F16C, BMI1
// and BMI2 instructions listed here. Gathers (VSIB addressing) and
// instructions NaCl rejects in their legacy form (AES) are not accepted.

// vop describes a VEX-encoded instruction.
type vop struct {
	flags uint32 // fValid, fModRM, fWReg, fWRM, fMemOnly, fRegOnly, fUnsupported, vex* flags
	imm   uint8
	feat  uint8 // feature for VEX.L = 0
	feat1 uint8 // feature for VEX.L = 1; 0: L must be 0
	kind  uint8 // kNormal or kStringRDI (vmaskmovdqu)
	group uint8 // BMI1 group 17: decided by ModRM.reg
}

// vex-specific flags (share the op.flags space above the legacy ones)
const (
	vWV   uint32 = 1 << 30 // writes the GP register named by VEX.vvvv
	vLIG  uint32 = 1 << 29 // scalar: the CPU ignores VEX.L; only L = 0 is accepted
	vNoMd uint32 = 1 << 28 // no ModRM (vzeroupper/vzeroall)
	// vNoV: no VEX.vvvv operand, the field must be 1111b (else #UD);
	// vNoVMem: the same for the memory form only (vmovss/vmovsd).
	vNoV    uint32 = 1 << 27
	vNoVMem uint32 = 1 << 26
	// vW0 / vW1: the instruction is defined only with VEX.W = 0 / 1
	// (Intel SDM "VEX.128.66.0F38.W0 ..."; the other W raises #UD).
	vW0     uint32 = 1 << 25
	vW1     uint32 = 1 << 24
	vexOnly        = vWV | vLIG | vNoMd | vNoV | vNoVMem | vW0 | vW1
)

var vexGroup17 [8]vop // 0F38 F3: blsr /1, blsmsk /2, blsi /3

// mmxForm reports whether the legacy entry tab[m][p][opc] operates on MMX
// registers (or GP-only), so it has no VEX form.
func mmxForm(m, p, opc int) bool {
	if m == map0F38 || m == map0F3A {
		return p == pNone
	}
	switch {
	case p == pNone && (opc == 0x2a || opc == 0x2c || opc == 0x2d || (opc >= 0x60 && opc <= 0x7f) ||
		opc == 0xc3 || opc == 0xc4 || opc == 0xc5 || opc >= 0xd0):
		return true
	case p == p66 && (opc == 0x2a || opc == 0x2c || opc == 0x2d):
		return true
	case (p == pF3 || p == pF2) && opc == 0xd6:
		return true
	}
	return false
}

// intOp reports whether a 0F-map 66-prefixed opcode is an integer
// operation (whose 256-bit form needs AVX2).
func intOp(m, opc int) bool {
	if m == map0F {
		// vmovdqa/vmovdqu/vmovntdq ymm are AVX, not AVX2
		return (opc >= 0x60 && opc <= 0x76 && opc != 0x6f) || (opc >= 0xd1 && opc <= 0xfe && opc != 0xd6 && opc != 0xe6 && opc != 0xe7 && opc != 0xf0)
	}
	return true
}

func buildVEX() {
	avx := feat(FeatAVX)
	avx2 := feat(FeatAVX2)
	sseFeats := map[uint8]bool{feat(FeatSSE): true, feat(FeatSSE2): true, feat(FeatSSE3): true, feat(FeatSSSE3): true,
		feat(FeatSSE41): true, feat(FeatSSE42): true, feat(FeatPCLMUL): true}
	for m := map0F; m < nMaps; m++ {
		for p := 0; p < nPfx; p++ {
			for opc := 0; opc < 256; opc++ {
				o := tab[m][p][opc]
				if o.flags&fValid == 0 || o.flags&fReject != 0 || !sseFeats[o.feat] || o.group != 0 || mmxForm(m, p, opc) {
					continue
				}
				if m == map0F38 && (opc == 0xf0 || opc == 0xf1) {
					continue // crc32, movbe: no VEX form
				}
				if o.kind == kStringRDI && p != p66 {
					continue
				}
				v := vop{flags: o.flags&(fValid|fModRM|fWReg|fWRM|fMemOnly|fRegOnly|fUnsupported) | fModRM, imm: o.imm, feat: avx, kind: o.kind}
				switch {
				case p == pF3 || p == pF2:
					if (m == map0F && (opc == 0x12 || opc == 0x16 || opc == 0x6f || opc == 0x7f || opc == 0x70 || opc == 0x5b || opc == 0xe6 || opc == 0xd0 || opc == 0x7c || opc == 0x7d || opc == 0xf0)) ||
						(m == map0F && p == pF3 && opc == 0x7e) {
						// packed despite the F2/F3 prefix
						v.feat1 = avx
						if intOp(m, opc) && opc != 0x6f && opc != 0x7f {
							v.feat1 = avx2
						}
						if opc == 0x7e {
							v.feat1 = 0
						}
					} else {
						v.flags |= vLIG
					}
				case m == map0F && (opc == 0x12 || opc == 0x13 || opc == 0x16 || opc == 0x17 || opc == 0x6e || opc == 0x7e ||
					opc == 0xc4 || opc == 0xc5 || opc == 0xd6 || opc == 0xf7):
					// L = 0 only
				case m == map0F && (opc == 0x2e || opc == 0x2f):
					v.flags |= vLIG
				case m == map0F3A && (opc >= 0x14 && opc <= 0x17 || opc >= 0x20 && opc <= 0x22 || opc == 0x44 || opc >= 0x60 && opc <= 0x63):
				case m == map0F3A && (opc == 0x0a || opc == 0x0b):
					v.flags |= vLIG // roundss/sd
				case m == map0F38 && opc == 0x41:
				case m == map0F3A && opc == 0x41:
					// vdppd: VEX.128 only (there is no 256-bit form)
				case m == map0F38 && (opc == 0x17):
					v.feat1 = avx
				case m == map0F3A && (opc == 0x08 || opc == 0x09 || opc == 0x0c || opc == 0x0d || opc == 0x40):
					v.feat1 = avx
				case m == map0F38 && (opc == 0x14 || opc == 0x15 || opc == 0x10):
					continue // blendv: different VEX encoding (0F3A 4A-4C)
				case m == map0F && !intOp(m, opc):
					v.feat1 = avx
				default:
					v.feat1 = avx2
				}
				vexTab[m][p][opc] = v
			}
		}
	}
	// vpclmulqdq needs CLMUL (and AVX): CLMUL is outside NaCl's maximal
	// feature set, so it must not pass as a plain AVX instruction.
	vexTab[map0F3A][p66][0x44].feat = feat(FeatPCLMUL)
	x := fValid | fModRM
	put := func(m, p int, opcs []int, v vop) {
		for _, o := range opcs {
			vexTab[m][p][o] = v
		}
	}
	put(map0F, pNone, ops(0x77), vop{flags: fValid | vNoMd, feat: avx, feat1: avx}) // vzeroupper/vzeroall
	put(map0F38, p66, ops(0x0c, 0x0d, 0x0e, 0x0f), vop{flags: x, feat: avx, feat1: avx})
	put(map0F38, p66, ops(0x18), vop{flags: x, feat: avx, feat1: avx})
	put(map0F38, p66, ops(0x19, 0x1a), vop{flags: x | fMemOnly, feat1: avx})
	put(map0F38, p66, ops(0x2c, 0x2d, 0x2e, 0x2f), vop{flags: x | fMemOnly, feat: avx, feat1: avx})
	put(map0F3A, p66, ops(0x04, 0x05), vop{flags: x, imm: imm8, feat: avx, feat1: avx})
	put(map0F3A, p66, ops(0x06, 0x18, 0x19), vop{flags: x, imm: imm8, feat1: avx})
	put(map0F3A, p66, ops(0x4a, 0x4b), vop{flags: x, imm: imm8, feat: avx, feat1: avx})
	put(map0F3A, p66, ops(0x4c), vop{flags: x, imm: imm8, feat: avx, feat1: avx2})
	// F16C
	put(map0F38, p66, ops(0x13), vop{flags: x, feat: feat(FeatF16C), feat1: feat(FeatF16C)})
	put(map0F3A, p66, ops(0x1d), vop{flags: x, imm: imm8, feat: feat(FeatF16C), feat1: feat(FeatF16C)})
	// FMA
	fma := feat(FeatFMA)
	put(map0F38, p66, append(append(rng(0x96, 0x9f), rng(0xa6, 0xaf)...), rng(0xb6, 0xbf)...), vop{flags: x, feat: fma, feat1: fma})
	for _, o := range []int{0x99, 0x9b, 0x9d, 0x9f, 0xa9, 0xab, 0xad, 0xaf, 0xb9, 0xbb, 0xbd, 0xbf} {
		vexTab[map0F38][p66][o].flags |= vLIG // scalar forms
		vexTab[map0F38][p66][o].feat1 = 0
	}
	// AVX2
	put(map0F38, p66, ops(0x16, 0x36), vop{flags: x, feat1: avx2})
	put(map0F38, p66, ops(0x45, 0x46, 0x47), vop{flags: x, feat: avx2, feat1: avx2})
	put(map0F38, p66, ops(0x58, 0x59, 0x78, 0x79), vop{flags: x, feat: avx2, feat1: avx2})
	put(map0F38, p66, ops(0x5a), vop{flags: x | fMemOnly, feat1: avx2})
	put(map0F38, p66, ops(0x8c, 0x8e), vop{flags: x | fMemOnly, feat: avx2, feat1: avx2})
	put(map0F3A, p66, ops(0x00, 0x01), vop{flags: x, imm: imm8, feat1: avx2})
	put(map0F3A, p66, ops(0x02), vop{flags: x, imm: imm8, feat: avx2, feat1: avx2})
	put(map0F3A, p66, ops(0x38, 0x39, 0x46), vop{flags: x, imm: imm8, feat1: avx2})
	// BMI1 / BMI2 (GP registers, L = 0)
	b1, b2 := feat(FeatBMI1), feat(FeatBMI2)
	put(map0F38, pNone, ops(0xf2), vop{flags: x | fWReg, feat: b1})          // andn
	put(map0F38, pNone, ops(0xf7), vop{flags: x | fWReg, feat: b1})          // bextr
	put(map0F38, pNone, ops(0xf5), vop{flags: x | fWReg, feat: b2})          // bzhi
	put(map0F38, pF2, ops(0xf6), vop{flags: x | fWReg | vWV, feat: b2})      // mulx
	put(map0F38, pF2, ops(0xf5), vop{flags: x | fWReg, feat: b2})            // pdep
	put(map0F38, pF3, ops(0xf5), vop{flags: x | fWReg, feat: b2})            // pext
	put(map0F38, p66, ops(0xf7), vop{flags: x | fWReg, feat: b2})            // shlx
	put(map0F38, pF3, ops(0xf7), vop{flags: x | fWReg, feat: b2})            // sarx
	put(map0F38, pF2, ops(0xf7), vop{flags: x | fWReg, feat: b2})            // shrx
	put(map0F3A, pF2, ops(0xf0), vop{flags: x | fWReg, imm: imm8, feat: b2}) // rorx
	for r := 1; r <= 3; r++ {
		vexGroup17[r] = vop{flags: x | vWV, feat: b1}
	}
	put(map0F38, pNone, ops(0xf3), vop{flags: x, group: 17, feat: b1})
	markNoVvvv()
	markW()
}

// markW flags the VEX instructions defined for one VEX.W value only
// (Intel SDM opcode column "W0"/"W1"; the other value raises #UD). The
// list is the AVX/AVX2/F16C instructions without a legacy form whose
// encodings name W0 or W1; the VEX forms of legacy SSE instructions are
// WIG, and FMA, vpmaskmov, vpsllv/vpsrlv and the BMI instructions use W
// to select the element or operand size. Only entries already valid are
// flagged.
func markW() {
	mark := func(m, p int, f uint32, opcs ...int) {
		for _, o := range opcs {
			if vexTab[m][p][o].flags&fValid != 0 {
				vexTab[m][p][o].flags |= f
			}
		}
	}
	// vpermilps/pd, vtestps/pd, vcvtph2ps, vpermps, vbroadcastss/sd/f128,
	// vmaskmovps/pd, vpermd, vpsravd, vpbroadcastd/q/i128/b/w
	mark(map0F38, p66, vW0, 0x0c, 0x0d, 0x0e, 0x0f, 0x13, 0x16, 0x18, 0x19, 0x1a,
		0x2c, 0x2d, 0x2e, 0x2f, 0x36, 0x46, 0x58, 0x59, 0x5a, 0x78, 0x79)
	// vpblendd, vpermilps/pd imm, vperm2f128, vinsertf128, vextractf128,
	// vcvtps2ph, vinserti128, vextracti128, vperm2i128, vblendvps/pd,
	// vpblendvb
	mark(map0F3A, p66, vW0, 0x02, 0x04, 0x05, 0x06, 0x18, 0x19, 0x1d, 0x38, 0x39, 0x46, 0x4a, 0x4b, 0x4c)
	// vpermq, vpermpd
	mark(map0F3A, p66, vW1, 0x00, 0x01)
}

// markNoVvvv flags the VEX instructions without a VEX.vvvv operand (Intel
// SDM: "VEX.vvvv is reserved and must be 1111b"): NaCl's DFA encodes
// vvvv = 1111b into them, so any other value is unrecognized. Only
// entries already valid are flagged.
func markNoVvvv() {
	mark := func(m, p int, f uint32, opcs ...int) {
		for _, o := range opcs {
			if vexTab[m][p][o].flags&fValid != 0 {
				vexTab[m][p][o].flags |= f
			}
		}
	}
	mark(map0F, pNone, vNoV, 0x10, 0x11, 0x13, 0x17, 0x28, 0x29, 0x2b, 0x2e, 0x2f, 0x50, 0x51, 0x52, 0x53, 0x5a, 0x5b)
	mark(map0F, p66, vNoV, 0x10, 0x11, 0x13, 0x17, 0x28, 0x29, 0x2b, 0x2e, 0x2f, 0x50, 0x51, 0x5a, 0x5b,
		0x6e, 0x6f, 0x70, 0x7e, 0x7f, 0xc5, 0xd6, 0xd7, 0xe6, 0xe7, 0xf7)
	mark(map0F, pF3, vNoV, 0x12, 0x16, 0x2c, 0x2d, 0x5b, 0x6f, 0x70, 0x7e, 0x7f, 0xe6)
	mark(map0F, pF2, vNoV, 0x12, 0x2c, 0x2d, 0x70, 0xe6, 0xf0)
	mark(map0F, pF3, vNoVMem, 0x10, 0x11) // vmovss: the register form merges vvvv
	mark(map0F, pF2, vNoVMem, 0x10, 0x11) // vmovsd
	mark(map0F38, p66, vNoV, 0x0e, 0x0f, 0x13, 0x17, 0x18, 0x19, 0x1a, 0x1c, 0x1d, 0x1e,
		0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x2a, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
		0x41, 0x58, 0x59, 0x5a, 0x78, 0x79, 0xdb)
	mark(map0F3A, p66, vNoV, 0x00, 0x01, 0x04, 0x05, 0x08, 0x09, 0x14, 0x15, 0x16, 0x17,
		0x19, 0x1d, 0x39, 0x60, 0x61, 0x62, 0x63, 0xdf)
	mark(map0F3A, pF2, vNoV, 0xf0) // rorx
}

// decodeVEX decodes a VEX-prefixed instruction whose c4/c5 byte is at
// code[v]; start is the instruction start (no other prefix precedes).
func decodeVEX(code []byte, start, v, end int, in *inst) int {
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
		q, r3, ok := modRM(code, p, end, in)
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
