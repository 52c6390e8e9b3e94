package ldso

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"math"

	"halite/elfload"
)

// ifuncFix is a relocation whose value comes from an IFUNC resolver run
// inside the sandbox once every new object is relocated.
type ifuncFix struct {
	m        *Module
	off      uint64 // vaddr of the word to write
	resolver uint64
	addend   int64
	what     string
}

// relocate applies every relocation of the new modules ms with lookups
// over scope: RELR and RELATIVE, then symbol relocations (64, PC32,
// GLOB_DAT, JUMP_SLOT, 32, 32S, PC64, SIZE32/64, the TLS ones), objects
// in reverse load order (dependencies first) as glibc does. IRELATIVE and
// references to IFUNC symbols are resolved last, dependencies first, by
// running the resolvers inside the sandbox.
func (l *Loader) relocate(ms []*Module, scope []*Object) error {
	var fixes []ifuncFix
	for i := len(ms) - 1; i >= 0; i-- {
		if err := l.relocModule(ms[i], scope, &fixes); err != nil {
			return err
		}
	}
	for _, f := range fixes {
		v, err := l.call(f.what, f.resolver)
		if err != nil {
			return fmt.Errorf("%s: %w", f.m.Object.Path, err)
		}
		if err := l.put64(f.m, f.off, v+uint64(f.addend)); err != nil {
			return err
		}
	}
	return nil
}

// put64 writes a relocated word at vaddr off of m, inside its span.
func (l *Loader) put64(m *Module, off, v uint64) error {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	return l.put(m, off, b[:])
}

func (l *Loader) put(m *Module, off uint64, b []byte) error {
	span := m.Object.Plan.Span
	if off < span.Start || off > span.End || span.End-off < uint64(len(b)) {
		return fmt.Errorf("%s: relocation at %#x outside the object's span [%#x, %#x)", m.Object.Path, off, span.Start, span.End)
	}
	if err := l.s.Write(m.Base+off, b); err != nil {
		return fmt.Errorf("%s: relocation at %#x: %w", m.Object.Path, off, err)
	}
	return nil
}

func (l *Loader) relocModule(m *Module, scope []*Object, fixes *[]ifuncFix) error {
	o := m.Object
	d := o.Dynamic()
	for _, a := range d.RELR {
		var b [8]byte
		span := o.Plan.Span
		if a < span.Start || a > span.End-8 {
			return fmt.Errorf("%s: RELR address %#x outside the object's span", o.Path, a)
		}
		if err := l.s.Read(m.Base+a, b[:]); err != nil {
			return fmt.Errorf("%s: RELR at %#x: %w", o.Path, a, err)
		}
		if err := l.put64(m, a, binary.LittleEndian.Uint64(b[:])+m.Base); err != nil {
			return err
		}
	}
	for _, t := range []struct {
		name string
		tab  elfload.RelocTable
	}{{"rela", d.Rela}, {"plt", d.JmpRel}} {
		for i := 0; i < t.tab.Len(); i++ {
			if err := l.relocOne(m, t.name, t.tab.At(i), scope, fixes); err != nil {
				return err
			}
		}
	}
	return nil
}

// symRef is a resolved relocation symbol.
type symRef struct {
	mod   *Module // defining module (nil: the runtime object, or weak zero)
	addr  uint64  // S
	value uint64  // st_value (TLS offset for TLS symbols)
	size  uint64
	ifunc bool
	name  string
}

func (l *Loader) resolve(m *Module, table string, r elfload.Reloc, scope []*Object) (symRef, error) {
	o := m.Object
	if r.Sym == 0 {
		return symRef{mod: m}, nil
	}
	b := l.ns.bindOne(o, table, r, scope, l.uniqueTable())
	switch b.Kind {
	case BoundWeakZero:
		l.tracef("binding file %s [0] to (none): weak undefined symbol `%s' = 0", o.Path, b.Symbol)
		return symRef{name: b.Symbol}, nil
	case Unresolved:
		if a, rt, ok := l.runtimeSymbol(b.Symbol); ok {
			l.tracef("binding file %s [0] to %s [0]: normal symbol `%s'", o.Path, rt, b.Symbol)
			return symRef{addr: a, name: b.Symbol}, nil
		}
		return symRef{}, fmt.Errorf("%s: %s", o.Path, b.Reason)
	}
	dm := l.mods[b.Def.Object]
	if dm == nil {
		return symRef{}, fmt.Errorf("%s: symbol %s bound to %s, which is not loaded", o.Path, b.Symbol, b.Def.Object.Path)
	}
	ref := symRef{mod: dm, value: b.Value, size: b.Def.Symbol.Size, name: b.Symbol,
		ifunc: b.Def.Symbol.Type() == elf.STT_GNU_IFUNC}
	ref.addr = b.Value
	if !b.Absolute {
		ref.addr += dm.Base
	}
	if dm != m {
		if !containsModule(m.deps, dm) {
			m.deps = append(m.deps, dm) // a relocation dependency keeps its target
		}
		if l.cfg.Trace != nil && b.Kind == BoundLookup {
			v := ""
			if b.Version != nil {
				v = " [" + b.Version.Name + "]"
			}
			l.tracef("binding file %s [0] to %s [0]: normal symbol `%s'%s", o.Path, dm.Object.Path, b.Symbol, v)
		}
	}
	if b.Def.Symbol.Bind() == stbGNUUnique {
		dm.nodelete = true
	}
	return ref, nil
}

// uniqueTable is the namespace's table of STB_GNU_UNIQUE definitions
// (glibc's _ns_unique_sym_table), created on first use.
func (l *Loader) uniqueTable() map[string]Definition {
	if l.ns.unique == nil {
		l.ns.unique = map[string]Definition{}
	}
	return l.ns.unique
}

// uniqueDef applies the unique-symbol table to a dlsym result: the first
// definition of a STB_GNU_UNIQUE name wins process-wide, and the object
// holding it becomes NODELETE (glibc's do_lookup_unique marks the
// definer when it enters the table).
func (l *Loader) uniqueDef(def Definition) Definition {
	if def.Symbol.Bind() != stbGNUUnique {
		return def
	}
	t := l.uniqueTable()
	if u, seen := t[def.Symbol.Name]; seen && l.mods[u.Object] != nil {
		def = u
	} else {
		t[def.Symbol.Name] = def
	}
	if m := l.mods[def.Object]; m != nil {
		m.nodelete = true
	}
	return def
}

func (l *Loader) relocOne(m *Module, table string, r elfload.Reloc, scope []*Object, fixes *[]ifuncFix) error {
	o := m.Object
	A := r.Addend
	P := m.Base + r.Offset
	switch r.Type {
	case elf.R_X86_64_NONE:
		return nil
	case elf.R_X86_64_RELATIVE:
		return l.put64(m, r.Offset, m.Base+uint64(A))
	case elf.R_X86_64_IRELATIVE:
		*fixes = append(*fixes, ifuncFix{m: m, off: r.Offset, resolver: m.Base + uint64(A), what: "IRELATIVE resolver of " + o.Path})
		return nil
	case elf.R_X86_64_COPY:
		return fmt.Errorf("%s: R_X86_64_COPY relocation in a shared object", o.Path)
	}
	ref, err := l.resolve(m, table, r, scope)
	if err != nil {
		return err
	}
	S := ref.addr
	switch r.Type {
	case elf.R_X86_64_64, elf.R_X86_64_GLOB_DAT, elf.R_X86_64_JMP_SLOT:
		if ref.ifunc {
			*fixes = append(*fixes, ifuncFix{m: m, off: r.Offset, resolver: S, addend: A, what: "IFUNC resolver of " + ref.name})
			return nil
		}
		return l.put64(m, r.Offset, S+uint64(A))
	case elf.R_X86_64_PC64:
		return l.put64(m, r.Offset, S+uint64(A)-P)
	case elf.R_X86_64_PC32, elf.R_X86_64_32, elf.R_X86_64_32S:
		if ref.ifunc {
			return fmt.Errorf("%s: %v relocation against IFUNC symbol %s", o.Path, r.Type, ref.name)
		}
		v := S + uint64(A)
		if r.Type == elf.R_X86_64_PC32 {
			v -= P
		}
		ok := true
		switch r.Type {
		case elf.R_X86_64_32:
			ok = v <= math.MaxUint32
		default:
			ok = int64(v) >= math.MinInt32 && int64(v) <= math.MaxInt32
		}
		if !ok {
			return fmt.Errorf("%s: relocation %v at %#x for %s overflows 32 bits", o.Path, r.Type, r.Offset, ref.name)
		}
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(v))
		return l.put(m, r.Offset, b[:])
	case elf.R_X86_64_SIZE64:
		return l.put64(m, r.Offset, ref.size+uint64(A))
	case elf.R_X86_64_SIZE32:
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(ref.size+uint64(A)))
		return l.put(m, r.Offset, b[:])
	case elf.R_X86_64_DTPMOD64:
		if ref.mod == nil {
			return l.put64(m, r.Offset, 0)
		}
		if ref.mod.TLS == nil {
			return fmt.Errorf("%s: DTPMOD64 for %s: %s has no TLS segment", o.Path, ref.name, ref.mod.Object.Path)
		}
		return l.put64(m, r.Offset, uint64(ref.mod.TLS.ID()))
	case elf.R_X86_64_DTPOFF64:
		return l.put64(m, r.Offset, ref.value+uint64(A))
	case elf.R_X86_64_TPOFF64, rX8664TLSDesc:
		if ref.mod == nil {
			return l.put64(m, r.Offset, 0)
		}
		if ref.mod.TLS == nil {
			return fmt.Errorf("%s: %v for %s: %s has no TLS segment", o.Path, r.Type, ref.name, ref.mod.Object.Path)
		}
		tpoff, ok := ref.mod.TLS.TPOffset()
		if !ok {
			l.tracef("%s: initial-exec reference to the TLS of %s, which has no static block", o.Path, ref.mod.Object.Path)
			return &StaticTLSError{Path: ref.mod.Object.Path}
		}
		v := uint64(tpoff) + ref.value + uint64(A)
		if r.Type == elf.R_X86_64_TPOFF64 {
			return l.put64(m, r.Offset, v)
		}
		// TLSDESC for a static block: {_dl_tlsdesc_return, offset}.
		res, ok := l.sys.Symbol("_dl_tlsdesc_return")
		if !ok {
			return fmt.Errorf("%s: TLSDESC: the runtime object has no _dl_tlsdesc_return", o.Path)
		}
		var b [16]byte
		binary.LittleEndian.PutUint64(b[:], res)
		binary.LittleEndian.PutUint64(b[8:], v)
		return l.put(m, r.Offset, b[:])
	}
	return fmt.Errorf("%s: unsupported relocation type %v at %#x", o.Path, r.Type, r.Offset)
}
