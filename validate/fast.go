package validate

// The table-driven fast path of the decoder. decodeFast handles the
// common instruction shapes: no legacy prefix, at most a REX prefix, a
// one-byte-map opcode with fastOne[b] or 0f b with fastTwo[b]. Its tables,
// built at start-up from the opcode tables, resolve the group entry
// (by ModRM.reg and whether ModRM is a register), the immediate size and
// every prefix/operand-form condition into one entry per shape, so the
// hot path is a few loads and few data-dependent branches.

// fastEnt is one resolved fast-path shape.
type fastEnt struct {
	o    op    // the resolved entry (group merged), as decodeSlow makes it
	isz  uint8 // immediate/displacement size without REX.W
	iszW uint8 // with REX.W
	// ok has bit k set when the shape is accepted with REX class k
	// (rexClass: 0 no REX, 1 REX without W, 2 REX.W); a clear bit sends
	// the instruction to decodeSlow.
	ok  uint8
	rel uint8 // 0: no relative target, 1: rel8, 4: rel32
	// chk is how run may check the instruction without checkInst when
	// it has no REX.W and no %rsp/%rbp restriction is pending: chkNone
	// (writes no GP register), chkReg (writes only ModRM.reg), chkRM
	// (writes only ModRM.rm, when a register), chkSlow (call checkInst).
	// zext: the write is a zero-extending 32-bit one (without REX.W).
	chk  uint8
	zext bool
	// zextW and bitsW are zext and the written register's size with
	// REX.W; bits without it.
	zextW       bool
	bits, bitsW uint8
	// okFused is ok for run's fused fast path: 0 unless chk is not
	// chkSlow and the instruction is not one NaCl rejects.
	okFused uint8
}

// fastModRM[m][opc]: the fast-path opcode has a ModRM byte.
var fastModRM [2][256]bool

// fshape is a shape as fastLoop needs it, in 16 bytes: fastInfo[m][opc]
// holds it for the opcodes whose shape does not depend on ModRM (sel 0);
// for the others (groups, and the register-only or memory-only forms)
// it holds hasM, sel and, in idx, the index of the opcode's shapes in
// fastGroup, selected by ModRM.reg | mod3<<3 masked with sel.
type fshape struct {
	idx          uint16
	sel          uint8
	hasM         bool
	isz, iszW    uint8 // immediate size without and with REX.W
	ok           uint8 // fastEnt.okFused
	chk          uint8
	zext, zextW  bool
	bits, bitsW  uint8
	rel          uint8
	feat         uint8 // op.feat
	noMem, noBTM bool  // op.flags fNoMem, fNoBTMem
}

var (
	fastInfo  [2][256]fshape
	fastGroup []fshape // parallel to fastEnts
)

const (
	chkSlow = iota
	chkNone
	chkReg
	chkRM
	chkOp // writes only the register in the opcode's low 3 bits
)

// fastIdx[m][opc] is the index in fastEnts of the shape for the opcode
// (map 0: one-byte map, 1: 0f map), fastSel[m][opc] the mask applied to
// ModRM.reg | mod3<<3 (15 for group opcodes, 0 otherwise). Index 0 of
// fastEnts is the never-ok shape.
var (
	fastIdx  [2][256]uint16
	fastSel  [2][256]uint8
	fastEnts []fastEnt
)

// rexClass[b]: 0 if b is not a REX prefix, 1 for REX without W, 2 for REX.W.
var rexClass [256]uint8

// modrmMem[m]: for a memory-form ModRM byte m, the number of bytes after
// the ModRM byte (SIB + displacement; a SIB with base 101b and mod 00
// adds 4 more), and the base register before REX.B (regRIP for
// RIP-relative); hasSIB marks rm = 100b.
var modrmMem [256]struct {
	n      uint8
	base   int8
	hasSIB bool
}

func buildFastTab() {
	defer buildFastInfo()
	for b := 0x40; b <= 0x4f; b++ {
		rexClass[b] = 1
		if b&8 != 0 {
			rexClass[b] = 2
		}
	}
	for m := 0; m < 0xc0; m++ {
		mod, rm := m>>6, m&7
		e := &modrmMem[m]
		e.n = dispSizes[mod]
		e.base = int8(rm)
		switch {
		case rm == 4:
			e.hasSIB = true
			e.n++
		case rm == 5 && mod == 0:
			e.base = regRIP
			e.n = 4
		}
	}
	fastEnts = append(fastEnts[:0], fastEnt{})
	for mi, fast := range [2]*[256]bool{&fastOne, &fastTwo} {
		for c := 0; c < 256; c++ {
			if !fast[c] {
				continue
			}
			o := oneByte[c]
			if mi == 1 {
				o = tab[map0F][pNone][c]
			}
			fastIdx[mi][c] = uint16(len(fastEnts))
			fastModRM[mi][c] = o.flags&fModRM != 0
			if o.flags&fModRM != 0 && o.group != 0 {
				fastSel[mi][c] = 15
				g := &groups[o.group-1]
				for i := 0; i < 16; i++ {
					sub := g[i]
					e := fastEnt{}
					if sub.flags&fValid != 0 && sub.kind == kNormal {
						feat := o.feat
						if sub.feat != 0 {
							feat = sub.feat
						}
						e = makeFastEnt(op{flags: o.flags | sub.flags, imm: sub.imm, size: sub.size, feat: feat, kind: sub.kind}, i >= 8)
					}
					fastEnts = append(fastEnts, e)
				}
				continue
			}
			if o.flags&fModRM == 0 && o.group != 0 {
				fastEnts = append(fastEnts, fastEnt{})
				continue
			}
			// one entry; mod3 only matters for fMemOnly/fRegOnly, which
			// makeFastEnt cannot resolve without ModRM: use two entries
			// when the opcode has a ModRM and one of them.
			if o.flags&fModRM != 0 && o.flags&(fMemOnly|fRegOnly) != 0 {
				fastSel[mi][c] = 8
				fastEnts = append(fastEnts, makeFastEnt(o, false))
				for i := 1; i < 8; i++ {
					fastEnts = append(fastEnts, fastEnt{})
				}
				fastEnts = append(fastEnts, makeFastEnt(o, true))
				continue
			}
			fastEnts = append(fastEnts, makeFastEnt(o, false))
		}
	}
}

// makeFastEnt resolves op o (mod3: its ModRM is a register) into a shape.
func makeFastEnt(o op, mod3 bool) fastEnt {
	e := fastEnt{o: o}
	if o.flags&fValid == 0 {
		return fastEnt{}
	}
	if o.flags&fModRM != 0 && (o.flags&fMemOnly != 0 && mod3 || o.flags&fRegOnly != 0 && !mod3) {
		return fastEnt{}
	}
	switch o.imm {
	case imm8:
		e.isz = 1
	case imm16, imm88:
		e.isz = 2
	case immZ:
		e.isz = 4
	case immV:
		e.isz = 4
		e.iszW = 8
	}
	if o.imm != immV {
		e.iszW = e.isz
	}
	e.ok = 7
	switch o.kind {
	case kNormal:
	case kJcc8, kJmp8:
		e.rel = 1
		e.ok = 1
	case kCall32, kJmp32, kJcc32:
		e.isz, e.iszW = 4, 4
		e.rel = 4
		e.ok = 1
	default:
		return fastEnt{}
	}
	switch o.flags & (fWReg | fWRM | fWOp | fWAX | fWV) {
	case 0:
		e.chk = chkNone
	case fWReg:
		e.chk = chkReg
	case fWRM:
		e.chk = chkRM
	case fWOp:
		e.chk = chkOp
	}
	bits := 32
	switch o.size {
	case sz8:
		bits = 8
	case sz64:
		bits = 64
	case sz16:
		bits = 16
	}
	e.zext = bits == 32 && o.flags&fNoZext == 0
	bitsW := bits
	switch o.size {
	case szV, szY:
		bitsW = 64
	}
	e.bits, e.bitsW = uint8(bits), uint8(bitsW)
	e.zextW = bitsW == 32 && o.flags&fNoZext == 0
	if o.flags&fNoRexW != 0 {
		e.ok &^= 4
	}
	if o.flags&fRexWOnly != 0 {
		e.ok &^= 3
	}
	if e.chk != chkSlow && o.flags&fReject == 0 {
		e.okFused = e.ok
	}
	return e
}

// decodeFast is decode for the common case: no legacy prefix, optionally
// a REX prefix, then an opcode b with fastOne[b] or 0f b with fastTwo[b].
// It does exactly what decodeSlow does for such an instruction when
// decodeSlow accepts it with stOK; ok is false (and in is partly filled)
// when the instruction needs anything else, including any rejection:
// decode then starts over on the general path, which makes the verdict
// and its message. in must be reset as decode does.
func decodeFast(code []byte, p, end int, in *inst) *fastEnt {
	start := p
	c := code[p]
	rc := rexClass[c]
	var rex byte
	if rc != 0 {
		rex = c
		p++
		if p >= end {
			return nil
		}
		c = code[p]
	}
	p++
	mi := 0
	if c == 0x0f {
		if p >= end {
			return nil
		}
		c = code[p]
		p++
		mi = 1
	}
	idx := int(fastIdx[mi][c])
	if idx == 0 {
		return nil
	}
	in.rex = rex
	in.opc = c
	sel := fastSel[mi][c]
	if fastEnts[idx].o.flags&fModRM != 0 || sel != 0 {
		if p >= end {
			return nil
		}
		m := code[p]
		p++
		r3 := (m >> 3) & 7
		in.reg = int8(r3) | int8(rex&4)<<1
		if m >= 0xc0 {
			in.mod = 3
			in.rm = int8(m&7) | int8(rex&1)<<3
			idx += int((r3 | 8) & sel)
		} else {
			mm := &modrmMem[m]
			in.mod = m >> 6
			in.mem = true
			n := int(mm.n)
			if mm.hasSIB {
				if p >= end {
					return nil
				}
				sib := code[p]
				if ix := int8((sib>>3)&7) | int8(rex&2)<<2; ix != 4 {
					in.index = ix
				}
				if sib&7 == 5 && m < 0x40 {
					n += 4
				} else {
					in.base = int8(sib&7) | int8(rex&1)<<3
				}
			} else if mm.base == regRIP {
				in.base = regRIP
			} else {
				in.base = mm.base | int8(rex&1)<<3
			}
			p += n
			if p > end {
				return nil
			}
			idx += int(r3 & sel)
		}
	}
	e := &fastEnts[idx]
	if e.ok>>rc&1 == 0 {
		return nil
	}
	isz := int(e.isz)
	if rex&8 != 0 {
		isz = int(e.iszW)
	}
	if p+isz > end {
		return nil
	}
	switch e.rel {
	case 1:
		in.rel = int64(int8(code[p]))
	case 4:
		in.rel = int64(int32(uint32(code[p]) | uint32(code[p+1])<<8 | uint32(code[p+2])<<16 | uint32(code[p+3])<<24))
	}
	in.o = e.o
	p += isz
	in.length = p - start
	if e.o.feat != 0 {
		in.need |= 1 << (e.o.feat - 1)
	}
	return e
}

// buildFastInfo fills fastInfo and fastGroup from fastIdx, fastSel,
// fastModRM and the shapes.
func buildFastInfo() {
	fastGroup = make([]fshape, len(fastEnts))
	for i := range fastEnts {
		e := &fastEnts[i]
		fastGroup[i] = fshape{isz: e.isz, iszW: e.iszW, ok: e.okFused, chk: e.chk, zext: e.zext, zextW: e.zextW,
			bits: e.bits, bitsW: e.bitsW, rel: e.rel, feat: e.o.feat, noMem: e.o.flags&fNoMem != 0, noBTM: e.o.flags&fNoBTMem != 0}
	}
	for mi := range fastInfo {
		for c := range fastInfo[mi] {
			idx, sel := fastIdx[mi][c], fastSel[mi][c]
			var fs fshape
			if sel == 0 {
				fs = fastGroup[idx] // index 0: never ok
			}
			fs.idx, fs.sel, fs.hasM = idx, sel, fastModRM[mi][c]
			fastInfo[mi][c] = fs
		}
	}
}
