package elfload

import (
	"debug/elf"
	"fmt"
	"io"
	"strings"
)

// PageSize is the page size that segment placement and congruence are
// checked against.
const PageSize = 0x1000

// OSABINaCl is the ELF OS/ABI value used by Native Client objects.
const OSABINaCl elf.OSABI = 123

// Dynamic tags that debug/elf does not name (RELR, from the gABI proposal
// adopted by binutils 2.38 and glibc 2.36).
const (
	DT_RELRSZ  elf.DynTag = 35
	DT_RELR    elf.DynTag = 36
	DT_RELRENT elf.DynTag = 37
)

// Prot is a set of memory protections.
type Prot uint8

// The protection bits; they have the values of PROT_READ, PROT_WRITE and
// PROT_EXEC.
const (
	ProtRead  Prot = 1
	ProtWrite Prot = 2
	ProtExec  Prot = 4
)

// String returns the protections in the style of /proc/self/maps, e.g. "r-x".
func (p Prot) String() string {
	b := []byte("---")
	if p&ProtRead != 0 {
		b[0] = 'r'
	}
	if p&ProtWrite != 0 {
		b[1] = 'w'
	}
	if p&ProtExec != 0 {
		b[2] = 'x'
	}
	return string(b)
}

func protOf(f elf.ProgFlag) Prot {
	var p Prot
	if f&elf.PF_R != 0 {
		p |= ProtRead
	}
	if f&elf.PF_W != 0 {
		p |= ProtWrite
	}
	if f&elf.PF_X != 0 {
		p |= ProtExec
	}
	return p
}

// Range is a half-open range [Start, End) of link-time virtual addresses.
type Range struct{ Start, End uint64 }

// Len returns End-Start.
func (r Range) Len() uint64 { return r.End - r.Start }

// Segment is one PT_LOAD segment: Memsz bytes at Vaddr, of which the first
// Filesz come from the file at Offset and the rest (the bss) are zero.
type Segment struct {
	Vaddr, Memsz, Offset, Filesz, Align uint64
	Prot                                Prot
}

// PageStart returns Vaddr rounded down to the page size.
func (s Segment) PageStart() uint64 { return s.Vaddr &^ (PageSize - 1) }

// PageEnd returns Vaddr+Memsz rounded up to the page size (Parse has checked
// that this does not overflow).
func (s Segment) PageEnd() uint64 { return (s.Vaddr + s.Memsz + PageSize - 1) &^ (PageSize - 1) }

// TLS is the thread-local storage template (PT_TLS): a block of Memsz bytes
// aligned to Align whose first Filesz bytes are Init (the .tdata image) and
// the rest zero (.tbss).
type TLS struct {
	Vaddr, Memsz, Filesz, Align uint64
	Init                        []byte
}

// Property is one GNU property (from an NT_GNU_PROPERTY_TYPE_0 note).
type Property struct {
	Type uint32
	Data []byte
}

// GNU property types of the x86-64 psABI.
const (
	GNU_PROPERTY_X86_FEATURE_1_AND    = 0xc0000002
	GNU_PROPERTY_X86_FEATURE_2_NEEDED = 0xc0008001
	GNU_PROPERTY_X86_ISA_1_NEEDED     = 0xc0008002
	GNU_PROPERTY_X86_FEATURE_2_USED   = 0xc0010001
	GNU_PROPERTY_X86_ISA_1_USED       = 0xc0010002
)

// Properties are the GNU property notes of a file (PT_GNU_PROPERTY, or the
// NT_GNU_PROPERTY_TYPE_0 note of a PT_NOTE segment when there is no
// PT_GNU_PROPERTY). The x86 fields are zero when the property is absent.
type Properties struct {
	X86Feature1AND    uint32 // IBT (1), SHSTK (2)
	X86ISANeeded      uint32 // x86-64 baseline (1), v2 (2), v3 (4), v4 (8)
	X86ISAUsed        uint32
	X86Feature2Needed uint32
	X86Feature2Used   uint32
	Raw               []Property // every property, in file order
}

// Plan is the load plan of an ELF file.
type Plan struct {
	Type     elf.Type
	OSABI    elf.OSABI
	Entry    uint64
	Segments []Segment // PT_LOAD segments, in file (and address) order
	Span     Range     // page-aligned range covering every PT_LOAD segment
	TLS      *TLS      // nil without PT_TLS
	RELRO    *Range    // exact PT_GNU_RELRO p_vaddr/p_memsz; nil without one
	// StackProt is the protection PT_GNU_STACK asks for; HasGNUStack
	// reports whether there is a PT_GNU_STACK at all (without one, Linux
	// gives an executable stack).
	StackProt   Prot
	HasGNUStack bool
	Interp      string // PT_INTERP, without its NUL; "" without one
	Properties  Properties
	Dynamic     *Dynamic // nil without PT_DYNAMIC

	r    io.ReaderAt
	size int64
}

// SegmentData returns the Filesz bytes of segment i, read from the file.
func (p *Plan) SegmentData(i int) ([]byte, error) {
	if i < 0 || i >= len(p.Segments) {
		return nil, fmt.Errorf("elfload: segment %d out of range [0, %d)", i, len(p.Segments))
	}
	s := p.Segments[i]
	b := make([]byte, s.Filesz)
	if err := readFull(p.r, b, int64(s.Offset)); err != nil {
		return nil, fmt.Errorf("elfload: reading segment %d at offset %#x: %w", i, s.Offset, err)
	}
	return b, nil
}

// DynEntry is one raw entry of the dynamic section.
type DynEntry struct {
	Tag elf.DynTag
	Val uint64
}

// Dynamic is the validated dynamic information of a file.
type Dynamic struct {
	Entries []DynEntry // raw, in order, up to and excluding DT_NULL

	Needed     []string
	Soname     string
	Rpath      string // raw colon-separated list
	Runpath    string // raw colon-separated list
	HasRpath   bool
	HasRunpath bool

	Flags   elf.DynFlag
	Flags1  elf.DynFlag1
	TextRel bool // DT_TEXTREL or DF_TEXTREL
	BindNow bool // DT_BIND_NOW, DF_BIND_NOW or DF_1_NOW

	Init, Fini                         uint64 // 0 when absent
	InitArray, FiniArray, PreinitArray Range  // link-time address ranges; empty when absent
	PLTGOT                             uint64

	Symbols  SymbolTable
	GNUHash  *GNUHash
	SysVHash *SysVHash
	Versym   []uint16 // one per symbol; nil without DT_VERSYM
	Verdefs  []Verdef
	Verneeds []Verneed

	Rela, JmpRel RelocTable
	RelaCount    int      // DT_RELACOUNT
	RELR         []uint64 // decoded addresses that need a RELATIVE fix-up
}

// GNUHash is a DT_GNU_HASH table. Chains[i] belongs to symbol SymOffset+i.
type GNUHash struct {
	SymOffset, BloomShift uint32
	Bloom                 []uint64
	Buckets, Chains       []uint32
}

// SysVHash is a DT_HASH table; Chains has one entry per symbol.
type SysVHash struct {
	Buckets, Chains []uint32
}

// Verdef is one version definition (DT_VERDEF).
type Verdef struct {
	Index, Flags uint16
	Hash         uint32
	Name         string
	Parents      []string
}

// Verneed is the list of versions needed from one file (DT_VERNEED).
type Verneed struct {
	File string
	Aux  []Vernaux
}

// Vernaux is one needed version.
type Vernaux struct {
	Hash         uint32
	Flags, Index uint16
	Name         string
}

// Symbol is one dynamic symbol.
type Symbol struct {
	Name        string
	Value, Size uint64
	Info, Other uint8
	Section     elf.SectionIndex
}

// Bind returns the symbol's binding.
func (s Symbol) Bind() elf.SymBind { return elf.ST_BIND(s.Info) }

// Type returns the symbol's type.
func (s Symbol) Type() elf.SymType { return elf.ST_TYPE(s.Info) }

// Visibility returns the symbol's visibility.
func (s Symbol) Visibility() elf.SymVis { return elf.ST_VISIBILITY(s.Other) }

// SymbolTable is the validated dynamic symbol table. Index 0 is the null
// symbol. Names are substrings of the (single) string table copy, so At does
// not allocate.
type SymbolTable struct {
	raw    []byte // Len()*24 bytes of Elf64_Sym
	strtab string
}

const symSize = 24

// Len returns the number of symbols, including the null symbol.
func (t SymbolTable) Len() int { return len(t.raw) / symSize }

// At returns symbol i; it panics if i is not in [0, Len()).
func (t SymbolTable) At(i int) Symbol {
	b := t.raw[i*symSize : i*symSize+symSize]
	return Symbol{
		Name:    cstring(t.strtab, le.Uint32(b[0:])),
		Info:    b[4],
		Other:   b[5],
		Section: elf.SectionIndex(le.Uint16(b[6:])),
		Value:   le.Uint64(b[8:]),
		Size:    le.Uint64(b[16:]),
	}
}

// cstring returns the NUL-terminated string at off in strtab. Parse has
// checked off < len(strtab) and that strtab ends with NUL.
func cstring(strtab string, off uint32) string {
	s := strtab[off:]
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// Reloc is one RELA relocation.
type Reloc struct {
	Offset uint64
	Type   elf.R_X86_64
	Sym    uint32
	Addend int64
}

// RelocTable is a validated table of Elf64_Rela entries.
type RelocTable struct {
	raw []byte
}

const relaSize = 24

// Len returns the number of relocations.
func (t RelocTable) Len() int { return len(t.raw) / relaSize }

// At returns relocation i; it panics if i is not in [0, Len()).
func (t RelocTable) At(i int) Reloc {
	b := t.raw[i*relaSize : i*relaSize+relaSize]
	info := le.Uint64(b[8:])
	return Reloc{
		Offset: le.Uint64(b[0:]),
		Type:   elf.R_X86_64(uint32(info)),
		Sym:    uint32(info >> 32),
		Addend: int64(le.Uint64(b[16:])),
	}
}

// FormatError reports a malformed or unsupported ELF file: the file offset
// of the offending structure, a stable rule identifier (see the Rule
// constants) and a human-readable message.
type FormatError struct {
	Offset int64
	Rule   string
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("offset %#x: %s [%s]", e.Offset, e.Msg, e.Rule)
}
