package elfload

import (
	"bytes"
	"debug/elf"
	"errors"
	"slices"
	"testing"
)

// TestSynthValid checks every field Parse extracts from the synthetic file.
func TestSynthValid(t *testing.T) {
	s := newSynth()
	p, err := Parse(bytes.NewReader(s.b), int64(len(s.b)))
	if err != nil {
		t.Fatal(err)
	}
	want := []Segment{
		{Vaddr: 0, Memsz: 0x1000, Offset: 0, Filesz: 0x1000, Align: 0x1000, Prot: ProtRead | ProtExec},
		{Vaddr: 0x2000, Memsz: 0x2000, Offset: 0x1000, Filesz: 0x1000, Align: 0x1000, Prot: ProtRead | ProtWrite},
	}
	if !slices.Equal(p.Segments, want) {
		t.Errorf("segments %+v, want %+v", p.Segments, want)
	}
	if p.Span != (Range{0, 0x4000}) || p.Entry != sCode || p.Type != elf.ET_DYN {
		t.Errorf("span %+v entry %#x type %v", p.Span, p.Entry, p.Type)
	}
	if p.Interp != "/lib/ld.so" {
		t.Errorf("interp %q", p.Interp)
	}
	if p.TLS == nil || p.TLS.Vaddr != 0x2500 || p.TLS.Memsz != 32 || p.TLS.Align != 16 || string(p.TLS.Init) != "tls-init-image!\x00" {
		t.Errorf("TLS %+v", p.TLS)
	}
	if p.RELRO == nil || *p.RELRO != (Range{0x2000, 0x2400}) {
		t.Errorf("RELRO %+v", p.RELRO)
	}
	if !p.HasGNUStack || p.StackProt != ProtRead|ProtWrite {
		t.Errorf("stack %v %v", p.HasGNUStack, p.StackProt)
	}
	if p.Properties.X86ISANeeded != 1 || len(p.Properties.Raw) != 1 {
		t.Errorf("properties %+v", p.Properties)
	}
	d := p.Dynamic
	if d == nil {
		t.Fatal("no dynamic information")
	}
	if !slices.Equal(d.Needed, []string{"libbar.so"}) || d.Soname != "libfoo.so" || d.Rpath != "/rpath" || d.Runpath != "/runpath" || !d.HasRpath || !d.HasRunpath {
		t.Errorf("strings: %q %q %q %q", d.Needed, d.Soname, d.Rpath, d.Runpath)
	}
	if !d.BindNow || d.TextRel || d.Flags != elf.DF_BIND_NOW || d.Flags1 != elf.DF_1_NOW {
		t.Errorf("flags %v %v bindnow %v textrel %v", d.Flags, d.Flags1, d.BindNow, d.TextRel)
	}
	if d.Init != sCode || d.Fini != sCode || d.InitArray != (Range{0x2300, 0x2308}) || d.FiniArray != (Range{0x2308, 0x2310}) || d.PreinitArray != (Range{}) {
		t.Errorf("init/fini %#x %#x %+v %+v %+v", d.Init, d.Fini, d.InitArray, d.FiniArray, d.PreinitArray)
	}
	if d.Symbols.Len() != 3 {
		t.Fatalf("%d symbols, want 3", d.Symbols.Len())
	}
	if s1, s2 := d.Symbols.At(1), d.Symbols.At(2); s1.Name != "sym1" || s1.Value != sCode || s1.Type() != elf.STT_FUNC || s1.Bind() != elf.STB_GLOBAL ||
		s2.Name != "sym2" || s2.Size != 8 || s2.Type() != elf.STT_OBJECT || s2.Visibility() != elf.STV_DEFAULT {
		t.Errorf("symbols %+v %+v", s1, s2)
	}
	if d.SysVHash == nil || !slices.Equal(d.SysVHash.Buckets, []uint32{2}) || !slices.Equal(d.SysVHash.Chains, []uint32{0, 0, 1}) {
		t.Errorf("SysV hash %+v", d.SysVHash)
	}
	if g := d.GNUHash; g == nil || g.SymOffset != 1 || g.BloomShift != 6 || len(g.Bloom) != 1 || !slices.Equal(g.Buckets, []uint32{1}) || len(g.Chains) != 2 || g.Chains[1]&1 != 1 {
		t.Errorf("GNU hash %+v", d.GNUHash)
	}
	if !slices.Equal(d.Versym, []uint16{0, 2, 3}) {
		t.Errorf("versym %v", d.Versym)
	}
	if len(d.Verdefs) != 2 || d.Verdefs[0].Name != "libfoo.so" || d.Verdefs[1].Name != "V1" || d.Verdefs[1].Index != 2 || d.Verdefs[0].Hash != sysvHash("libfoo.so") {
		t.Errorf("verdefs %+v", d.Verdefs)
	}
	if len(d.Verneeds) != 1 || d.Verneeds[0].File != "libbar.so" || len(d.Verneeds[0].Aux) != 1 || d.Verneeds[0].Aux[0] != (Vernaux{Hash: sysvHash("V2"), Index: 3, Name: "V2"}) {
		t.Errorf("verneeds %+v", d.Verneeds)
	}
	got := 0x2400
	if d.Rela.Len() != 2 || d.Rela.At(0) != (Reloc{uint64(got), elf.R_X86_64_RELATIVE, 0, sCode}) || d.Rela.At(1) != (Reloc{uint64(got) + 8, elf.R_X86_64_GLOB_DAT, 1, 0}) || d.RelaCount != 1 {
		t.Errorf("rela %d %+v %+v count %d", d.Rela.Len(), d.Rela.At(0), d.Rela.At(1), d.RelaCount)
	}
	if d.JmpRel.Len() != 1 || d.JmpRel.At(0) != (Reloc{uint64(got) + 16, elf.R_X86_64_JMP_SLOT, 2, 0}) {
		t.Errorf("jmprel %+v", d.JmpRel)
	}
	if !slices.Equal(d.RELR, []uint64{uint64(got) + 24, uint64(got) + 32}) {
		t.Errorf("RELR %#x", d.RELR)
	}
	if len(d.Entries) != s.ndyn {
		t.Errorf("%d dynamic entries, want %d", len(d.Entries), s.ndyn)
	}
	seg, err := p.SegmentData(1)
	if err != nil || !bytes.Equal(seg, s.b[seg1Off:seg1Off+0x1000]) {
		t.Errorf("SegmentData(1): %v", err)
	}
	if _, err := p.SegmentData(2); err == nil {
		t.Error("SegmentData(2) succeeded")
	}
}

// malformedCases are mutations of the synthetic file, one per rejection
// rule (some rules have several ways to break them).
var malformedCases = []struct {
	name   string
	rule   string
	mutate func(s *synth)
}{
	{"truncated header", RuleShortFile, func(s *synth) { s.b = s.b[:40] }},
	{"magic", RuleBadMagic, func(s *synth) { s.b[1] = 'X' }},
	{"32-bit", RuleBadClass, func(s *synth) { s.b[elf.EI_CLASS] = byte(elf.ELFCLASS32) }},
	{"big-endian", RuleBadEndian, func(s *synth) { s.b[elf.EI_DATA] = byte(elf.ELFDATA2MSB) }},
	{"ident version", RuleBadVersion, func(s *synth) { s.b[elf.EI_VERSION] = 2 }},
	{"e_version", RuleBadVersion, func(s *synth) { s.put32(20, 0) }},
	{"FreeBSD", RuleBadOSABI, func(s *synth) { s.b[elf.EI_OSABI] = byte(elf.ELFOSABI_FREEBSD) }},
	{"ET_REL", RuleBadType, func(s *synth) { s.put16(16, uint16(elf.ET_REL)) }},
	{"ET_CORE", RuleBadType, func(s *synth) { s.put16(16, uint16(elf.ET_CORE)) }},
	{"aarch64", RuleBadMachine, func(s *synth) { s.put16(18, uint16(elf.EM_AARCH64)) }},
	{"i386", RuleBadMachine, func(s *synth) { s.put16(18, uint16(elf.EM_386)) }},
	{"e_ehsize", RuleBadHeaderSize, func(s *synth) { s.put16(52, 52) }},
	{"e_phentsize", RuleBadHeaderSize, func(s *synth) { s.put16(54, 32) }},
	{"phdrs past end", RulePhdrsOutside, func(s *synth) { s.put64(32, sFileLen-100) }},
	{"phoff overflow", RulePhdrsOutside, func(s *synth) { s.put64(32, ^uint64(0)-10) }},
	{"PN_XNUM", RulePhdrsOutside, func(s *synth) { s.put16(56, 0xffff) }},
	{"no phdrs", RuleNoLoad, func(s *synth) { s.put16(56, 0) }},
	{"no PT_LOAD", RuleNoLoad, func(s *synth) { s.phdr("load0", phType, 0); s.phdr("load1", phType, 0) }},
	{"segment past end", RuleSegmentOutside, func(s *synth) { s.phdr("load1", phFilesz, 0x1800) }},
	{"segment offset overflow", RuleSegmentOutside, func(s *synth) { s.phdr("note", phOffset, ^uint64(0)-8) }},
	{"filesz > memsz", RuleFileszGtMemsz, func(s *synth) { s.phdr("load0", phMemsz, 0x800) }},
	{"align not power of 2", RuleBadAlign, func(s *synth) { s.phdr("load1", phAlign, 0x1800) }},
	{"incongruent", RuleIncongruent, func(s *synth) { s.phdr("load1", phVaddr, 0x2010) }},
	{"incongruent modulo p_align", RuleIncongruent, func(s *synth) { s.phdr("load1", phAlign, 0x200000) }},
	{"vaddr+memsz overflows", RuleAddressOverflow, func(s *synth) { s.phdr("load1", phVaddr, ^uint64(0)-0xfff) }},
	{"page rounding overflows", RuleAddressOverflow, func(s *synth) {
		s.phdr("load1", phVaddr, ^uint64(0)-0x2fff)
		s.phdr("load1", phMemsz, 0x2800)
	}},
	{"huge memsz", RuleAbsurdSize, func(s *synth) { s.phdr("load1", phMemsz, 1<<33) }},
	{"huge span", RuleAbsurdSize, func(s *synth) { s.phdr("load1", phVaddr, 1<<33+0x2000) }},
	{"unsorted", RuleLoadUnsorted, func(s *synth) { s.phdr("load0", phVaddr, 0x10000) }},
	{"overlap", RuleLoadOverlap, func(s *synth) { s.phdr("load0", phMemsz, 0x2001) }},
	{"two PT_GNU_RELRO", RuleDuplicateSegment, func(s *synth) { s.phdr("stack", phType, uint64(elf.PT_GNU_RELRO)) }},
	{"two PT_DYNAMIC", RuleDuplicateSegment, func(s *synth) { s.phdr("note", phType, uint64(elf.PT_DYNAMIC)) }},
	{"interp without NUL", RuleInterp, func(s *synth) { s.phdr("interp", phFilesz, 10) }},
	{"interp with inner NUL", RuleInterp, func(s *synth) { s.b[sInterp+3] = 0 }},
	{"empty interp", RuleInterp, func(s *synth) { s.phdr("interp", phFilesz, 0) }},
	{"TLS filesz > memsz", RuleTLS, func(s *synth) { s.phdr("tls", phFilesz, 64) }},
	{"TLS image not loaded", RuleTLS, func(s *synth) { s.phdr("tls", phVaddr, 0x3500) }},
	{"RELRO past segment", RuleRELRO, func(s *synth) { s.phdr("relro", phMemsz, 0x10000) }},
	{"note desc too long", RuleNote, func(s *synth) { s.put32(sNote+4, 0x1000) }},
	{"property too long", RuleNote, func(s *synth) { s.put32(sNote+20, 64) }},
	{"property segment holds another note", RuleNote, func(s *synth) { s.put32(sNote+8, 3) }},
	{"dynamic in bss", RuleDynamicOutside, func(s *synth) { s.phdr("dynamic", phVaddr, 0x3800) }},
	{"dynamic offset mismatch", RuleDynamicOutside, func(s *synth) { s.phdr("dynamic", phOffset, 0x100) }},
	{"dynamic size", RuleDynamicSize, func(s *synth) { s.phdr("dynamic", phFilesz, 0x2f8); s.phdr("dynamic", phMemsz, 0x2f8) }},
	{"no DT_NULL", RuleDynamicNoNull, func(s *synth) { s.phdr("dynamic", phFilesz, uint64(16*s.ndyn)) }},
	{"two DT_SONAME", RuleDuplicateTag, func(s *synth) { s.retag(elf.DT_FLAGS, elf.DT_SONAME) }},
	{"DT_STRTAB without DT_STRSZ", RuleMissingTag, func(s *synth) { s.retag(elf.DT_STRSZ, elf.DT_DEBUG) }},
	{"DT_VERDEF without DT_VERDEFNUM", RuleMissingTag, func(s *synth) { s.retag(elf.DT_VERDEFNUM, elf.DT_DEBUG) }},
	{"DT_RELASZ without DT_RELA", RuleMissingTag, func(s *synth) { s.retag(elf.DT_RELA, elf.DT_DEBUG) }},
	{"strtab in bss", RuleTableOutside, func(s *synth) { s.setDyn(elf.DT_STRTAB, 0x3800) }},
	{"strtab size overflows", RuleTableOutside, func(s *synth) { s.setDyn(elf.DT_STRSZ, ^uint64(0)) }},
	{"rela outside image", RuleTableOutside, func(s *synth) { s.setDyn(elf.DT_RELA, 0x100000) }},
	{"symtab crosses segment end", RuleTableOutside, func(s *synth) { s.setDyn(elf.DT_SYMTAB, 0xff0) }},
	{"hash table too big", RuleTableOutside, func(s *synth) { s.put32(sHash, 0x10000000) }},
	{"strtab without final NUL", RuleStrtab, func(s *synth) { s.setDyn(elf.DT_STRSZ, 52) }},
	{"soname offset", RuleStringOutside, func(s *synth) { s.setDyn(elf.DT_SONAME, 0x1000) }},
	{"needed offset", RuleStringOutside, func(s *synth) { s.setDyn(elf.DT_NEEDED, 53) }},
	{"symbol name offset", RuleStringOutside, func(s *synth) { s.put32(sSymtab+24, 0xffff) }},
	{"verneed file offset", RuleStringOutside, func(s *synth) { s.put32(sVerneed+4, 0xffff) }},
	{"DT_SYMENT", RuleBadEntsize, func(s *synth) { s.setDyn(elf.DT_SYMENT, 16) }},
	{"DT_RELAENT", RuleBadEntsize, func(s *synth) { s.setDyn(elf.DT_RELAENT, 16) }},
	{"DT_RELRENT", RuleBadEntsize, func(s *synth) { s.setDyn(DT_RELRENT, 4) }},
	{"SysV bucket", RuleHashIndex, func(s *synth) { s.put32(sHash+8, 3) }},
	{"SysV chain", RuleHashIndex, func(s *synth) { s.put32(sHash+12+4, 7) }},
	{"GNU bucket below symoffset", RuleHashIndex, func(s *synth) { s.put32(sGNUHash+4, 2) }},
	{"GNU bucket past symbols", RuleHashIndex, func(s *synth) { s.put32(sGNUHash+24, 5) }},
	{"GNU chain past DT_HASH count", RuleHashIndex, func(s *synth) { s.put32(sGNUHash+32, 0) }},
	{"GNU chain unterminated", RuleHashIndex, func(s *synth) {
		s.retag(elf.DT_HASH, elf.DT_DEBUG)
		for o := sGNUHash + 32; o < 0x1000; o += 4 {
			s.put32(o, 0)
		}
	}},
	{"GNU bloom size", RuleHashMalformed, func(s *synth) { s.put32(sGNUHash+8, 3) }},
	{"GNU bloom shift", RuleHashMalformed, func(s *synth) { s.put32(sGNUHash+12, 64) }},
	{"DT_RELASZ", RuleRelocSize, func(s *synth) { s.setDyn(elf.DT_RELASZ, 40) }},
	{"DT_PLTRELSZ", RuleRelocSize, func(s *synth) { s.setDyn(elf.DT_PLTRELSZ, 25) }},
	{"DT_RELRSZ", RuleRelocSize, func(s *synth) { s.setDyn(DT_RELRSZ, 12) }},
	{"DT_RELACOUNT too big", RuleRelocSize, func(s *synth) { s.setDyn(elf.DT_RELACOUNT, 3) }},
	{"DT_REL", RuleRelUnsupported, func(s *synth) { s.retag(elf.DT_RELACOUNT, elf.DT_REL) }},
	{"DT_PLTREL is DT_REL", RuleRelUnsupported, func(s *synth) { s.setDyn(elf.DT_PLTREL, uint64(elf.DT_REL)) }},
	{"rela symbol", RuleRelocSymbol, func(s *synth) { s.put32(sRela+24+12, 3) }},
	{"jmprel symbol", RuleRelocSymbol, func(s *synth) { s.put32(sJmprel+12, 0xffffffff) }},
	{"RELR bitmap first", RuleRELR, func(s *synth) { s.put64(sRelr, 3) }},
	{"RELR address outside image", RuleRELR, func(s *synth) { s.put64(sRelr, 0x100000) }},
	{"RELR bitmap past image", RuleRELR, func(s *synth) { s.put64(sRelr, 0x3ff8) }},
	{"RELR unaligned", RuleRELR, func(s *synth) { s.put64(sRelr, 0x2402) }},
	{"RELR not ascending", RuleRELR, func(s *synth) { s.put64(sRelr+8, 0x2000) }},
	{"verdef version", RuleVersion, func(s *synth) { s.put16(sVerdef, 2) }},
	{"verdef chain short", RuleVersion, func(s *synth) { s.setDyn(elf.DT_VERDEFNUM, 3) }},
	{"verdef count absurd", RuleVersion, func(s *synth) { s.setDyn(elf.DT_VERDEFNUM, 1<<40) }},
	{"verdef without name", RuleVersion, func(s *synth) { s.put16(sVerdef+6, 0) }},
	{"verdef next past image", RuleTableOutside, func(s *synth) { s.put32(sVerdef+16, 0xffffffff) }},
	{"verneed version", RuleVersion, func(s *synth) { s.put16(sVerneed, 0) }},
	{"versym undefined index", RuleVersion, func(s *synth) { s.put16(sVersym+2, 9) }},
	{"init array size", RuleArray, func(s *synth) { s.setDyn(elf.DT_INIT_ARRAYSZ, 12) }},
	{"init array outside image", RuleArray, func(s *synth) { s.setDyn(elf.DT_FINI_ARRAY, 0x100000) }},
	{"DT_INIT outside image", RuleArray, func(s *synth) { s.setDyn(elf.DT_INIT, 0x100000) }},
}

// TestMalformed checks that each mutation of the synthetic file is rejected
// with its specific rule and an offset inside the file.
func TestMalformed(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range malformedCases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSynth()
			tc.mutate(s)
			p, err := Parse(bytes.NewReader(s.b), int64(len(s.b)))
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("got plan %v, error %v; want rule %s", p != nil, err, tc.rule)
			}
			if fe.Rule != tc.rule {
				t.Fatalf("rule %s (%v), want %s", fe.Rule, err, tc.rule)
			}
			if fe.Offset < 0 || fe.Offset >= int64(len(s.b)) && len(s.b) > 0 && tc.rule != RuleShortFile {
				t.Errorf("offset %#x outside the file: %v", fe.Offset, err)
			}
			seen[tc.rule] = true
		})
	}
	for _, r := range allRules {
		if !seen[r] {
			t.Errorf("rule %s has no malformed-file case", r)
		}
	}
}

var allRules = []string{
	RuleShortFile, RuleBadMagic, RuleBadClass, RuleBadEndian, RuleBadVersion, RuleBadOSABI, RuleBadType,
	RuleBadMachine, RuleBadHeaderSize, RulePhdrsOutside, RuleNoLoad, RuleSegmentOutside, RuleFileszGtMemsz,
	RuleBadAlign, RuleIncongruent, RuleAddressOverflow, RuleAbsurdSize, RuleLoadUnsorted, RuleLoadOverlap,
	RuleDuplicateSegment, RuleInterp, RuleTLS, RuleRELRO, RuleNote, RuleDynamicOutside, RuleDynamicSize,
	RuleDynamicNoNull, RuleDuplicateTag, RuleMissingTag, RuleTableOutside, RuleStrtab, RuleStringOutside,
	RuleBadEntsize, RuleHashIndex, RuleHashMalformed, RuleRelocSize, RuleRelUnsupported, RuleRelocSymbol,
	RuleRELR, RuleVersion, RuleArray,
}
