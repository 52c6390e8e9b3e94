package elfload

import (
	"debug/elf"
	"encoding/binary"
)

// synth is a small, valid, hand-laid-out ELF64 shared object that uses every
// structure Parse reads. The malformed-file tests and the fuzz seeds mutate
// it; its layout (fixed offsets below) is what the mutations refer to.
//
// Page 0 (file 0x0, vaddr 0x0, r-x): ELF header, program headers, PT_INTERP,
// the GNU property note, .dynstr, .dynsym, DT_HASH, DT_GNU_HASH, versym,
// verdef, verneed, RELA, JMPREL, RELR and one byte of code.
// Page 1 (file 0x1000, vaddr 0x2000, rw-, one page of bss after it): the
// dynamic section, init/fini arrays, GOT words and the TLS image.
type synth struct {
	b     []byte
	phdrs map[string]int     // program header name -> file offset
	dyn   map[elf.DynTag]int // dynamic tag -> file offset of its entry
	str   map[string]uint64  // string -> offset in .dynstr
	ndyn  int                // dynamic entries before DT_NULL
}

// Fixed file offsets of the synthetic file (vaddr = offset in page 0,
// vaddr = offset + 0x1000 in page 1).
const (
	sInterp  = 0x240
	sNote    = 0x260
	sStrtab  = 0x280
	sSymtab  = 0x300
	sHash    = 0x380
	sGNUHash = 0x3a0
	sVersym  = 0x3d0
	sVerdef  = 0x3e0
	sVerneed = 0x420
	sRela    = 0x440
	sJmprel  = 0x470
	sRelr    = 0x488
	sCode    = 0x500
	sDynamic = 0x1000 // vaddr 0x2000
	sInitArr = 0x1300
	sFiniArr = 0x1308
	sGOT     = 0x1400
	sTData   = 0x1500
	seg1Off  = 0x1000
	seg1Addr = 0x2000
	sFileLen = 0x2000
)

var synthStrings = []string{"libbar.so", "libfoo.so", "/rpath", "/runpath", "sym1", "sym2", "V1", "V2"}

func gnuHash(s string) uint32 {
	h := uint32(5381)
	for i := 0; i < len(s); i++ {
		h = h*33 + uint32(s[i])
	}
	return h
}

func sysvHash(s string) uint32 {
	var h uint32
	for i := 0; i < len(s); i++ {
		h = h<<4 + uint32(s[i])
		g := h & 0xf0000000
		h ^= g >> 24
		h &^= g
	}
	return h
}

func newSynth() *synth {
	s := &synth{b: make([]byte, sFileLen), phdrs: map[string]int{}, dyn: map[elf.DynTag]int{}, str: map[string]uint64{}}
	b := s.b
	p16 := func(o int, v uint16) { binary.LittleEndian.PutUint16(b[o:], v) }
	p32 := func(o int, v uint32) { binary.LittleEndian.PutUint32(b[o:], v) }
	p64 := func(o int, v uint64) { binary.LittleEndian.PutUint64(b[o:], v) }

	// Strings.
	pos := sStrtab + 1
	for _, x := range synthStrings {
		s.str[x] = uint64(pos - sStrtab)
		copy(b[pos:], x)
		pos += len(x) + 1
	}
	strsz := uint64(pos - sStrtab)

	// ELF header.
	copy(b, elf.ELFMAG)
	b[elf.EI_CLASS], b[elf.EI_DATA], b[elf.EI_VERSION], b[elf.EI_OSABI] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT), byte(elf.ELFOSABI_NONE)
	p16(16, uint16(elf.ET_DYN))
	p16(18, uint16(elf.EM_X86_64))
	p32(20, uint32(elf.EV_CURRENT))
	p64(24, sCode)
	p64(32, 64) // e_phoff
	p16(52, 64)
	p16(54, 56)

	// Program headers.
	type ph struct {
		name                             string
		typ                              elf.ProgType
		flags                            elf.ProgFlag
		off, vaddr, filesz, memsz, align uint64
	}
	dynsz := uint64(0x300)
	phs := []ph{
		{"load0", elf.PT_LOAD, elf.PF_R | elf.PF_X, 0, 0, 0x1000, 0x1000, 0x1000},
		{"load1", elf.PT_LOAD, elf.PF_R | elf.PF_W, seg1Off, seg1Addr, 0x1000, 0x2000, 0x1000},
		{"dynamic", elf.PT_DYNAMIC, elf.PF_R | elf.PF_W, sDynamic, sDynamic + 0x1000, dynsz, dynsz, 8},
		{"interp", elf.PT_INTERP, elf.PF_R, sInterp, sInterp, 11, 11, 1},
		{"note", elf.PT_NOTE, elf.PF_R, sNote, sNote, 32, 32, 8},
		{"property", elf.PT_GNU_PROPERTY, elf.PF_R, sNote, sNote, 32, 32, 8},
		{"tls", elf.PT_TLS, elf.PF_R, sTData, sTData + 0x1000, 16, 32, 16},
		{"relro", elf.PT_GNU_RELRO, elf.PF_R, seg1Off, seg1Addr, 0x400, 0x400, 1},
		{"stack", elf.PT_GNU_STACK, elf.PF_R | elf.PF_W, 0, 0, 0, 0, 16},
	}
	p16(56, uint16(len(phs)))
	for i, h := range phs {
		o := 64 + 56*i
		s.phdrs[h.name] = o
		p32(o, uint32(h.typ))
		p32(o+4, uint32(h.flags))
		p64(o+8, h.off)
		p64(o+16, h.vaddr)
		p64(o+24, h.vaddr)
		p64(o+32, h.filesz)
		p64(o+40, h.memsz)
		p64(o+48, h.align)
	}

	copy(b[sInterp:], "/lib/ld.so\x00")

	// GNU property note: ISA_1_NEEDED = baseline.
	p32(sNote, 4)
	p32(sNote+4, 16)
	p32(sNote+8, ntGNUPropertyType0)
	copy(b[sNote+12:], "GNU\x00")
	p32(sNote+16, GNU_PROPERTY_X86_ISA_1_NEEDED)
	p32(sNote+20, 4)
	p32(sNote+24, 1)

	// Symbols: null, sym1 (function in code), sym2 (object in the GOT).
	sym := func(i int, name string, info byte, shndx uint16, val, size uint64) {
		o := sSymtab + 24*i
		p32(o, uint32(s.str[name]))
		b[o+4] = info
		p16(o+6, shndx)
		p64(o+8, val)
		p64(o+16, size)
	}
	sym(1, "sym1", byte(elf.STB_GLOBAL)<<4|byte(elf.STT_FUNC), 1, sCode, 1)
	sym(2, "sym2", byte(elf.STB_GLOBAL)<<4|byte(elf.STT_OBJECT), 2, sGOT+0x1000, 8)

	// DT_HASH: one bucket, chains for 3 symbols.
	p32(sHash, 1)
	p32(sHash+4, 3)
	p32(sHash+8, 2) // bucket 0 -> sym2 -> sym1
	p32(sHash+12+4*2, 1)

	// DT_GNU_HASH: one bucket, symoffset 1, one bloom word, shift 6.
	h1, h2 := gnuHash("sym1"), gnuHash("sym2")
	p32(sGNUHash, 1)
	p32(sGNUHash+4, 1)
	p32(sGNUHash+8, 1)
	p32(sGNUHash+12, 6)
	p64(sGNUHash+16, 1<<(h1%64)|1<<((h1>>6)%64)|1<<(h2%64)|1<<((h2>>6)%64))
	p32(sGNUHash+24, 1)
	p32(sGNUHash+28, h1&^1)
	p32(sGNUHash+32, h2|1)

	// Versions: 1 = base (libfoo.so), 2 = V1 (defined), 3 = V2 (from libbar.so).
	p16(sVersym, 0)
	p16(sVersym+2, 2)
	p16(sVersym+4, 3)
	verdef := func(o int, flags, ndx uint16, name string, next uint32) {
		p16(o, 1)
		p16(o+2, flags)
		p16(o+4, ndx)
		p16(o+6, 1)
		p32(o+8, sysvHash(name))
		p32(o+12, 20)
		p32(o+16, next)
		p32(o+20, uint32(s.str[name]))
	}
	verdef(sVerdef, 1, 1, "libfoo.so", 28)
	verdef(sVerdef+28, 0, 2, "V1", 0)
	p16(sVerneed, 1)
	p16(sVerneed+2, 1)
	p32(sVerneed+4, uint32(s.str["libbar.so"]))
	p32(sVerneed+8, 16)
	p32(sVerneed+16, sysvHash("V2"))
	p16(sVerneed+22, 3)
	p32(sVerneed+24, uint32(s.str["V2"]))

	// Relocations.
	rela := func(o int, off uint64, sym uint32, typ elf.R_X86_64, add int64) {
		p64(o, off)
		p64(o+8, uint64(sym)<<32|uint64(typ))
		p64(o+16, uint64(add))
	}
	got := uint64(sGOT + 0x1000)
	rela(sRela, got, 0, elf.R_X86_64_RELATIVE, sCode)
	rela(sRela+24, got+8, 1, elf.R_X86_64_GLOB_DAT, 0)
	rela(sJmprel, got+16, 2, elf.R_X86_64_JMP_SLOT, 0)
	p64(sRelr, got+24)
	p64(sRelr+8, 0b11) // the word right after got+24

	b[sCode] = 0xc3
	p64(sInitArr, sCode)
	p64(sFiniArr, sCode)
	copy(b[sTData:], "tls-init-image!\x00")

	// Dynamic section.
	dyn := []struct {
		tag elf.DynTag
		val uint64
	}{
		{elf.DT_NEEDED, s.str["libbar.so"]}, {elf.DT_SONAME, s.str["libfoo.so"]},
		{elf.DT_RPATH, s.str["/rpath"]}, {elf.DT_RUNPATH, s.str["/runpath"]},
		{elf.DT_STRTAB, sStrtab}, {elf.DT_STRSZ, strsz},
		{elf.DT_SYMTAB, sSymtab}, {elf.DT_SYMENT, 24},
		{elf.DT_HASH, sHash}, {elf.DT_GNU_HASH, sGNUHash},
		{elf.DT_VERSYM, sVersym}, {elf.DT_VERDEF, sVerdef}, {elf.DT_VERDEFNUM, 2},
		{elf.DT_VERNEED, sVerneed}, {elf.DT_VERNEEDNUM, 1},
		{elf.DT_RELA, sRela}, {elf.DT_RELASZ, 48}, {elf.DT_RELAENT, 24}, {elf.DT_RELACOUNT, 1},
		{elf.DT_JMPREL, sJmprel}, {elf.DT_PLTRELSZ, 24}, {elf.DT_PLTREL, uint64(elf.DT_RELA)},
		{DT_RELR, sRelr}, {DT_RELRSZ, 16}, {DT_RELRENT, 8},
		{elf.DT_INIT, sCode}, {elf.DT_FINI, sCode},
		{elf.DT_INIT_ARRAY, sInitArr + 0x1000}, {elf.DT_INIT_ARRAYSZ, 8},
		{elf.DT_FINI_ARRAY, sFiniArr + 0x1000}, {elf.DT_FINI_ARRAYSZ, 8},
		{elf.DT_FLAGS, uint64(elf.DF_BIND_NOW)}, {elf.DT_FLAGS_1, uint64(elf.DF_1_NOW)},
		{elf.DT_PLTGOT, got},
	}
	for i, d := range dyn {
		o := sDynamic + 16*i
		s.dyn[d.tag] = o
		p64(o, uint64(d.tag))
		p64(o+8, d.val)
	}
	s.ndyn = len(dyn)
	return s
}

// bytes returns a copy of the file.
func (s *synth) bytes() []byte { return append([]byte(nil), s.b...) }

func (s *synth) put16(o int, v uint16) { binary.LittleEndian.PutUint16(s.b[o:], v) }
func (s *synth) put32(o int, v uint32) { binary.LittleEndian.PutUint32(s.b[o:], v) }
func (s *synth) put64(o int, v uint64) { binary.LittleEndian.PutUint64(s.b[o:], v) }

// phdr sets field (byte offset inside Elf64_Phdr: 0 type, 4 flags, 8 offset,
// 16 vaddr, 32 filesz, 40 memsz, 48 align) of the named program header.
func (s *synth) phdr(name string, field int, v uint64) {
	o := s.phdrs[name] + field
	if field < 8 {
		s.put32(o, uint32(v))
	} else {
		s.put64(o, v)
	}
}

// setDyn sets the value of the dynamic entry with the given tag.
func (s *synth) setDyn(tag elf.DynTag, v uint64) { s.put64(s.dyn[tag]+8, v) }

// retag changes the tag of the dynamic entry that has tag from.
func (s *synth) retag(from, to elf.DynTag) { s.put64(s.dyn[from], uint64(to)) }

// Elf64_Phdr field offsets.
const (
	phType   = 0
	phFlags  = 4
	phOffset = 8
	phVaddr  = 16
	phFilesz = 32
	phMemsz  = 40
	phAlign  = 48
)
