package validate

// The decoder's opcode tables. Only instructions that sandboxed code may
// use have entries; every other byte pattern is "unrecognized" (or, for a
// few well-known system instructions, "forbidden"), which stops the
// bundle's decoding as NaCl's DFA does. Reject-by-default: an opcode that
// is not listed here is never accepted.
//
// The tables are built once, at package initialisation, from the compact
// hand-written lists below; the hot path only indexes arrays.

// op describes one opcode (or one ModRM.reg extension of a group).
type op struct {
	flags uint32
	imm   uint8 // immediate kind
	size  uint8 // operand size class of the written GP register(s)
	feat  uint8 // required feature, as bit index + 1 (0: none)
	group uint8 // non-zero: index into groups, decided by ModRM.reg
	kind  uint8
	suf   uint8 // for 3DNow!: index of suffix table (unused otherwise)
}

// op.flags
const (
	fValid       uint32 = 1 << iota
	fModRM              // has a ModRM byte
	fWReg               // writes the GP register named by ModRM.reg
	fWRM                // writes the GP register named by ModRM.rm when mod == 3
	fWOp                // writes the GP register in the opcode's low 3 bits
	fWAX                // writes rAX implicitly (zero-extension tracking)
	fOpsize             // 0x66 is an operand-size prefix for it
	fLock               // lock prefix allowed (with a memory destination)
	fRep                // f3 (rep) allowed: string instructions
	fRepne              // f2 and f3 allowed: cmps/scas
	fMemOnly            // ModRM must encode memory
	fRegOnly            // ModRM must encode a register
	fNoMem              // ModRM memory operand is not an access (lea, nop)
	fNoRexW             // REX.W not allowed
	fNoZext             // a 32-bit write does not zero-extend reliably (bsf, bsr, cmpxchg)
	fRexWOnly           // REX.W required
	fNoRex              // no REX prefix at all
	fNo66W              // 66 together with REX.W not allowed (GP instructions)
	fIgnore66           // 66 accepted but ignored as size (push imm, jcc? no)
	fNoBTMem            // forbidden with a memory operand (bt* with register offset)
	fUnsupported        // non-temporal store or prefetch: NaCl reports "unsupported" and accepts
	fReject             // decoded (length known) but not allowed; decoding goes on
	fWV                 // writes the GP register named by VEX.vvvv
)

// op.imm
const (
	immNone = iota
	imm8
	imm16
	immZ  // 2 with 0x66, else 4
	immV  // 8 with REX.W, 2 with 0x66, else 4 (mov r, imm)
	imm88 // two imm8 (extrq/insertq)
)

// op.size: operand size of the written GP register
const (
	szV  = iota // 16 with 0x66, 64 with REX.W, else 32
	sz8         // byte register
	sz32        // always 32
	sz64        // always 64
	szY         // 64 with REX.W, else 32
	sz16        // always 16
)

// op.kind
const (
	kNormal    = iota
	kJcc8      // rel8 conditional jump
	kJmp8      // rel8 jmp
	kLoop8     // loop/jrcxz rel8 (no prefixes at all)
	kJcc32     // 0f 8x rel32
	kJmp32     // e9
	kCall32    // e8
	kIndirect  // ff /2, ff /4
	kString    // string instruction: needs rdi/rsi sandboxing
	kStringRDI // maskmov: needs rdi
	kForbidden // known, never allowed
	k3DNow     // 0f 0f: suffix byte selects the operation
	kNop       // 0f 1f /0 (special nop forms, no memory access)
)

// maps
const (
	map1 = iota
	map0F
	map0F38
	map0F3A
	nMaps
)

// mandatory-prefix selector for the 0F maps
const (
	pNone = iota
	p66
	pF3
	pF2
	nPfx
)

var (
	oneByte [256]op
	// tab[map][prefix][opcode] for the 0F, 0F38 and 0F3A maps
	tab    [nMaps][nPfx][256]op
	groups [][16]op // [reg] for mod != 3 at 0..7, mod == 3 at 8..15
	// vex[map][pp][opcode] for VEX-encoded instructions
	vexTab [nMaps][nPfx][256]vop
	// valid 3DNow! suffixes: feature bit index + 1, 0 = invalid
	amd3dnow [256]uint8
)

func feat(f Features) uint8 {
	for i := 0; i < 64; i++ {
		if f == 1<<uint(i) {
			return uint8(i + 1)
		}
	}
	return 0
}

func set(t *[256]op, opcodes []int, o op) {
	o.flags |= fValid
	for _, c := range opcodes {
		t[c] = o
	}
}

func rng(a, b int) []int {
	var r []int
	for i := a; i <= b; i++ {
		r = append(r, i)
	}
	return r
}

func ops(c ...int) []int { return c }

// newGroup adds a group and returns its index (1-based).
func newGroup(mem, reg [8]op) uint8 {
	var g [16]op
	for i := 0; i < 8; i++ {
		g[i] = mem[i]
		if g[i].flags != 0 || g[i].kind != 0 {
			g[i].flags |= fValid
		}
		g[8+i] = reg[i]
		if g[8+i].flags != 0 || g[8+i].kind != 0 {
			g[8+i].flags |= fValid
		}
	}
	groups = append(groups, g)
	return uint8(len(groups))
}

// same returns a group whose memory and register forms are alike.
func same(e [8]op) ([8]op, [8]op) { return e, e }

func init() {
	buildOneByte()
	build0F()
	build0F38()
	build0F3A()
	buildVEX()
	build3DNow()
	for c := 0; c < 256; c++ {
		o := oneByte[c]
		simple1[c] = o.flags&^(fOpsize|fNo66W) == fValid && o.imm == immNone && o.kind == kNormal && o.feat == 0 && o.group == 0
	}
	buildFastOne()
}

// simple1[b]: the one-byte instruction b has no prefix, operand, ModRM,
// immediate, feature or register write (nop, push %reg, hlt, cmc, ...).
var simple1 [256]bool

func buildOneByte() {
	t := &oneByte
	alu := fModRM | fOpsize | fNo66W
	for base := 0; base < 0x40; base += 8 {
		cmp := base == 0x38
		wrm, wreg, wax := fWRM|fLock, fWReg, fWAX
		if cmp {
			wrm, wreg, wax = 0, 0, 0
		}
		var nz uint32
		if base == 0x10 || base == 0x18 {
			nz = fNoZext // adc, sbb: NaCl does not treat them as zero-extending
		}
		set(t, ops(base), op{flags: fModRM | wrm | nz, size: sz8})
		set(t, ops(base+1), op{flags: alu | wrm | nz, size: szV})
		set(t, ops(base+2), op{flags: fModRM | wreg | nz, size: sz8})
		set(t, ops(base+3), op{flags: alu | wreg | nz, size: szV})
		set(t, ops(base+4), op{flags: wax | nz, imm: imm8, size: sz8})
		set(t, ops(base+5), op{flags: fOpsize | fNo66W | wax | nz, imm: immZ, size: szV})
	}
	// push/pop register
	set(t, rng(0x50, 0x57), op{flags: fOpsize | fNo66W})
	set(t, rng(0x58, 0x5f), op{flags: fWOp | fOpsize | fNo66W, size: sz64})
	set(t, ops(0x63), op{flags: fModRM | fWReg | fRexWOnly, size: sz64}) // movslq
	set(t, ops(0x68), op{flags: fOpsize | fNo66W, imm: immZ})
	set(t, ops(0x6a), op{imm: imm8})
	set(t, ops(0x69), op{flags: fModRM | fWReg | fOpsize | fNo66W, imm: immZ, size: szV})
	set(t, ops(0x6b), op{flags: fModRM | fWReg | fOpsize | fNo66W, imm: imm8, size: szV})
	set(t, rng(0x70, 0x7f), op{kind: kJcc8, imm: imm8})
	// group 1
	g1 := func(size, imm uint8) uint8 {
		var e [8]op
		for r := 0; r < 8; r++ {
			e[r] = op{flags: fWRM | fLock, size: size, imm: imm}
		}
		e[2].flags |= fNoZext                          // adc
		e[3].flags |= fNoZext                          // sbb
		e[7] = op{flags: fValid, size: size, imm: imm} // cmp
		return newGroup(same(e))
	}
	set(t, ops(0x80), op{flags: fModRM, group: g1(sz8, imm8)})
	set(t, ops(0x81), op{flags: fModRM | fOpsize | fNo66W, group: g1(szV, immZ)})
	set(t, ops(0x83), op{flags: fModRM | fOpsize | fNo66W, group: g1(szV, imm8)})
	set(t, ops(0x84), op{flags: fModRM, size: sz8})
	set(t, ops(0x85), op{flags: alu, size: szV})
	set(t, ops(0x86), op{flags: fModRM | fWReg | fWRM | fLock, size: sz8})
	set(t, ops(0x87), op{flags: alu | fWReg | fWRM | fLock, size: szV})
	set(t, ops(0x88), op{flags: fModRM | fWRM, size: sz8})
	set(t, ops(0x89), op{flags: alu | fWRM, size: szV})
	set(t, ops(0x8a), op{flags: fModRM | fWReg, size: sz8})
	set(t, ops(0x8b), op{flags: alu | fWReg, size: szV})
	set(t, ops(0x8c, 0x8e), op{kind: kForbidden})
	set(t, ops(0x8d), op{flags: alu | fWReg | fMemOnly | fNoMem, size: szV})
	set(t, ops(0x90), op{flags: fOpsize | fNo66W})                                // nop / xchg %eax,%eax
	set(t, rng(0x91, 0x97), op{flags: fWOp | fWAX | fOpsize | fNo66W, size: szV}) // xchg
	set(t, ops(0x98), op{flags: fWAX | fOpsize | fNo66W, size: szV})
	set(t, ops(0x99), op{flags: fOpsize | fNo66W})
	set(t, ops(0x9b), op{feat: feat(FeatX87)})
	set(t, ops(0x9c, 0x9d), op{kind: kForbidden})
	set(t, ops(0x9e, 0x9f), op{feat: feat(FeatLAHF)})
	set(t, rng(0xa0, 0xa3), op{kind: kForbidden}) // moffs
	set(t, ops(0xa4, 0xaa, 0xac), op{kind: kString, flags: fRep})
	set(t, ops(0xa5, 0xab, 0xad), op{kind: kString, flags: fRep | fOpsize})
	set(t, ops(0xa6, 0xae), op{kind: kString, flags: fRepne})
	set(t, ops(0xa7, 0xaf), op{kind: kString, flags: fRepne | fOpsize})
	set(t, ops(0xa8), op{imm: imm8})
	set(t, ops(0xa9), op{flags: fOpsize | fNo66W, imm: immZ})
	set(t, rng(0xb0, 0xb7), op{flags: fWOp, imm: imm8, size: sz8})
	set(t, rng(0xb8, 0xbf), op{flags: fWOp | fOpsize | fNo66W, imm: immV, size: szV})
	// shifts
	sh := func(size, imm uint8) uint8 {
		var e [8]op
		for r := 0; r < 8; r++ {
			if r != 6 {
				// a shift by 0 may leave the register unwritten
				e[r] = op{flags: fWRM | fNoZext, size: size, imm: imm}
			}
		}
		return newGroup(same(e))
	}
	set(t, ops(0xc0), op{flags: fModRM, group: sh(sz8, imm8)})
	set(t, ops(0xc1), op{flags: fModRM | fOpsize | fNo66W, group: sh(szV, imm8)})
	set(t, ops(0xd0, 0xd2), op{flags: fModRM, group: sh(sz8, immNone)})
	set(t, ops(0xd1, 0xd3), op{flags: fModRM | fOpsize | fNo66W, group: sh(szV, immNone)})
	set(t, ops(0xc2, 0xc3, 0xca, 0xcb, 0xc8, 0xc9, 0xcc, 0xcd, 0xcf, 0xd7), op{kind: kForbidden})
	{
		var e [8]op
		e[0] = op{flags: fWRM, size: sz8, imm: imm8}
		set(t, ops(0xc6), op{flags: fModRM, group: newGroup(same(e))})
		e[0] = op{flags: fWRM, size: szV, imm: immZ}
		set(t, ops(0xc7), op{flags: fModRM | fOpsize | fNo66W, group: newGroup(same(e))})
	}
	// x87
	buildX87()
	set(t, rng(0xe0, 0xe3), op{kind: kLoop8, imm: imm8})
	set(t, rng(0xe4, 0xe7), op{kind: kForbidden})
	set(t, rng(0xec, 0xef), op{kind: kForbidden})
	set(t, rng(0x6c, 0x6f), op{kind: kForbidden})
	set(t, ops(0xe8), op{kind: kCall32, imm: imm16}) // imm size fixed up: rel32
	set(t, ops(0xe9), op{kind: kJmp32, imm: imm16})
	set(t, ops(0xeb), op{kind: kJmp8, imm: imm8})
	set(t, ops(0xf4, 0xf5, 0xf8, 0xf9, 0xfc, 0xfd), op{})
	set(t, ops(0xfa, 0xfb), op{kind: kForbidden})
	// group 3
	g3 := func(size, imm uint8) uint8 {
		var e [8]op
		e[0] = op{size: size, imm: imm, flags: fValid}
		e[2] = op{flags: fWRM | fLock, size: size}
		e[3] = op{flags: fWRM | fLock, size: size}
		for r := 4; r < 8; r++ {
			e[r] = op{flags: fWAX, size: size}
		}
		return newGroup(same(e))
	}
	set(t, ops(0xf6), op{flags: fModRM, group: g3(sz8, imm8)})
	set(t, ops(0xf7), op{flags: fModRM | fOpsize | fNo66W, group: g3(szV, immZ)})
	{
		var e [8]op
		e[0] = op{flags: fWRM | fLock, size: sz8}
		e[1] = op{flags: fWRM | fLock, size: sz8}
		set(t, ops(0xfe), op{flags: fModRM, group: newGroup(same(e))})
		var m, r [8]op
		m[0] = op{flags: fWRM | fLock, size: szV}
		m[1] = m[0]
		r[0], r[1] = m[0], m[1]
		m[2] = op{kind: kForbidden} // call *mem
		m[3] = op{kind: kForbidden}
		m[4] = op{kind: kForbidden} // jmp *mem
		m[5] = op{kind: kForbidden}
		m[6] = op{flags: fValid} // push mem
		r[2] = op{kind: kIndirect}
		r[3] = op{kind: kForbidden}
		r[4] = op{kind: kIndirect}
		r[5] = op{kind: kForbidden}
		r[6] = op{flags: fValid}
		set(t, ops(0xff), op{flags: fModRM | fOpsize | fNo66W, group: newGroup(m, r)})
	}
}

func buildX87() {
	x := feat(FeatX87)
	valid := op{flags: fValid, feat: x}
	for opc := 0xd8; opc <= 0xdf; opc++ {
		var m, r [8]op
		for i := 0; i < 8; i++ {
			m[i] = valid
		}
		switch opc {
		case 0xd9:
			m[1] = op{}
		case 0xdb:
			m[4], m[6] = op{}, op{}
			m[1] = op{flags: fValid, feat: feat(FeatSSE3)}
		case 0xdd:
			m[5] = op{}
			m[1] = op{flags: fValid, feat: feat(FeatSSE3)}
		case 0xdf:
			m[1] = op{flags: fValid, feat: feat(FeatSSE3)}
		}
		// register forms are decided per ModRM byte in x87Reg
		for i := 0; i < 8; i++ {
			r[i] = op{flags: fValid, feat: x, kind: kNormal}
		}
		g := newGroup(m, r)
		oneByte[opc] = op{flags: fValid | fModRM, group: g, feat: x}
	}
}

// x87Reg reports whether the register form opc/modrm (mod == 3) is a valid
// x87 instruction, and the feature it needs.
func x87Reg(opc, modrm byte) (bool, Features) {
	switch opc {
	case 0xd8:
		return true, FeatX87
	case 0xdc:
		return modrm < 0xd0 || modrm >= 0xe0, FeatX87
	case 0xd9:
		switch {
		case modrm <= 0xcf, modrm == 0xd0, modrm == 0xe0, modrm == 0xe1, modrm == 0xe4, modrm == 0xe5,
			modrm >= 0xe8 && modrm <= 0xee, modrm >= 0xf0:
			return true, FeatX87
		}
	case 0xda:
		if modrm <= 0xdf {
			return true, FeatX87 | FeatCMOV
		}
		return modrm == 0xe9, FeatX87
	case 0xdb:
		if modrm <= 0xdf {
			return true, FeatX87 | FeatCMOV
		}
		if modrm >= 0xe8 && modrm <= 0xf7 {
			return true, FeatX87 | FeatCMOV
		}
		return modrm == 0xe2 || modrm == 0xe3, FeatX87
	case 0xdd:
		return modrm <= 0xc7 || (modrm >= 0xd0 && modrm <= 0xef), FeatX87
	case 0xde:
		return modrm <= 0xcf || modrm == 0xd9 || modrm >= 0xe0, FeatX87
	case 0xdf:
		if modrm >= 0xe8 && modrm <= 0xf7 {
			return true, FeatX87 | FeatCMOV
		}
		return modrm == 0xe0, FeatX87
	}
	return false, 0
}

// sse adds an SSE/MMX-style entry in map m for the given mandatory
// prefixes.
func sse(m int, opc int, pfx []int, o op) {
	for _, p := range pfx {
		set(&tab[m][p], ops(opc), o)
	}
}

var (
	pn   = []int{pNone}
	p6   = []int{p66}
	pf3  = []int{pF3}
	pf2  = []int{pF2}
	pn6  = []int{pNone, p66}
	pall = []int{pNone, p66, pF3, pF2}
)

func build0F() {
	t := &tab[map0F][pNone]
	gp := fModRM | fOpsize | fNo66W
	set(t, ops(0x00, 0x01, 0x02, 0x03, 0x05, 0x06, 0x07, 0x08, 0x09, 0x20, 0x21, 0x22, 0x23, 0x24, 0x26,
		0x30, 0x32, 0x33, 0x34, 0x35, 0x37, 0xa0, 0xa1, 0xa8, 0xa9, 0xaa, 0xb2, 0xb4, 0xb5), op{kind: kForbidden})
	set(t, ops(0x0b), op{})                                       // ud2
	set(t, ops(0x31), op{feat: feat(FeatTSC)})                    // rdtsc
	set(t, ops(0xa2), op{})                                       // cpuid
	set(t, ops(0x0e), op{feat: feat(Feat3DNow)})                  // femms
	set(t, ops(0x0f), op{flags: fModRM, kind: k3DNow, imm: imm8}) // 3DNow!: suffix is like an imm8
	{
		var m [8]op
		m[0] = op{flags: fUnsupported | fNoMem, feat: feat(Feat3DNow)}
		m[1] = op{flags: fUnsupported | fNoMem, feat: feat(FeatPRFCHW)}
		set(t, ops(0x0d), op{flags: fModRM | fMemOnly, group: newGroup(m, [8]op{})})
		var p [8]op
		for i := 0; i < 4; i++ {
			p[i] = op{flags: fUnsupported | fNoMem, feat: feat(FeatSSE)}
		}
		set(t, ops(0x18), op{flags: fModRM | fMemOnly, group: newGroup(p, [8]op{})})
	}
	set(t, ops(0x1f), op{flags: fModRM | fOpsize | fNo66W | fNoMem | fNoRexW, kind: kNop})
	set(t, rng(0x40, 0x4f), op{flags: gp | fWReg | fNoZext, size: szV, feat: feat(FeatCMOV)})
	set(t, rng(0x80, 0x8f), op{kind: kJcc32})
	set(t, rng(0x90, 0x9f), op{flags: fModRM | fWRM, size: sz8})
	set(t, ops(0xa3), op{flags: gp | fNoBTMem, size: szV})
	set(t, ops(0xab, 0xb3, 0xbb), op{flags: gp | fWRM | fNoBTMem | fLock, size: szV})
	set(t, ops(0xa4, 0xac), op{flags: gp | fWRM | fNoZext, size: szV, imm: imm8})
	set(t, ops(0xa5, 0xad), op{flags: gp | fWRM | fNoZext, size: szV})
	set(t, ops(0xaf), op{flags: gp | fWReg, size: szV})
	set(t, ops(0xb0), op{flags: fModRM | fWRM | fLock | fNoZext, size: sz8})
	set(t, ops(0xb1), op{flags: gp | fWRM | fLock | fNoZext, size: szV})
	set(t, ops(0xb6, 0xbe), op{flags: gp | fWReg, size: szV})
	set(t, ops(0xb7, 0xbf), op{flags: gp | fWReg, size: szV})
	{
		var e [8]op
		e[4] = op{flags: fValid, imm: imm8, size: szV}
		for r := 5; r < 8; r++ {
			e[r] = op{flags: fWRM | fLock, imm: imm8, size: szV}
		}
		set(t, ops(0xba), op{flags: gp, group: newGroup(same(e))})
	}
	set(t, ops(0xbc, 0xbd), op{flags: gp | fWReg | fNoZext, size: szV})
	set(t, ops(0xc0), op{flags: fModRM | fWReg | fWRM | fLock, size: sz8})
	set(t, ops(0xc1), op{flags: gp | fWReg | fWRM | fLock, size: szV})
	{
		var m [8]op
		m[1] = op{flags: fLock, size: szY} // cmpxchg8b/16b
		set(t, ops(0xc7), op{flags: fModRM | fMemOnly, group: newGroup(m, [8]op{})})
	}
	set(t, rng(0xc8, 0xcf), op{flags: fWOp | fNo66W, size: szY})
	// F3 0F: popcnt, tzcnt, lzcnt
	f3 := &tab[map0F][pF3]
	set(f3, ops(0xb8), op{flags: gp | fWReg, size: szV, feat: feat(FeatPOPCNT)})
	set(f3, ops(0xbc), op{flags: gp | fWReg, size: szV, feat: feat(FeatBMI1)})
	set(f3, ops(0xbd), op{flags: gp | fWReg, size: szV, feat: feat(FeatLZCNT)})

	// 0F AE: fences, mxcsr, fxsave
	{
		var m, r [8]op
		m[0] = op{feat: feat(FeatFXSR), flags: fValid}
		m[1] = op{feat: feat(FeatFXSR), flags: fValid}
		m[2] = op{feat: feat(FeatSSE), flags: fValid}
		m[3] = op{feat: feat(FeatSSE), flags: fValid}
		r[5] = op{feat: feat(FeatSSE2), flags: fValid} // lfence
		r[6] = op{feat: feat(FeatSSE2), flags: fValid} // mfence
		r[7] = op{feat: feat(FeatSSE), flags: fValid}  // sfence
		set(t, ops(0xae), op{flags: fModRM, group: newGroup(m, r)})
	}

	mm := feat(FeatMMX)
	s1 := feat(FeatSSE)
	s2 := feat(FeatSSE2)
	s3 := feat(FeatSSE3)
	x := fModRM
	// 10-17
	sse(map0F, 0x10, pn, op{flags: x, feat: s1})
	sse(map0F, 0x10, pf3, op{flags: x, feat: s1})
	sse(map0F, 0x10, p6, op{flags: x, feat: s2})
	sse(map0F, 0x10, pf2, op{flags: x, feat: s2})
	sse(map0F, 0x11, pn, op{flags: x, feat: s1})
	sse(map0F, 0x11, pf3, op{flags: x, feat: s1})
	sse(map0F, 0x11, p6, op{flags: x, feat: s2})
	sse(map0F, 0x11, pf2, op{flags: x, feat: s2})
	sse(map0F, 0x12, pn, op{flags: x, feat: s1})
	sse(map0F, 0x12, p6, op{flags: x | fMemOnly, feat: s2})
	sse(map0F, 0x12, pf3, op{flags: x, feat: s3})
	sse(map0F, 0x12, pf2, op{flags: x, feat: s3})
	sse(map0F, 0x13, pn, op{flags: x | fMemOnly, feat: s1})
	sse(map0F, 0x13, p6, op{flags: x | fMemOnly, feat: s2})
	sse(map0F, 0x14, pn, op{flags: x, feat: s1})
	sse(map0F, 0x14, p6, op{flags: x, feat: s2})
	sse(map0F, 0x15, pn, op{flags: x, feat: s1})
	sse(map0F, 0x15, p6, op{flags: x, feat: s2})
	sse(map0F, 0x16, pn, op{flags: x, feat: s1})
	sse(map0F, 0x16, p6, op{flags: x | fMemOnly, feat: s2})
	sse(map0F, 0x16, pf3, op{flags: x, feat: s3})
	sse(map0F, 0x17, pn, op{flags: x | fMemOnly, feat: s1})
	sse(map0F, 0x17, p6, op{flags: x | fMemOnly, feat: s2})
	// 28-2F
	sse(map0F, 0x28, pn, op{flags: x, feat: s1})
	sse(map0F, 0x28, p6, op{flags: x, feat: s2})
	sse(map0F, 0x29, pn, op{flags: x, feat: s1})
	sse(map0F, 0x29, p6, op{flags: x, feat: s2})
	sse(map0F, 0x2a, pn, op{flags: x, feat: s1})
	sse(map0F, 0x2a, p6, op{flags: x, feat: s2})
	sse(map0F, 0x2a, pf3, op{flags: x, feat: s1})
	sse(map0F, 0x2a, pf2, op{flags: x, feat: s2})
	sse(map0F, 0x2b, pn, op{flags: x | fMemOnly | fUnsupported, feat: s1})
	sse(map0F, 0x2b, p6, op{flags: x | fMemOnly | fUnsupported, feat: s2})
	sse(map0F, 0x2b, pf3, op{flags: x | fMemOnly | fUnsupported, feat: feat(FeatSSE4A)})
	sse(map0F, 0x2b, pf2, op{flags: x | fMemOnly | fUnsupported, feat: feat(FeatSSE4A)})
	for _, o := range []int{0x2c, 0x2d} {
		sse(map0F, o, pn, op{flags: x, feat: s1})
		sse(map0F, o, p6, op{flags: x, feat: s2})
		sse(map0F, o, pf3, op{flags: x | fWReg, size: szY, feat: s1})
		sse(map0F, o, pf2, op{flags: x | fWReg, size: szY, feat: s2})
	}
	for _, o := range []int{0x2e, 0x2f} {
		sse(map0F, o, pn, op{flags: x, feat: s1})
		sse(map0F, o, p6, op{flags: x, feat: s2})
	}
	sse(map0F, 0x50, pn, op{flags: x | fRegOnly | fWReg, size: szY, feat: s1})
	sse(map0F, 0x50, p6, op{flags: x | fRegOnly | fWReg, size: szY, feat: s2})
	for _, o := range []int{0x51, 0x58, 0x59, 0x5c, 0x5d, 0x5e, 0x5f} {
		sse(map0F, o, pn, op{flags: x, feat: s1})
		sse(map0F, o, pf3, op{flags: x, feat: s1})
		sse(map0F, o, p6, op{flags: x, feat: s2})
		sse(map0F, o, pf2, op{flags: x, feat: s2})
	}
	for _, o := range []int{0x52, 0x53} {
		sse(map0F, o, pn, op{flags: x, feat: s1})
		sse(map0F, o, pf3, op{flags: x, feat: s1})
	}
	for _, o := range rng(0x54, 0x57) {
		sse(map0F, o, pn, op{flags: x, feat: s1})
		sse(map0F, o, p6, op{flags: x, feat: s2})
	}
	sse(map0F, 0x5a, pall, op{flags: x, feat: s2})
	sse(map0F, 0x5b, pn, op{flags: x, feat: s2})
	sse(map0F, 0x5b, p6, op{flags: x, feat: s2})
	sse(map0F, 0x5b, pf3, op{flags: x, feat: s2})
	// MMX / SSE2 integer
	mmxSSE2 := func(o int) {
		sse(map0F, o, pn, op{flags: x, feat: mm})
		sse(map0F, o, p6, op{flags: x, feat: s2})
	}
	for _, o := range rng(0x60, 0x6b) {
		mmxSSE2(o)
	}
	sse(map0F, 0x6c, p6, op{flags: x, feat: s2})
	sse(map0F, 0x6d, p6, op{flags: x, feat: s2})
	sse(map0F, 0x6e, pn, op{flags: x, feat: mm})
	sse(map0F, 0x6e, p6, op{flags: x, feat: s2})
	sse(map0F, 0x6f, pn, op{flags: x, feat: mm})
	sse(map0F, 0x6f, p6, op{flags: x, feat: s2})
	sse(map0F, 0x6f, pf3, op{flags: x, feat: s2})
	sse(map0F, 0x70, pn, op{flags: x, imm: imm8, feat: s1})
	sse(map0F, 0x70, p6, op{flags: x, imm: imm8, feat: s2})
	sse(map0F, 0x70, pf3, op{flags: x, imm: imm8, feat: s2})
	sse(map0F, 0x70, pf2, op{flags: x, imm: imm8, feat: s2})
	shiftGroup := func(o int, regs []int, extra66 []int) {
		var r, r6 [8]op
		for _, i := range regs {
			r[i] = op{imm: imm8, feat: mm, flags: fValid}
			r6[i] = op{imm: imm8, feat: s2, flags: fValid}
		}
		for _, i := range extra66 {
			r6[i] = op{imm: imm8, feat: s2, flags: fValid}
		}
		set(&tab[map0F][pNone], ops(o), op{flags: x | fRegOnly, group: newGroup([8]op{}, r)})
		set(&tab[map0F][p66], ops(o), op{flags: x | fRegOnly, group: newGroup([8]op{}, r6)})
	}
	shiftGroup(0x71, []int{2, 4, 6}, nil)
	shiftGroup(0x72, []int{2, 4, 6}, nil)
	shiftGroup(0x73, []int{2, 6}, []int{3, 7})
	for _, o := range rng(0x74, 0x76) {
		mmxSSE2(o)
	}
	sse(map0F, 0x77, pn, op{feat: mm})
	// SSE4A extrq/insertq: decoded, but NaCl's validator rejects them.
	{
		var r6, r2 [8]op
		r6[0] = op{flags: fValid | fReject, imm: imm88, feat: feat(FeatSSE4A)}
		set(&tab[map0F][p66], ops(0x78), op{flags: x | fRegOnly, group: newGroup([8]op{}, r6)})
		for i := range r2 {
			r2[i] = op{flags: fValid | fReject, imm: imm88, feat: feat(FeatSSE4A)}
		}
		set(&tab[map0F][pF2], ops(0x78), op{flags: x | fRegOnly, group: newGroup([8]op{}, r2)})
		sse(map0F, 0x79, p6, op{flags: x | fRegOnly | fReject, feat: feat(FeatSSE4A)})
		sse(map0F, 0x79, pf2, op{flags: x | fRegOnly | fReject, feat: feat(FeatSSE4A)})
	}
	sse(map0F, 0x7c, p6, op{flags: x, feat: s3})
	sse(map0F, 0x7c, pf2, op{flags: x, feat: s3})
	sse(map0F, 0x7d, p6, op{flags: x, feat: s3})
	sse(map0F, 0x7d, pf2, op{flags: x, feat: s3})
	sse(map0F, 0x7e, pn, op{flags: x | fWRM, size: szY, feat: mm})
	sse(map0F, 0x7e, p6, op{flags: x | fWRM, size: szY, feat: s2})
	sse(map0F, 0x7e, pf3, op{flags: x, feat: s2})
	sse(map0F, 0x7f, pn, op{flags: x, feat: mm})
	sse(map0F, 0x7f, p6, op{flags: x, feat: s2})
	sse(map0F, 0x7f, pf3, op{flags: x, feat: s2})
	sse(map0F, 0xc2, pall, op{flags: x, imm: imm8, feat: s2})
	tab[map0F][pNone][0xc2].feat = s1
	tab[map0F][pF3][0xc2].feat = s1
	sse(map0F, 0xc3, pn, op{flags: x | fMemOnly | fUnsupported, feat: s2})
	sse(map0F, 0xc4, pn, op{flags: x, imm: imm8, feat: s1})
	sse(map0F, 0xc4, p6, op{flags: x, imm: imm8, feat: s2})
	sse(map0F, 0xc5, pn, op{flags: x | fRegOnly | fWReg, size: sz32, imm: imm8, feat: s1})
	sse(map0F, 0xc5, p6, op{flags: x | fRegOnly | fWReg, size: sz32, imm: imm8, feat: s2})
	sse(map0F, 0xc6, pn, op{flags: x, imm: imm8, feat: s1})
	sse(map0F, 0xc6, p6, op{flags: x, imm: imm8, feat: s2})
	sse(map0F, 0xd0, p6, op{flags: x, feat: s3})
	sse(map0F, 0xd0, pf2, op{flags: x, feat: s3})
	for _, o := range rng(0xd1, 0xd5) {
		mmxSSE2(o)
	}
	tab[map0F][pNone][0xd4].feat = s2
	sse(map0F, 0xd6, p6, op{flags: x, feat: s2})
	sse(map0F, 0xd6, pf3, op{flags: x | fRegOnly, feat: s2})
	sse(map0F, 0xd6, pf2, op{flags: x | fRegOnly, feat: s2})
	sse(map0F, 0xd7, pn, op{flags: x | fRegOnly | fWReg, size: sz32, feat: s1})
	sse(map0F, 0xd7, p6, op{flags: x | fRegOnly | fWReg, size: sz32, feat: s2})
	for _, o := range rng(0xd8, 0xdf) {
		mmxSSE2(o)
	}
	tab[map0F][pNone][0xda].feat = s1
	tab[map0F][pNone][0xde].feat = s1
	for _, o := range rng(0xe0, 0xe5) {
		mmxSSE2(o)
	}
	tab[map0F][pNone][0xe0].feat = s1
	tab[map0F][pNone][0xe3].feat = s1
	tab[map0F][pNone][0xe4].feat = s1
	sse(map0F, 0xe6, p6, op{flags: x, feat: s2})
	sse(map0F, 0xe6, pf3, op{flags: x, feat: s2})
	sse(map0F, 0xe6, pf2, op{flags: x, feat: s2})
	sse(map0F, 0xe7, pn, op{flags: x | fMemOnly | fUnsupported, feat: s1})
	sse(map0F, 0xe7, p6, op{flags: x | fMemOnly | fUnsupported, feat: s2})
	for _, o := range rng(0xe8, 0xef) {
		mmxSSE2(o)
	}
	tab[map0F][pNone][0xea].feat = s1
	tab[map0F][pNone][0xee].feat = s1
	sse(map0F, 0xf0, pf2, op{flags: x | fMemOnly, feat: s3})
	for _, o := range rng(0xf1, 0xf6) {
		mmxSSE2(o)
	}
	tab[map0F][pNone][0xf4].feat = s2
	tab[map0F][pNone][0xf6].feat = s1
	sse(map0F, 0xf7, pn, op{flags: x | fRegOnly, kind: kStringRDI, feat: s1})
	sse(map0F, 0xf7, p6, op{flags: x | fRegOnly, kind: kStringRDI, feat: s2})
	for _, o := range rng(0xf8, 0xfe) {
		mmxSSE2(o)
	}
	tab[map0F][pNone][0xfb].feat = s2
}

func build0F38() {
	x := fModRM
	ss3 := feat(FeatSSSE3)
	s41 := feat(FeatSSE41)
	for _, o := range append(rng(0x00, 0x0b), 0x1c, 0x1d, 0x1e) {
		sse(map0F38, o, pn6, op{flags: x, feat: ss3})
	}
	for _, o := range append(append([]int{0x10, 0x14, 0x15, 0x17, 0x28, 0x29, 0x2b}, rng(0x20, 0x25)...), append(rng(0x30, 0x35), rng(0x38, 0x41)...)...) {
		sse(map0F38, o, p6, op{flags: x, feat: s41})
	}
	sse(map0F38, 0x2a, p6, op{flags: x | fMemOnly, feat: s41})
	sse(map0F38, 0x37, p6, op{flags: x, feat: feat(FeatSSE42)})
	// AES: decoded, but NaCl's validator rejects them (each one
	// separately, decoding goes on).
	for _, o := range rng(0xdb, 0xdf) {
		sse(map0F38, o, p6, op{flags: x | fReject, feat: feat(FeatAES)})
	}
	sse(map0F38, 0xf0, pn, op{flags: x | fMemOnly | fWReg | fOpsize | fNo66W, size: szV, feat: feat(FeatMOVBE)})
	sse(map0F38, 0xf1, pn, op{flags: x | fMemOnly | fOpsize | fNo66W, feat: feat(FeatMOVBE)})
	sse(map0F38, 0xf0, pf2, op{flags: x | fWReg, size: szY, feat: feat(FeatSSE42)})
	sse(map0F38, 0xf1, pf2, op{flags: x | fWReg | fOpsize, size: szY, feat: feat(FeatSSE42)})
}

func build0F3A() {
	x := fModRM
	s41 := feat(FeatSSE41)
	sse(map0F3A, 0x0f, pn6, op{flags: x, imm: imm8, feat: feat(FeatSSSE3)})
	for _, o := range append(rng(0x08, 0x0e), 0x20, 0x21, 0x22, 0x40, 0x41, 0x42) {
		sse(map0F3A, o, p6, op{flags: x, imm: imm8, feat: s41})
	}
	sse(map0F3A, 0x14, p6, op{flags: x | fWRM, size: sz32, imm: imm8, feat: s41})
	sse(map0F3A, 0x15, p6, op{flags: x | fWRM, size: sz32, imm: imm8, feat: s41})
	sse(map0F3A, 0x16, p6, op{flags: x | fWRM, size: szY, imm: imm8, feat: s41})
	sse(map0F3A, 0x17, p6, op{flags: x | fWRM, size: sz32, imm: imm8, feat: s41})
	sse(map0F3A, 0x44, p6, op{flags: x, imm: imm8, feat: feat(FeatPCLMUL)})
	sse(map0F3A, 0xdf, p6, op{flags: x | fReject, imm: imm8, feat: feat(FeatAES)})
	for _, o := range rng(0x60, 0x63) {
		sse(map0F3A, o, p6, op{flags: x, imm: imm8, feat: feat(FeatSSE42)})
	}
}

func build3DNow() {
	for _, s := range []int{0x0d, 0x1d, 0x90, 0x94, 0x96, 0x97, 0x9a, 0x9e, 0xa0, 0xa4, 0xa6, 0xa7, 0xaa, 0xae, 0xb0, 0xb4, 0xb6, 0xb7, 0xbf} {
		amd3dnow[s] = feat(Feat3DNow)
	}
	for _, s := range []int{0x0c, 0x1c, 0x8a, 0x8e, 0xbb} {
		amd3dnow[s] = feat(FeatE3DNow)
	}
}
