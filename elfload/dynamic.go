package elfload

import (
	"debug/elf"
	"math/bits"
	"strings"
)

// dynval is a dynamic tag's value and the file offset of its entry.
type dynval struct {
	val, off uint64
	set      bool
}

// singular dynamic tags: each may appear at most once.
var singular = map[elf.DynTag]bool{
	elf.DT_STRTAB: true, elf.DT_STRSZ: true, elf.DT_SYMTAB: true, elf.DT_SYMENT: true,
	elf.DT_HASH: true, elf.DT_GNU_HASH: true,
	elf.DT_RELA: true, elf.DT_RELASZ: true, elf.DT_RELAENT: true, elf.DT_RELACOUNT: true,
	elf.DT_JMPREL: true, elf.DT_PLTRELSZ: true, elf.DT_PLTREL: true,
	DT_RELR: true, DT_RELRSZ: true, DT_RELRENT: true,
	elf.DT_VERSYM: true, elf.DT_VERDEF: true, elf.DT_VERDEFNUM: true,
	elf.DT_VERNEED: true, elf.DT_VERNEEDNUM: true,
	elf.DT_INIT: true, elf.DT_FINI: true,
	elf.DT_INIT_ARRAY: true, elf.DT_INIT_ARRAYSZ: true,
	elf.DT_FINI_ARRAY: true, elf.DT_FINI_ARRAYSZ: true,
	elf.DT_PREINIT_ARRAY: true, elf.DT_PREINIT_ARRAYSZ: true,
	elf.DT_SONAME: true, elf.DT_RPATH: true, elf.DT_RUNPATH: true,
	elf.DT_FLAGS: true, elf.DT_FLAGS_1: true, elf.DT_PLTGOT: true,
}

type dynparser struct {
	*parser
	d      *Dynamic
	tags   map[elf.DynTag]dynval
	strtab string
	nsyms  uint64
	// nsymsFloor says nsyms came from DT_GNU_HASH alone: it counts the
	// hashed symbols, but unhashed (undefined) symbols may follow them, so
	// relocations may name higher indices. The table is then sized to
	// cover those too (see relocs).
	nsymsFloor bool
	maxRelSym  uint64 // highest symbol index a relocation names
}

func (dp *dynparser) get(t elf.DynTag) dynval { return dp.tags[t] }

// Longest names Parse reads from the string table: file names and version
// names (PATH_MAX), and search path lists. They bound the work of a hostile
// file that points many entries at one long string.
const (
	maxName     = 4096
	maxPathList = 64 << 10
)

// str returns the string at offset v.val of the string table, which must
// be at most limit bytes long.
func (dp *dynparser) str(v dynval, what string, limit int) (string, error) {
	if v.val >= uint64(len(dp.strtab)) {
		return "", ferr(v.off, RuleStringOutside, "%s: string offset %#x outside the string table (size %#x)", what, v.val, len(dp.strtab))
	}
	s := dp.strtab[v.val:]
	i := strings.IndexByte(s[:min(len(s), limit+1)], 0)
	if i < 0 {
		return "", ferr(v.off, RuleStringOutside, "%s: string at offset %#x is longer than %d bytes", what, v.val, limit)
	}
	return s[:i], nil
}

func (ps *parser) dynamic(h *phdr) error {
	if h.filesz%16 != 0 || h.filesz == 0 {
		return ferr(h.off, RuleDynamicSize, "PT_DYNAMIC size %#x is not a non-zero multiple of 16", h.filesz)
	}
	off, ok := ps.fileOffset(h.vaddr, h.filesz)
	if !ok || off != h.offset {
		return ferr(h.off, RuleDynamicOutside, "PT_DYNAMIC [%#x, +%#x) at offset %#x is not inside the file-backed part of a PT_LOAD segment", h.vaddr, h.filesz, h.offset)
	}
	b, err := ps.read(h.offset, h.filesz, h.off, RuleSegmentOutside, "PT_DYNAMIC")
	if err != nil {
		return err
	}
	dp := &dynparser{parser: ps, d: &Dynamic{}, tags: make(map[elf.DynTag]dynval, 40)}
	d := dp.d
	n := len(b) / 16
	terminated := false
	var needed []dynval
	d.Entries = make([]DynEntry, 0, n)
	for i := 0; i < n; i++ {
		tag, val := elf.DynTag(le.Uint64(b[i*16:])), le.Uint64(b[i*16+8:])
		eoff := h.offset + uint64(i)*16
		if tag == elf.DT_NULL {
			terminated = true
			break
		}
		d.Entries = append(d.Entries, DynEntry{tag, val})
		switch {
		case tag == elf.DT_NEEDED:
			needed = append(needed, dynval{val, eoff, true})
		case tag == elf.DT_REL || tag == elf.DT_RELSZ || tag == elf.DT_RELENT || tag == elf.DT_RELCOUNT:
			return ferr(eoff, RuleRelUnsupported, "%v: REL relocation tables are not used on x86-64 (only RELA)", tag)
		case tag == elf.DT_TEXTREL:
			d.TextRel = true
		case tag == elf.DT_BIND_NOW:
			d.BindNow = true
		case singular[tag]:
			if prev, dup := dp.tags[tag]; dup {
				return ferr(eoff, RuleDuplicateTag, "second %v (first at offset %#x)", tag, prev.off)
			}
			dp.tags[tag] = dynval{val, eoff, true}
		}
	}
	if !terminated {
		return ferr(h.offset, RuleDynamicNoNull, "dynamic section has no DT_NULL entry")
	}
	if err := dp.strings(needed); err != nil {
		return err
	}
	if err := dp.symbols(); err != nil {
		return err
	}
	if err := dp.relocs(); err != nil {
		return err
	}
	if err := dp.symtab(); err != nil {
		return err
	}
	if err := dp.versions(); err != nil {
		return err
	}
	if err := dp.misc(); err != nil {
		return err
	}
	ps.p.Dynamic = d
	return nil
}

// pair returns the values of an address tag and its size tag; both or
// neither must be present.
func (dp *dynparser) pair(addr, size elf.DynTag) (a, s dynval, err error) {
	a, s = dp.get(addr), dp.get(size)
	if a.set != s.set {
		if a.set {
			return a, s, ferr(a.off, RuleMissingTag, "%v without %v", addr, size)
		}
		return a, s, ferr(s.off, RuleMissingTag, "%v without %v", size, addr)
	}
	return a, s, nil
}

func (dp *dynparser) strings(needed []dynval) error {
	d := dp.d
	st, sz, err := dp.pair(elf.DT_STRTAB, elf.DT_STRSZ)
	if err != nil {
		return err
	}
	if st.set {
		b, _, err := dp.table(st.val, sz.val, st.off, "string table (DT_STRTAB)")
		if err != nil {
			return err
		}
		if len(b) == 0 || b[len(b)-1] != 0 {
			return ferr(sz.off, RuleStrtab, "string table of %#x bytes does not end with NUL", len(b))
		}
		dp.strtab = string(b)
	}
	if len(needed) > 0 {
		d.Needed = make([]string, len(needed))
	}
	for i, v := range needed {
		if d.Needed[i], err = dp.str(v, "DT_NEEDED", maxName); err != nil {
			return err
		}
	}
	if v := dp.get(elf.DT_SONAME); v.set {
		if d.Soname, err = dp.str(v, "DT_SONAME", maxName); err != nil {
			return err
		}
	}
	if v := dp.get(elf.DT_RPATH); v.set {
		if d.Rpath, err = dp.str(v, "DT_RPATH", maxPathList); err != nil {
			return err
		}
		d.HasRpath = true
	}
	if v := dp.get(elf.DT_RUNPATH); v.set {
		if d.Runpath, err = dp.str(v, "DT_RUNPATH", maxPathList); err != nil {
			return err
		}
		d.HasRunpath = true
	}
	return nil
}

// u32s decodes little-endian 32-bit words.
func u32s(b []byte) []uint32 {
	w := make([]uint32, len(b)/4)
	for i := range w {
		w[i] = le.Uint32(b[i*4:])
	}
	return w
}

func (dp *dynparser) symbols() error {
	d := dp.d
	symtab := dp.get(elf.DT_SYMTAB)
	if v := dp.get(elf.DT_SYMENT); v.set && v.val != symSize {
		return ferr(v.off, RuleBadEntsize, "DT_SYMENT %d, want %d", v.val, symSize)
	}
	var nsyms uint64
	haveCount := false
	if hv := dp.get(elf.DT_HASH); hv.set {
		hdr, _, err := dp.table(hv.val, 8, hv.off, "DT_HASH header")
		if err != nil {
			return err
		}
		nbucket, nchain := uint64(le.Uint32(hdr)), uint64(le.Uint32(hdr[4:]))
		b, off, err := dp.table(hv.val, 8+4*(nbucket+nchain), hv.off, "DT_HASH table")
		if err != nil {
			return err
		}
		h := &SysVHash{Buckets: u32s(b[8 : 8+4*nbucket]), Chains: u32s(b[8+4*nbucket:])}
		for i, x := range h.Buckets {
			if uint64(x) >= nchain {
				return ferr(off+8+4*uint64(i), RuleHashIndex, "DT_HASH bucket %d = %d, outside the symbol table (%d symbols)", i, x, nchain)
			}
		}
		for i, x := range h.Chains {
			if uint64(x) >= nchain {
				return ferr(off+8+4*(nbucket+uint64(i)), RuleHashIndex, "DT_HASH chain %d = %d, outside the symbol table (%d symbols)", i, x, nchain)
			}
		}
		d.SysVHash = h
		nsyms, haveCount = nchain, true
	}
	if gv := dp.get(elf.DT_GNU_HASH); gv.set {
		hdr, _, err := dp.table(gv.val, 16, gv.off, "DT_GNU_HASH header")
		if err != nil {
			return err
		}
		nbuckets, symoff := uint64(le.Uint32(hdr)), uint64(le.Uint32(hdr[4:]))
		bloomsz, shift := uint64(le.Uint32(hdr[8:])), le.Uint32(hdr[12:])
		if bloomsz == 0 || bloomsz&(bloomsz-1) != 0 || shift >= 64 {
			return ferr(gv.off, RuleHashMalformed, "DT_GNU_HASH bloom size %d (want a power of two) or shift %d (want < 64)", bloomsz, shift)
		}
		fixed := 16 + 8*bloomsz + 4*nbuckets
		b, off, err := dp.table(gv.val, fixed, gv.off, "DT_GNU_HASH table")
		if err != nil {
			return err
		}
		g := &GNUHash{SymOffset: uint32(symoff), BloomShift: shift, Bloom: make([]uint64, bloomsz)}
		for i := range g.Bloom {
			g.Bloom[i] = le.Uint64(b[16+8*i:])
		}
		g.Buckets = u32s(b[16+8*bloomsz:])
		bucketsOff := off + 16 + 8*bloomsz
		var top uint64 // highest bucket start
		for i, x := range g.Buckets {
			if x == 0 {
				continue
			}
			if uint64(x) < symoff || (haveCount && uint64(x) >= nsyms) {
				return ferr(bucketsOff+4*uint64(i), RuleHashIndex, "DT_GNU_HASH bucket %d = %d, outside the hashed symbols [%d, %d)", i, x, symoff, nsyms)
			}
			top = max(top, uint64(x))
		}
		// The chain array runs from symoff to the end of the chain that
		// starts at the highest bucket; its last word has bit 0 set.
		chainVaddr := gv.val + fixed
		var nchains uint64
		if top != 0 {
			// Read the chains up to the end of the segment's file-backed
			// part, then find the terminator of the last chain.
			avail := dp.fileAvail(chainVaddr)
			if avail < 4*(top-symoff+1) {
				return ferr(gv.off, RuleTableOutside, "DT_GNU_HASH chains [%#x, +%#x) are not inside the file-backed part of a PT_LOAD segment", chainVaddr, 4*(top-symoff+1))
			}
			limit := avail / 4
			if haveCount {
				limit = min(limit, nsyms-symoff)
			}
			coff, _ := dp.fileOffset(chainVaddr, 0)
			const chunk = 1024
			for i := top - symoff; ; {
				m := min(limit-i, chunk)
				if m == 0 || i >= limit {
					return ferr(gv.off, RuleHashIndex, "DT_GNU_HASH last chain is not terminated inside the symbol table or segment")
				}
				w, err := dp.read(coff+4*i, 4*m, gv.off, RuleTableOutside, "DT_GNU_HASH chains")
				if err != nil {
					return err
				}
				done := false
				for j := uint64(0); j < m; j++ {
					if le.Uint32(w[4*j:])&1 != 0 {
						nchains = i + j + 1
						done = true
						break
					}
				}
				if done {
					break
				}
				i += m
			}
		}
		cb, _, err := dp.table(chainVaddr, 4*nchains, gv.off, "DT_GNU_HASH chains")
		if err != nil {
			return err
		}
		g.Chains = u32s(cb)
		if !haveCount {
			nsyms = symoff + nchains
			haveCount = true
			dp.nsymsFloor = true
		} else if symoff > nsyms || symoff+nchains > nsyms {
			return ferr(gv.off, RuleHashIndex, "DT_GNU_HASH covers symbols up to %d, but DT_HASH has %d", symoff+nchains, nsyms)
		}
		d.GNUHash = g
	}
	if (nsyms > 0 || dp.nsymsFloor) && !symtab.set {
		return ferr(max(dp.get(elf.DT_HASH).off, dp.get(elf.DT_GNU_HASH).off), RuleMissingTag, "hash table without DT_SYMTAB")
	}
	dp.nsyms = nsyms
	return nil
}

// symtab reads and checks the symbol table once its size is known: the
// hash tables' count, raised (for a DT_GNU_HASH-only count) to cover the
// highest symbol index a relocation names, as long as the table stays in
// the file-backed part of its segment.
func (dp *dynparser) symtab() error {
	d := dp.d
	symtab := dp.get(elf.DT_SYMTAB)
	nsyms := dp.nsyms
	if dp.nsymsFloor && dp.maxRelSym >= nsyms {
		if dp.fileAvail(symtab.val)/symSize <= dp.maxRelSym {
			return ferr(symtab.off, RuleRelocSymbol, "a relocation names symbol %d, beyond the %d hashed symbols and outside the symbol table's segment", dp.maxRelSym, nsyms)
		}
		nsyms = dp.maxRelSym + 1
	}
	if symtab.set && nsyms > 0 {
		if dp.strtab == "" {
			return ferr(symtab.off, RuleMissingTag, "DT_SYMTAB without DT_STRTAB")
		}
		raw, off, err := dp.table(symtab.val, nsyms*symSize, symtab.off, "symbol table (DT_SYMTAB)")
		if err != nil {
			return err
		}
		for i := uint64(0); i < nsyms; i++ {
			if name := le.Uint32(raw[i*symSize:]); uint64(name) >= uint64(len(dp.strtab)) {
				return ferr(off+i*symSize, RuleStringOutside, "symbol %d: name offset %#x outside the string table (size %#x)", i, name, len(dp.strtab))
			}
		}
		d.Symbols = SymbolTable{raw: raw, strtab: dp.strtab}
	}
	dp.nsyms = nsyms
	return nil
}

// fileAvail returns how many file-backed bytes of the PT_LOAD segment
// containing vaddr follow vaddr (0 if none).
func (ps *parser) fileAvail(vaddr uint64) uint64 {
	s, ok := ps.segmentAt(vaddr)
	if !ok || vaddr >= s.Vaddr+s.Filesz {
		return 0
	}
	return s.Vaddr + s.Filesz - vaddr
}

func (dp *dynparser) versions() error {
	d := dp.d
	defined := map[uint16]bool{}
	// Version records may legally share bytes only in hostile files; the
	// number of records walked is bounded by what the file could hold.
	budget := dp.size / 8
	record := func(off uint64) error {
		if budget == 0 {
			return ferr(off, RuleVersion, "more version records than a file of %d bytes can hold", dp.size)
		}
		budget--
		return nil
	}
	if v := dp.get(elf.DT_VERDEF); v.set {
		num := dp.get(elf.DT_VERDEFNUM)
		if !num.set {
			return ferr(v.off, RuleMissingTag, "DT_VERDEF without DT_VERDEFNUM")
		}
		if num.val > dp.size/20 {
			return ferr(num.off, RuleVersion, "DT_VERDEFNUM %d is absurd for a file of %d bytes", num.val, dp.size)
		}
		at := v.val
		for i := uint64(0); i < num.val; i++ {
			b, off, err := dp.table(at, 20, v.off, "Elf64_Verdef")
			if err != nil {
				return err
			}
			if err := record(off); err != nil {
				return err
			}
			if ver := le.Uint16(b); ver != 1 {
				return ferr(off, RuleVersion, "Verdef version %d, want 1", ver)
			}
			vd := Verdef{Flags: le.Uint16(b[2:]), Index: le.Uint16(b[4:]), Hash: le.Uint32(b[8:])}
			cnt, aux, next := uint64(le.Uint16(b[6:])), uint64(le.Uint32(b[12:])), uint64(le.Uint32(b[16:]))
			if cnt == 0 {
				return ferr(off, RuleVersion, "Verdef with no name (vd_cnt 0)")
			}
			a := at
			for j := uint64(0); j < cnt; j++ {
				var c uint64
				if a, c = bits.Add64(a, aux, 0); c != 0 {
					return ferr(off, RuleVersion, "Verdaux address overflows")
				}
				ab, aoff, err := dp.table(a, 8, v.off, "Elf64_Verdaux")
				if err != nil {
					return err
				}
				if err := record(aoff); err != nil {
					return err
				}
				name, err := dp.str(dynval{uint64(le.Uint32(ab)), aoff, true}, "Verdaux name", maxName)
				if err != nil {
					return err
				}
				if j == 0 {
					vd.Name = name
				} else {
					vd.Parents = append(vd.Parents, name)
				}
				aux = uint64(le.Uint32(ab[4:]))
				if aux == 0 && j+1 < cnt {
					return ferr(aoff, RuleVersion, "Verdaux chain ends before vd_cnt %d entries", cnt)
				}
			}
			defined[vd.Index] = true
			d.Verdefs = append(d.Verdefs, vd)
			if next == 0 {
				if i+1 < num.val {
					return ferr(off, RuleVersion, "Verdef chain ends after %d of DT_VERDEFNUM %d entries", i+1, num.val)
				}
				break
			}
			var c uint64
			if at, c = bits.Add64(at, next, 0); c != 0 {
				return ferr(off, RuleVersion, "Verdef address overflows")
			}
		}
	}
	if v := dp.get(elf.DT_VERNEED); v.set {
		num := dp.get(elf.DT_VERNEEDNUM)
		if !num.set {
			return ferr(v.off, RuleMissingTag, "DT_VERNEED without DT_VERNEEDNUM")
		}
		if num.val > dp.size/16 {
			return ferr(num.off, RuleVersion, "DT_VERNEEDNUM %d is absurd for a file of %d bytes", num.val, dp.size)
		}
		at := v.val
		for i := uint64(0); i < num.val; i++ {
			b, off, err := dp.table(at, 16, v.off, "Elf64_Verneed")
			if err != nil {
				return err
			}
			if err := record(off); err != nil {
				return err
			}
			if ver := le.Uint16(b); ver != 1 {
				return ferr(off, RuleVersion, "Verneed version %d, want 1", ver)
			}
			cnt, aux, next := uint64(le.Uint16(b[2:])), uint64(le.Uint32(b[8:])), uint64(le.Uint32(b[12:]))
			file, err := dp.str(dynval{uint64(le.Uint32(b[4:])), off + 4, true}, "Verneed file", maxName)
			if err != nil {
				return err
			}
			vn := Verneed{File: file}
			a := at
			for j := uint64(0); j < cnt; j++ {
				var c uint64
				if a, c = bits.Add64(a, aux, 0); c != 0 {
					return ferr(off, RuleVersion, "Vernaux address overflows")
				}
				ab, aoff, err := dp.table(a, 16, v.off, "Elf64_Vernaux")
				if err != nil {
					return err
				}
				if err := record(aoff); err != nil {
					return err
				}
				name, err := dp.str(dynval{uint64(le.Uint32(ab[8:])), aoff + 8, true}, "Vernaux name", maxName)
				if err != nil {
					return err
				}
				va := Vernaux{Hash: le.Uint32(ab), Flags: le.Uint16(ab[4:]), Index: le.Uint16(ab[6:]), Name: name}
				defined[va.Index&0x7fff] = true
				vn.Aux = append(vn.Aux, va)
				aux = uint64(le.Uint32(ab[12:]))
				if aux == 0 && j+1 < cnt {
					return ferr(aoff, RuleVersion, "Vernaux chain ends before vn_cnt %d entries", cnt)
				}
			}
			d.Verneeds = append(d.Verneeds, vn)
			if next == 0 {
				if i+1 < num.val {
					return ferr(off, RuleVersion, "Verneed chain ends after %d of DT_VERNEEDNUM %d entries", i+1, num.val)
				}
				break
			}
			var c uint64
			if at, c = bits.Add64(at, next, 0); c != 0 {
				return ferr(off, RuleVersion, "Verneed address overflows")
			}
		}
	}
	if v := dp.get(elf.DT_VERSYM); v.set && dp.nsyms > 0 {
		b, off, err := dp.table(v.val, 2*dp.nsyms, v.off, "DT_VERSYM table")
		if err != nil {
			return err
		}
		d.Versym = make([]uint16, dp.nsyms)
		for i := range d.Versym {
			x := le.Uint16(b[2*i:])
			if idx := x & 0x7fff; idx > 1 && !defined[idx] {
				return ferr(off+2*uint64(i), RuleVersion, "symbol %d has version index %d, defined by no Verdef or Vernaux", i, idx)
			}
			d.Versym[i] = x
		}
	}
	return nil
}

func (dp *dynparser) relocTable(addr, size, ent elf.DynTag) (RelocTable, error) {
	a, s, err := dp.pair(addr, size)
	if err != nil || !a.set {
		return RelocTable{}, err
	}
	if ent != 0 {
		if e := dp.get(ent); e.set && e.val != relaSize {
			return RelocTable{}, ferr(e.off, RuleBadEntsize, "%v %d, want %d", ent, e.val, relaSize)
		}
	}
	if s.val%relaSize != 0 {
		return RelocTable{}, ferr(s.off, RuleRelocSize, "%v %#x is not a multiple of %d", size, s.val, relaSize)
	}
	b, off, err := dp.table(a.val, s.val, a.off, addr.String()+" table")
	if err != nil {
		return RelocTable{}, err
	}
	for i := uint64(0); i < s.val/relaSize; i++ {
		sym := le.Uint32(b[i*relaSize+12:])
		if sym == 0 {
			continue
		}
		if dp.nsymsFloor {
			dp.maxRelSym = max(dp.maxRelSym, uint64(sym))
		} else if uint64(sym) >= dp.nsyms {
			return RelocTable{}, ferr(off+i*relaSize+8, RuleRelocSymbol, "relocation %d: symbol index %d outside the symbol table (%d symbols)", i, sym, dp.nsyms)
		}
	}
	return RelocTable{raw: b}, nil
}

func (dp *dynparser) relocs() error {
	d := dp.d
	var err error
	if d.Rela, err = dp.relocTable(elf.DT_RELA, elf.DT_RELASZ, elf.DT_RELAENT); err != nil {
		return err
	}
	if v := dp.get(elf.DT_PLTREL); v.set && v.val != uint64(elf.DT_RELA) {
		return ferr(v.off, RuleRelUnsupported, "DT_PLTREL is %v: only RELA relocations are supported on x86-64", elf.DynTag(v.val))
	}
	if d.JmpRel, err = dp.relocTable(elf.DT_JMPREL, elf.DT_PLTRELSZ, 0); err != nil {
		return err
	}
	if v := dp.get(elf.DT_RELACOUNT); v.set {
		if v.val > uint64(d.Rela.Len()) {
			return ferr(v.off, RuleRelocSize, "DT_RELACOUNT %d exceeds the %d entries of DT_RELA", v.val, d.Rela.Len())
		}
		d.RelaCount = int(v.val)
	}
	a, s, err := dp.pair(DT_RELR, DT_RELRSZ)
	if err != nil {
		return err
	}
	if a.set {
		if e := dp.get(DT_RELRENT); e.set && e.val != 8 {
			return ferr(e.off, RuleBadEntsize, "DT_RELRENT %d, want 8", e.val)
		}
		if s.val%8 != 0 {
			return ferr(s.off, RuleRelocSize, "DT_RELRSZ %#x is not a multiple of 8", s.val)
		}
		b, off, err := dp.table(a.val, s.val, a.off, "DT_RELR table")
		if err != nil {
			return err
		}
		if d.RELR, err = dp.decodeRELR(b, off); err != nil {
			return err
		}
	}
	return nil
}

// decodeRELR expands a RELR table: an even word is an address (the next
// address to consider is the one after it); an odd word is a bitmap of the
// 63 words that follow the current address.
func (dp *dynparser) decodeRELR(b []byte, off uint64) ([]uint64, error) {
	span := dp.p.Span
	var out []uint64
	var where uint64
	started := false
	add := func(a uint64, eoff uint64) error {
		if a < span.Start || a > span.End-8 || a&7 != 0 {
			return ferr(eoff, RuleRELR, "RELR address %#x is not an aligned word inside the image [%#x, %#x)", a, span.Start, span.End)
		}
		if len(out) > 0 && a <= out[len(out)-1] {
			return ferr(eoff, RuleRELR, "RELR address %#x does not ascend", a)
		}
		out = append(out, a)
		return nil
	}
	for i := 0; i+8 <= len(b); i += 8 {
		w := le.Uint64(b[i:])
		eoff := off + uint64(i)
		if w&1 == 0 {
			if err := add(w, eoff); err != nil {
				return nil, err
			}
			where, started = w+8, true
			continue
		}
		if !started {
			return nil, ferr(eoff, RuleRELR, "RELR bitmap before any address")
		}
		for j := uint64(0); j < 63; j++ {
			if w>>(j+1)&1 != 0 {
				if err := add(where+8*j, eoff); err != nil {
					return nil, err
				}
			}
		}
		where += 63 * 8
		if where > span.End {
			// Further bitmaps would only name addresses past the image.
			where = span.End
		}
	}
	return out, nil
}

func (dp *dynparser) misc() error {
	d := dp.d
	d.Init = dp.get(elf.DT_INIT).val
	d.Fini = dp.get(elf.DT_FINI).val
	d.PLTGOT = dp.get(elf.DT_PLTGOT).val
	d.Flags = elf.DynFlag(dp.get(elf.DT_FLAGS).val)
	d.Flags1 = elf.DynFlag1(dp.get(elf.DT_FLAGS_1).val)
	if d.Flags&elf.DF_TEXTREL != 0 {
		d.TextRel = true
	}
	if d.Flags&elf.DF_BIND_NOW != 0 || d.Flags1&elf.DF_1_NOW != 0 {
		d.BindNow = true
	}
	for _, f := range []struct {
		addr, size elf.DynTag
		r          *Range
	}{
		{elf.DT_INIT_ARRAY, elf.DT_INIT_ARRAYSZ, &d.InitArray},
		{elf.DT_FINI_ARRAY, elf.DT_FINI_ARRAYSZ, &d.FiniArray},
		{elf.DT_PREINIT_ARRAY, elf.DT_PREINIT_ARRAYSZ, &d.PreinitArray},
	} {
		a, s, err := dp.pair(f.addr, f.size)
		if err != nil {
			return err
		}
		if !a.set {
			continue
		}
		if s.val%8 != 0 || a.val%8 != 0 {
			return ferr(s.off, RuleArray, "%v [%#x, +%#x) is not an aligned array of 8-byte pointers", f.addr, a.val, s.val)
		}
		if !dp.inImage(a.val, s.val) {
			return ferr(a.off, RuleArray, "%v [%#x, +%#x) is not inside a PT_LOAD segment", f.addr, a.val, s.val)
		}
		*f.r = Range{a.val, a.val + s.val}
	}
	for _, t := range []elf.DynTag{elf.DT_INIT, elf.DT_FINI} {
		if v := dp.get(t); v.set && !dp.inImage(v.val, 1) {
			return ferr(v.off, RuleArray, "%v %#x is not inside a PT_LOAD segment", t, v.val)
		}
	}
	return nil
}
