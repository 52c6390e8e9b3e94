package ldso

import (
	"debug/elf"

	"halite/elfload"
)

// Version is a symbol version as the loader matches it: glibc's
// r_found_version.
type Version struct {
	Name   string
	Hash   uint32
	Hidden bool   // a hidden reference (vna_other bit 15): only an exact match
	File   string // for a needed version, the DT_NEEDED name providing it
}

// versionTable returns o's versions indexed by version index (glibc's
// l_versions): VERDEF entries except the base version, and VERNEED
// entries; unused indexes have a zero hash (no version).
func (o *Object) versionTable() []Version {
	if o.versions != nil || o.Plan == nil || o.Plan.Dynamic == nil {
		return o.versions
	}
	d := o.Plan.Dynamic
	max := 1
	for _, v := range d.Verdefs {
		max = maxInt(max, int(v.Index&0x7fff))
	}
	for _, n := range d.Verneeds {
		for _, a := range n.Aux {
			max = maxInt(max, int(a.Index&0x7fff))
		}
	}
	t := make([]Version, max+1)
	for _, v := range d.Verdefs {
		if v.Flags&elfVerFlgBase == 0 {
			t[v.Index&0x7fff] = Version{Name: v.Name, Hash: v.Hash}
		}
	}
	for _, n := range d.Verneeds {
		for _, a := range n.Aux {
			t[a.Index&0x7fff] = Version{Name: a.Name, Hash: a.Hash, Hidden: a.Index&0x8000 != 0, File: n.File}
		}
	}
	o.versions = t
	return t
}

const (
	elfVerFlgBase = 1
	elfVerFlgWeak = 2
)

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// RelocClass is glibc's ELF_RTYPE_CLASS of a relocation: it changes which
// definitions a lookup may return.
type RelocClass uint8

// Relocation classes.
const (
	ClassNormal RelocClass = 0
	// ClassPLT: JUMP_SLOT and the TLS relocations; undefined symbols
	// with a value (an executable's PLT entries) do not count as
	// definitions.
	ClassPLT RelocClass = 1
	// ClassCopy: R_X86_64_COPY; the executable itself is skipped.
	ClassCopy RelocClass = 2
)

// classOf is elf_machine_type_class for x86-64.
func classOf(t elf.R_X86_64) RelocClass {
	switch t {
	case elf.R_X86_64_JMP_SLOT, elf.R_X86_64_DTPMOD64, elf.R_X86_64_DTPOFF64, elf.R_X86_64_TPOFF64, elf.R_X86_64_GOTPC32_TLSDESC, rX8664TLSDesc:
		return ClassPLT
	case elf.R_X86_64_COPY:
		return ClassCopy
	}
	return ClassNormal
}

const (
	rX8664TLSDesc elf.R_X86_64 = 36
	stbGNUUnique  elf.SymBind  = 10
)

// Definition is the result of a symbol lookup.
type Definition struct {
	Object *Object
	Index  int // index in Object's dynamic symbol table
	Symbol elfload.Symbol
}

// symbolMatches is glibc's check_match (elf/dl-lookup.c) for symbol i of o;
// it returns 1 for a match, 0 for none, 2 for "a non-hidden versioned
// definition seen while looking for an unversioned one".
func (o *Object) symbolMatches(i int, name string, ver *Version, class RelocClass) int {
	d := o.Plan.Dynamic
	s := d.Symbols.At(i)
	st := s.Type()
	if s.Value == 0 && s.Section != elf.SHN_ABS && st != elf.STT_TLS {
		return 0
	}
	if class&ClassPLT != 0 && s.Section == elf.SHN_UNDEF {
		return 0
	}
	switch st {
	case elf.STT_NOTYPE, elf.STT_OBJECT, elf.STT_FUNC, elf.STT_COMMON, elf.STT_TLS, elf.STT_GNU_IFUNC:
	default:
		return 0
	}
	if s.Name != name {
		return 0
	}
	if ver != nil {
		if d.Versym != nil && i < len(d.Versym) {
			vs := d.Versym[i]
			ndx := int(vs & 0x7fff)
			vt := o.versionTable()
			var def Version
			if ndx < len(vt) {
				def = vt[ndx]
			}
			if (def.Hash != ver.Hash || def.Name != ver.Name) && (ver.Hidden || def.Hash != 0 || vs&0x8000 != 0) {
				return 0
			}
		}
	} else if d.Versym != nil && i < len(d.Versym) {
		vs := d.Versym[i]
		if vs&0x7fff >= 3 {
			if vs&0x8000 == 0 {
				return 2
			}
			return 0
		}
	}
	return 1
}

// findIn looks name up in one object (glibc's do_lookup_x for one map):
// through DT_GNU_HASH (bloom filter, then the bucket's chain), else
// DT_HASH, else a linear scan. It returns the symbol index or -1.
func (o *Object) findIn(name string, gh, sh uint32, ver *Version, class RelocClass) int {
	d := o.Dynamic()
	if d == nil {
		return -1
	}
	versioned, nVersioned := -1, 0
	consider := func(i int) bool {
		switch o.symbolMatches(i, name, ver, class) {
		case 1:
			return true
		case 2:
			if nVersioned == 0 {
				versioned = i
			}
			nVersioned++
		}
		return false
	}
	n := d.Symbols.Len()
	switch {
	case d.GNUHash != nil:
		g := d.GNUHash
		if len(g.Bloom) == 0 || len(g.Buckets) == 0 {
			return -1
		}
		word := g.Bloom[(gh/64)%uint32(len(g.Bloom))]
		mask := uint64(1)<<(gh%64) | uint64(1)<<((gh>>g.BloomShift)%64)
		if word&mask != mask {
			return -1
		}
		i := int(g.Buckets[gh%uint32(len(g.Buckets))])
		if i == 0 {
			break
		}
		for ; i >= int(g.SymOffset) && i-int(g.SymOffset) < len(g.Chains) && i < n; i++ {
			h := g.Chains[i-int(g.SymOffset)]
			if h|1 == gh|1 && consider(i) {
				return i
			}
			if h&1 != 0 {
				break
			}
		}
	case d.SysVHash != nil:
		h := d.SysVHash
		if len(h.Buckets) == 0 {
			return -1
		}
		// Chains may form a cycle in a hostile file: at most n steps.
		for i, steps := int(h.Buckets[sh%uint32(len(h.Buckets))]), 0; i != 0 && i < n && i < len(h.Chains) && steps <= n; i, steps = int(h.Chains[i]), steps+1 {
			if consider(i) {
				return i
			}
		}
	default:
		for i := 1; i < n; i++ {
			if consider(i) {
				return i
			}
		}
	}
	if nVersioned == 1 {
		return versioned
	}
	return -1
}

// Lookup searches scope in order for a definition of name (glibc's
// _dl_lookup_symbol_x over one scope): the first object whose matching
// symbol is GLOBAL, WEAK (glibc's default, LD_DYNAMIC_WEAK unset, takes a
// weak definition like a global one) or GNU_UNIQUE wins. skip is passed
// over (the executable, for a copy relocation).
func Lookup(scope []*Object, name string, ver *Version, class RelocClass, skip *Object) (Definition, bool) {
	gh, sh := GNUHash(name), SysVHash(name)
	for _, o := range scope {
		if o == skip || o.Missing || o.Dynamic() == nil {
			continue
		}
		if class&ClassCopy != 0 && o.isMain {
			continue
		}
		i := o.findIn(name, gh, sh, ver, class)
		if i < 0 {
			continue
		}
		s := o.Plan.Dynamic.Symbols.At(i)
		switch s.Bind() {
		case elf.STB_GLOBAL, elf.STB_WEAK, stbGNUUnique:
			return Definition{Object: o, Index: i, Symbol: s}, true
		}
		// A local symbol in the hash table does not define anything:
		// glibc goes on with the next object.
	}
	return Definition{}, false
}
