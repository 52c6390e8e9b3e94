package elfload

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"sort"
)

var le = binary.LittleEndian

// Rule identifiers carried by FormatError.Rule. They are stable: tests and
// callers may branch on them.
const (
	RuleShortFile        = "short-file"         // smaller than the ELF header, or a read past the end
	RuleBadMagic         = "bad-magic"          // not \x7fELF
	RuleBadClass         = "bad-class"          // not ELFCLASS64
	RuleBadEndian        = "bad-endian"         // not ELFDATA2LSB
	RuleBadVersion       = "bad-version"        // EI_VERSION or e_version not EV_CURRENT
	RuleBadOSABI         = "bad-osabi"          // not SYSV, GNU or NaCl
	RuleBadType          = "bad-type"           // not ET_DYN or ET_EXEC
	RuleBadMachine       = "bad-machine"        // not EM_X86_64
	RuleBadHeaderSize    = "bad-header-size"    // e_ehsize or e_phentsize wrong
	RulePhdrsOutside     = "phdrs-outside-file" // program header table outside the file (or PN_XNUM)
	RuleNoLoad           = "no-load"            // no PT_LOAD segment
	RuleSegmentOutside   = "segment-outside-file"
	RuleFileszGtMemsz    = "filesz-gt-memsz"
	RuleBadAlign         = "bad-align"   // p_align not 0 or a power of two
	RuleIncongruent      = "incongruent" // p_offset and p_vaddr differ modulo the page size (or p_align)
	RuleAddressOverflow  = "address-overflow"
	RuleAbsurdSize       = "absurd-size"       // a segment or the span larger than MaxSpan
	RuleLoadUnsorted     = "load-unsorted"     // PT_LOAD segments not in ascending p_vaddr order
	RuleLoadOverlap      = "load-overlap"      // PT_LOAD segments overlapping
	RuleDuplicateSegment = "duplicate-segment" // two PT_DYNAMIC, PT_INTERP, PT_TLS, ...
	RuleInterp           = "bad-interp"        // PT_INTERP not a NUL-terminated string
	RuleTLS              = "bad-tls"           // PT_TLS malformed
	RuleRELRO            = "relro-outside-load"
	RuleNote             = "bad-note"             // malformed GNU property note
	RuleDynamicOutside   = "dynamic-outside-load" // PT_DYNAMIC not inside a PT_LOAD's file-backed part
	RuleDynamicSize      = "bad-dynamic-size"     // PT_DYNAMIC size not a multiple of 16
	RuleDynamicNoNull    = "dynamic-unterminated" // no DT_NULL
	RuleDuplicateTag     = "duplicate-tag"        // a singular dynamic tag given twice
	RuleMissingTag       = "missing-tag"          // e.g. DT_STRTAB without DT_STRSZ
	RuleTableOutside     = "table-outside-load"   // a dynamic table not inside a PT_LOAD's file-backed part
	RuleStrtab           = "bad-strtab"           // string table not NUL-terminated
	RuleStringOutside    = "string-outside-strtab"
	RuleBadEntsize       = "bad-entsize"       // DT_SYMENT, DT_RELAENT, DT_RELRENT wrong
	RuleHashIndex        = "hash-index"        // hash bucket or chain index outside the symbol table
	RuleHashMalformed    = "bad-hash"          // hash table header malformed
	RuleRelocSize        = "reloc-size"        // relocation table size not a multiple of its entry size
	RuleRelUnsupported   = "rel-unsupported"   // DT_REL tables (x86-64 uses RELA only)
	RuleRelocSymbol      = "reloc-symbol"      // relocation symbol index outside the symbol table
	RuleRELR             = "bad-relr"          // RELR table malformed
	RuleVersion          = "bad-version-table" // DT_VERDEF/DT_VERNEED/DT_VERSYM malformed
	RuleArray            = "bad-init-array"    // DT_INIT_ARRAY & co. malformed or outside the image
)

// ntGNUPropertyType0 is the note type of GNU property notes.
const ntGNUPropertyType0 = 5

// MaxSpan bounds the address range a file's PT_LOAD segments may cover: the
// whole sandbox is 4 GiB.
const MaxSpan = 1 << 32

// File is a Plan parsed from a file opened by Open; Close closes the file.
type File struct {
	*Plan
	f *os.File
}

// Close closes the underlying file; SegmentData fails afterwards.
func (f *File) Close() error { return f.f.Close() }

// Open opens and parses the ELF file at path. Errors are wrapped with the
// path; a malformed file gives an error for which errors.As finds a
// *FormatError.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	p, err := Parse(f, fi.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &File{Plan: p, f: f}, nil
}

func readFull(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

func ferr(off uint64, rule, format string, args ...any) *FormatError {
	return &FormatError{Offset: int64(off), Rule: rule, Msg: fmt.Sprintf(format, args...)}
}

// parser holds the state of one Parse call.
type parser struct {
	r    io.ReaderAt
	size uint64
	p    *Plan
}

// read reads n bytes at file offset off; errOff is reported on failure.
func (ps *parser) read(off, n, errOff uint64, rule, what string) ([]byte, error) {
	end, c := bits.Add64(off, n, 0)
	if c != 0 || end > ps.size {
		return nil, ferr(errOff, rule, "%s [%#x, +%#x) extends past the end of the file (size %#x)", what, off, n, ps.size)
	}
	b := make([]byte, n)
	if err := readFull(ps.r, b, int64(off)); err != nil {
		return nil, fmt.Errorf("reading %s at offset %#x: %w", what, off, err)
	}
	return b, nil
}

// fileOffset maps the link-time address range [vaddr, vaddr+n) to a file
// offset; the range must lie inside the file-backed part of one PT_LOAD
// segment.
func (ps *parser) fileOffset(vaddr, n uint64) (uint64, bool) {
	end, c := bits.Add64(vaddr, n, 0)
	if c != 0 {
		return 0, false
	}
	s, ok := ps.segmentAt(vaddr)
	if !ok || end > s.Vaddr+s.Filesz {
		return 0, false
	}
	return s.Offset + (vaddr - s.Vaddr), true
}

// segmentAt returns the PT_LOAD segment whose memory range contains vaddr.
// The segments are sorted and disjoint, so a binary search finds it.
func (ps *parser) segmentAt(vaddr uint64) (Segment, bool) {
	segs := ps.p.Segments
	i := sort.Search(len(segs), func(i int) bool { return segs[i].Vaddr > vaddr }) - 1
	if i < 0 || vaddr >= segs[i].Vaddr+segs[i].Memsz {
		return Segment{}, false
	}
	return segs[i], true
}

// inImage reports whether [vaddr, vaddr+n) lies inside one PT_LOAD segment
// (file-backed or bss).
func (ps *parser) inImage(vaddr, n uint64) bool {
	end, c := bits.Add64(vaddr, n, 0)
	if c != 0 {
		return false
	}
	s, ok := ps.segmentAt(vaddr)
	return ok && end <= s.Vaddr+s.Memsz
}

// inPages reports whether [vaddr, vaddr+n) lies inside the page-rounded
// extent of one PT_LOAD segment. ld may end PT_GNU_RELRO at the page
// boundary past the segment's p_memsz (an object whose writable segment is
// all RELRO); glibc protects whole pages below the RELRO end, which are the
// segment's own.
func (ps *parser) inPages(vaddr, n uint64) bool {
	end, c := bits.Add64(vaddr, n, 0)
	if c != 0 {
		return false
	}
	s, ok := ps.segmentAt(vaddr)
	return ok && end <= s.PageEnd()
}

// table reads the n bytes at link-time address vaddr, which must lie in a
// PT_LOAD segment's file-backed part. errOff names the dynamic entry that
// points at the table.
func (ps *parser) table(vaddr, n, errOff uint64, what string) ([]byte, uint64, error) {
	off, ok := ps.fileOffset(vaddr, n)
	if !ok {
		return nil, 0, ferr(errOff, RuleTableOutside, "%s [%#x, +%#x) is not inside the file-backed part of a PT_LOAD segment", what, vaddr, n)
	}
	b, err := ps.read(off, n, errOff, RuleTableOutside, what)
	return b, off, err
}

// Parse parses the ELF file of the given size read through r and returns
// its load plan. The Plan keeps r for SegmentData. Only the ELF header, the
// program headers, the dynamic section and the tables it names are read.
func Parse(r io.ReaderAt, size int64) (*Plan, error) {
	if size < 0 {
		return nil, errors.New("elfload: negative file size")
	}
	ps := &parser{r: r, size: uint64(size), p: &Plan{r: r, size: size}}
	if err := ps.header(); err != nil {
		return nil, err
	}
	return ps.p, nil
}

const (
	ehdrSize = 64
	phdrSize = 56
)

func (ps *parser) header() error {
	if ps.size < ehdrSize {
		return ferr(0, RuleShortFile, "file of %d bytes is smaller than an ELF64 header", ps.size)
	}
	h := make([]byte, ehdrSize)
	if err := readFull(ps.r, h, 0); err != nil {
		return fmt.Errorf("reading ELF header: %w", err)
	}
	if string(h[:4]) != elf.ELFMAG {
		return ferr(0, RuleBadMagic, "not an ELF file (magic %q)", h[:4])
	}
	if elf.Class(h[elf.EI_CLASS]) != elf.ELFCLASS64 {
		return ferr(elf.EI_CLASS, RuleBadClass, "class %v, want ELFCLASS64", elf.Class(h[elf.EI_CLASS]))
	}
	if elf.Data(h[elf.EI_DATA]) != elf.ELFDATA2LSB {
		return ferr(elf.EI_DATA, RuleBadEndian, "data encoding %v, want ELFDATA2LSB", elf.Data(h[elf.EI_DATA]))
	}
	if elf.Version(h[elf.EI_VERSION]) != elf.EV_CURRENT {
		return ferr(elf.EI_VERSION, RuleBadVersion, "ident version %d, want 1", h[elf.EI_VERSION])
	}
	osabi := elf.OSABI(h[elf.EI_OSABI])
	if osabi != elf.ELFOSABI_NONE && osabi != elf.ELFOSABI_LINUX && osabi != OSABINaCl {
		return ferr(elf.EI_OSABI, RuleBadOSABI, "OS/ABI %v, want SYSV, GNU or NaCl", osabi)
	}
	typ := elf.Type(le.Uint16(h[16:]))
	if typ != elf.ET_DYN && typ != elf.ET_EXEC {
		return ferr(16, RuleBadType, "type %v, want ET_DYN or ET_EXEC", typ)
	}
	if m := elf.Machine(le.Uint16(h[18:])); m != elf.EM_X86_64 {
		return ferr(18, RuleBadMachine, "machine %v, want EM_X86_64", m)
	}
	if v := le.Uint32(h[20:]); v != uint32(elf.EV_CURRENT) {
		return ferr(20, RuleBadVersion, "e_version %d, want 1", v)
	}
	ps.p.Type, ps.p.OSABI = typ, osabi
	ps.p.Entry = le.Uint64(h[24:])
	phoff := le.Uint64(h[32:])
	if v := le.Uint16(h[52:]); v != ehdrSize {
		return ferr(52, RuleBadHeaderSize, "e_ehsize %d, want %d", v, ehdrSize)
	}
	phentsize, phnum := le.Uint16(h[54:]), le.Uint16(h[56:])
	if phentsize != phdrSize {
		return ferr(54, RuleBadHeaderSize, "e_phentsize %d, want %d", phentsize, phdrSize)
	}
	if phnum == 0 {
		return ferr(56, RuleNoLoad, "no program headers")
	}
	if phnum == 0xffff {
		// PN_XNUM: the real count is in section header 0, which a loader
		// does not read.
		return ferr(56, RulePhdrsOutside, "e_phnum is PN_XNUM (count in section headers), not supported")
	}
	tab, err := ps.read(phoff, uint64(phnum)*phdrSize, 32, RulePhdrsOutside, "program header table")
	if err != nil {
		return err
	}
	return ps.programHeaders(phoff, tab)
}

type phdr struct {
	off                                        uint64 // file offset of the header itself
	typ                                        elf.ProgType
	flags                                      elf.ProgFlag
	offset, vaddr, paddr, filesz, memsz, align uint64
}

func (ps *parser) programHeaders(phoff uint64, tab []byte) error {
	n := len(tab) / phdrSize
	var dyn, interp, tls, relro, stack, prop *phdr
	var notes []phdr
	var loads int
	for i := 0; i < n; i++ {
		b := tab[i*phdrSize:]
		h := phdr{
			off:    phoff + uint64(i)*phdrSize,
			typ:    elf.ProgType(le.Uint32(b[0:])),
			flags:  elf.ProgFlag(le.Uint32(b[4:])),
			offset: le.Uint64(b[8:]),
			vaddr:  le.Uint64(b[16:]),
			paddr:  le.Uint64(b[24:]),
			filesz: le.Uint64(b[32:]),
			memsz:  le.Uint64(b[40:]),
			align:  le.Uint64(b[48:]),
		}
		if end, c := bits.Add64(h.offset, h.filesz, 0); c != 0 || end > ps.size {
			return ferr(h.off, RuleSegmentOutside, "segment %d (%v) file range [%#x, +%#x) extends past the end of the file (size %#x)", i, h.typ, h.offset, h.filesz, ps.size)
		}
		if _, c := bits.Add64(h.vaddr, h.memsz, 0); c != 0 {
			return ferr(h.off, RuleAddressOverflow, "segment %d (%v) address range [%#x, +%#x) overflows", i, h.typ, h.vaddr, h.memsz)
		}
		if h.align != 0 && h.align&(h.align-1) != 0 {
			return ferr(h.off, RuleBadAlign, "segment %d (%v) alignment %#x is not a power of two", i, h.typ, h.align)
		}
		hp := &h
		dup := func(slot **phdr) error {
			if *slot != nil {
				return ferr(h.off, RuleDuplicateSegment, "second %v segment (first at offset %#x)", h.typ, (*slot).off)
			}
			*slot = hp
			return nil
		}
		var err error
		switch h.typ {
		case elf.PT_LOAD:
			loads++
			err = ps.load(i, &h)
		case elf.PT_DYNAMIC:
			err = dup(&dyn)
		case elf.PT_INTERP:
			err = dup(&interp)
		case elf.PT_TLS:
			err = dup(&tls)
		case elf.PT_GNU_RELRO:
			err = dup(&relro)
		case elf.PT_GNU_STACK:
			err = dup(&stack)
		case elf.PT_GNU_PROPERTY:
			err = dup(&prop)
		case elf.PT_NOTE:
			notes = append(notes, h)
		}
		if err != nil {
			return err
		}
	}
	if loads == 0 {
		return ferr(56, RuleNoLoad, "no PT_LOAD segment")
	}
	segs := ps.p.Segments
	ps.p.Span = Range{segs[0].PageStart(), segs[len(segs)-1].PageEnd()}
	if ps.p.Span.Len() > MaxSpan {
		return ferr(phoff, RuleAbsurdSize, "PT_LOAD segments span %#x bytes, more than %#x", ps.p.Span.Len(), uint64(MaxSpan))
	}
	if interp != nil {
		if err := ps.interp(interp); err != nil {
			return err
		}
	}
	if tls != nil {
		if err := ps.tls(tls); err != nil {
			return err
		}
	}
	if relro != nil {
		if relro.memsz != 0 && !ps.inPages(relro.vaddr, relro.memsz) {
			return ferr(relro.off, RuleRELRO, "PT_GNU_RELRO [%#x, +%#x) is not inside the pages of one PT_LOAD segment", relro.vaddr, relro.memsz)
		}
		ps.p.RELRO = &Range{relro.vaddr, relro.vaddr + relro.memsz}
	}
	if stack != nil {
		ps.p.HasGNUStack = true
		ps.p.StackProt = protOf(stack.flags)
	}
	if prop != nil {
		if err := ps.properties(prop, true); err != nil {
			return err
		}
	} else {
		for i := range notes {
			if err := ps.properties(&notes[i], false); err != nil {
				return err
			}
		}
	}
	if dyn != nil {
		if err := ps.dynamic(dyn); err != nil {
			return err
		}
	}
	return nil
}

func (ps *parser) load(i int, h *phdr) error {
	if h.filesz > h.memsz {
		return ferr(h.off, RuleFileszGtMemsz, "PT_LOAD segment %d: p_filesz %#x > p_memsz %#x", i, h.filesz, h.memsz)
	}
	if h.memsz > MaxSpan {
		return ferr(h.off, RuleAbsurdSize, "PT_LOAD segment %d: p_memsz %#x is more than %#x", i, h.memsz, uint64(MaxSpan))
	}
	if _, c := bits.Add64(h.vaddr, h.memsz+PageSize, 0); c != 0 {
		return ferr(h.off, RuleAddressOverflow, "PT_LOAD segment %d: [%#x, +%#x) rounded to pages overflows", i, h.vaddr, h.memsz)
	}
	mod := max(h.align, PageSize)
	if (h.vaddr-h.offset)&(mod-1) != 0 {
		return ferr(h.off, RuleIncongruent, "PT_LOAD segment %d: p_vaddr %#x and p_offset %#x differ modulo %#x", i, h.vaddr, h.offset, mod)
	}
	segs := ps.p.Segments
	if len(segs) > 0 {
		prev := segs[len(segs)-1]
		if h.vaddr < prev.Vaddr {
			return ferr(h.off, RuleLoadUnsorted, "PT_LOAD segment %d at %#x comes after one at %#x", i, h.vaddr, prev.Vaddr)
		}
		if h.vaddr < prev.Vaddr+prev.Memsz {
			return ferr(h.off, RuleLoadOverlap, "PT_LOAD segment %d at %#x overlaps the previous one [%#x, %#x)", i, h.vaddr, prev.Vaddr, prev.Vaddr+prev.Memsz)
		}
	}
	ps.p.Segments = append(ps.p.Segments, Segment{
		Vaddr: h.vaddr, Memsz: h.memsz, Offset: h.offset, Filesz: h.filesz, Align: h.align,
		Prot: protOf(h.flags),
	})
	return nil
}

func (ps *parser) interp(h *phdr) error {
	if h.filesz == 0 || h.filesz > 4096 {
		return ferr(h.off, RuleInterp, "PT_INTERP size %#x, want 1 to 4096 bytes", h.filesz)
	}
	b, err := ps.read(h.offset, h.filesz, h.off, RuleSegmentOutside, "PT_INTERP")
	if err != nil {
		return err
	}
	if b[len(b)-1] != 0 {
		return ferr(h.offset, RuleInterp, "PT_INTERP is not NUL-terminated")
	}
	for i, c := range b[:len(b)-1] {
		if c == 0 {
			return ferr(h.offset+uint64(i), RuleInterp, "PT_INTERP has a NUL inside the name")
		}
	}
	ps.p.Interp = string(b[:len(b)-1])
	return nil
}

func (ps *parser) tls(h *phdr) error {
	if h.filesz > h.memsz {
		return ferr(h.off, RuleTLS, "PT_TLS p_filesz %#x > p_memsz %#x", h.filesz, h.memsz)
	}
	if h.memsz > MaxSpan || h.align > MaxSpan {
		return ferr(h.off, RuleTLS, "PT_TLS size %#x or alignment %#x is absurd", h.memsz, h.align)
	}
	if h.filesz > 0 {
		off, ok := ps.fileOffset(h.vaddr, h.filesz)
		if !ok || off != h.offset {
			return ferr(h.off, RuleTLS, "PT_TLS image [%#x, +%#x) at offset %#x is not the file-backed part of a PT_LOAD segment", h.vaddr, h.filesz, h.offset)
		}
	}
	init, err := ps.read(h.offset, h.filesz, h.off, RuleSegmentOutside, "PT_TLS image")
	if err != nil {
		return err
	}
	ps.p.TLS = &TLS{Vaddr: h.vaddr, Memsz: h.memsz, Filesz: h.filesz, Align: h.align, Init: init}
	return nil
}

// properties parses the NT_GNU_PROPERTY_TYPE_0 note of a PT_GNU_PROPERTY
// (strict: it must be exactly such a note) or PT_NOTE segment (other notes
// are skipped).
func (ps *parser) properties(h *phdr, strict bool) error {
	if h.filesz > 1<<20 {
		if strict {
			return ferr(h.off, RuleNote, "PT_GNU_PROPERTY of %#x bytes is absurd", h.filesz)
		}
		return nil
	}
	b, err := ps.read(h.offset, h.filesz, h.off, RuleSegmentOutside, "note segment")
	if err != nil {
		return err
	}
	align := uint64(4)
	if h.align == 8 {
		align = 8
	}
	pad := func(n uint64) uint64 { return (n + align - 1) &^ (align - 1) }
	found := false
	for pos := uint64(0); pos < uint64(len(b)); {
		if uint64(len(b))-pos < 12 {
			return ferr(h.offset+pos, RuleNote, "truncated note header")
		}
		namesz, descsz, typ := uint64(le.Uint32(b[pos:])), uint64(le.Uint32(b[pos+4:])), le.Uint32(b[pos+8:])
		name := pos + 12
		if namesz > uint64(len(b)) || descsz > uint64(len(b)) {
			return ferr(h.offset+pos, RuleNote, "note (namesz %#x, descsz %#x) extends past its segment", namesz, descsz)
		}
		// Name and descriptor start at offsets aligned to the segment's
		// note alignment (4, or 8 for GNU property notes).
		desc := pad(name + namesz)
		next := pad(desc + descsz)
		if desc+descsz > uint64(len(b)) {
			return ferr(h.offset+pos, RuleNote, "note (namesz %#x, descsz %#x) extends past its segment", namesz, descsz)
		}
		if typ == ntGNUPropertyType0 && namesz == 4 && string(b[name:name+4]) == "GNU\x00" {
			if found {
				return ferr(h.offset+pos, RuleNote, "second GNU property note")
			}
			found = true
			if err := ps.propertyDesc(b[desc:desc+descsz], h.offset+desc); err != nil {
				return err
			}
		} else if strict {
			return ferr(h.offset+pos, RuleNote, "PT_GNU_PROPERTY holds a note other than NT_GNU_PROPERTY_TYPE_0")
		}
		pos = min(next, uint64(len(b)))
	}
	return nil
}

func (ps *parser) propertyDesc(d []byte, off uint64) error {
	pr := &ps.p.Properties
	for pos := uint64(0); pos < uint64(len(d)); {
		if uint64(len(d))-pos < 8 {
			return ferr(off+pos, RuleNote, "truncated GNU property")
		}
		typ, sz := le.Uint32(d[pos:]), uint64(le.Uint32(d[pos+4:]))
		data := pos + 8
		if sz > uint64(len(d))-data {
			return ferr(off+pos, RuleNote, "GNU property %#x of %d bytes extends past its note", typ, sz)
		}
		v := d[data : data+sz]
		next := (data + sz + 7) &^ 7
		if next > uint64(len(d)) {
			next = uint64(len(d))
		}
		if len(v) == 4 {
			x := le.Uint32(v)
			switch typ {
			case GNU_PROPERTY_X86_FEATURE_1_AND:
				pr.X86Feature1AND = x
			case GNU_PROPERTY_X86_ISA_1_NEEDED:
				pr.X86ISANeeded = x
			case GNU_PROPERTY_X86_ISA_1_USED:
				pr.X86ISAUsed = x
			case GNU_PROPERTY_X86_FEATURE_2_NEEDED:
				pr.X86Feature2Needed = x
			case GNU_PROPERTY_X86_FEATURE_2_USED:
				pr.X86Feature2Used = x
			}
		}
		pr.Raw = append(pr.Raw, Property{Type: typ, Data: v})
		pos = next
	}
	return nil
}
