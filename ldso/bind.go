package ldso

import (
	"debug/elf"
	"fmt"

	"halite/elfload"
)

// BindKind says how a relocation's symbol was resolved.
type BindKind uint8

// Binding kinds.
const (
	// BoundLookup: found by a lookup in the scope (what LD_DEBUG=bindings
	// reports).
	BoundLookup BindKind = iota
	// BoundLocal: the symbol is local to the referencing object (STB_LOCAL,
	// or a defined protected symbol), no lookup.
	BoundLocal
	// BoundWeakZero: a weak undefined reference with no definition; it
	// resolves to 0.
	BoundWeakZero
	// Unresolved: the loader would fail ("undefined symbol").
	Unresolved
)

var bindKindNames = [...]string{"lookup", "local", "weak-zero", "unresolved"}

func (k BindKind) String() string {
	if int(k) < len(bindKindNames) {
		return bindKindNames[k]
	}
	return "?"
}

// Binding is the resolution of one relocation's symbol.
type Binding struct {
	From  *Object
	Table string // "rela" (DT_RELA) or "plt" (DT_JMPREL)
	Reloc elfload.Reloc
	// Symbol is the referenced name; Version the requested version (nil
	// for an unversioned reference).
	Symbol  string
	Version *Version
	Weak    bool // the reference is STB_WEAK
	Kind    BindKind
	// Def is the definition (nil Object unless Kind is BoundLookup or
	// BoundLocal).
	Def Definition
	// Value is the symbol's value relative to the defining object's load
	// base, or absolute when Absolute (SHN_ABS, not rebased); 0 for
	// BoundWeakZero.
	Value    uint64
	Absolute bool
	// Protected is set when the reference is a protected definition of
	// the referencing object itself, which binds locally whatever comes
	// first in the scope (glibc's "protected symbol" binding).
	Protected bool
	// Reason explains an Unresolved binding.
	Reason string
}

// VersionName is the requested version's name or "".
func (b *Binding) VersionName() string {
	if b.Version == nil {
		return ""
	}
	return b.Version.Name
}

// Bind resolves the symbol of every relocation of every object in the
// global scope, in scope order, each table in file order (phase 3 of a
// load, without writing anything). Lookups use the global scope, as for
// every object loaded at start-up; STB_GNU_UNIQUE definitions are kept in
// one table for the whole namespace.
func (ns *Namespace) Bind() []Binding {
	return ns.BindObjects(ns.Scope, ns.Scope)
}

// BindObjects resolves the relocations of objs with lookups over scope.
// For objects loaded by Dlopen, scope is the global scope followed by the
// object's local scope (glibc's l_scope list); duplicates are harmless.
func (ns *Namespace) BindObjects(objs, scope []*Object) []Binding {
	var out []Binding
	if ns.unique == nil {
		ns.unique = map[string]Definition{}
	}
	unique := ns.unique
	for _, o := range objs {
		if o.Missing {
			continue
		}
		d := o.Dynamic()
		if d == nil {
			continue
		}
		for _, t := range []struct {
			name string
			tab  elfload.RelocTable
		}{{"rela", d.Rela}, {"plt", d.JmpRel}} {
			for i := 0; i < t.tab.Len(); i++ {
				r := t.tab.At(i)
				if r.Sym == 0 || r.Type == elf.R_X86_64_NONE {
					continue
				}
				out = append(out, ns.bindOne(o, t.name, r, scope, unique))
			}
		}
	}
	return out
}

// BindSymbol resolves a reference to symbol index sym of o as a relocation
// of type typ would (exported for the sandbox loader and for tests).
func (ns *Namespace) BindSymbol(o *Object, sym uint32, typ elf.R_X86_64) Binding {
	return ns.bindOne(o, "", elfload.Reloc{Sym: sym, Type: typ}, ns.Scope, map[string]Definition{})
}

func (ns *Namespace) bindOne(o *Object, table string, r elfload.Reloc, scope []*Object, unique map[string]Definition) Binding {
	d := o.Plan.Dynamic
	b := Binding{From: o, Table: table, Reloc: r}
	if int(r.Sym) >= d.Symbols.Len() {
		b.Kind, b.Reason = Unresolved, fmt.Sprintf("symbol index %d outside the symbol table", r.Sym)
		return b
	}
	ref := d.Symbols.At(int(r.Sym))
	b.Symbol, b.Weak = ref.Name, ref.Bind() == elf.STB_WEAK
	self := Definition{Object: o, Index: int(r.Sym), Symbol: ref}
	if ref.Bind() == elf.STB_LOCAL {
		b.Kind, b.Def = BoundLocal, self
		b.setValue()
		return b
	}
	if d.Versym != nil && int(r.Sym) < len(d.Versym) {
		vt := o.versionTable()
		if ndx := int(d.Versym[r.Sym] & 0x7fff); ndx < len(vt) && vt[ndx].Hash != 0 {
			v := vt[ndx]
			b.Version = &v
		}
	}
	class := classOf(r.Type)
	var skip *Object
	if class == ClassCopy {
		skip = o
	}
	def, ok := Lookup(scope, ref.Name, b.Version, class, skip)
	if ok && def.Symbol.Bind() == stbGNUUnique && unique != nil {
		if u, seen := unique[ref.Name]; seen {
			def = u
		} else {
			unique[ref.Name] = def
		}
	}
	// A protected definition in the referencing object binds locally
	// (glibc still looks it up, and reports the binding as "protected").
	if ref.Visibility() == elf.STV_PROTECTED && ref.Section != elf.SHN_UNDEF {
		b.Protected = true
		if !ok || def.Object != o {
			def, ok = self, true
		}
	}
	switch {
	case ok:
		b.Kind, b.Def = BoundLookup, def
		b.setValue()
	case b.Weak:
		b.Kind = BoundWeakZero
	default:
		b.Kind = Unresolved
		b.Reason = "undefined symbol: " + ref.Name
		if b.Version != nil {
			b.Reason += ", version " + b.Version.Name
		}
	}
	return b
}

func (b *Binding) setValue() {
	b.Value = b.Def.Symbol.Value
	b.Absolute = b.Def.Symbol.Section == elf.SHN_ABS
}

// VersionError is a required symbol version that the object named in the
// VERNEED entry does not define.
type VersionError struct {
	Object  *Object // the object requiring the version
	File    string  // the needed file's name (vn_file)
	Version string
	Weak    bool // VER_FLG_WEAK: glibc only warns
}

func (e *VersionError) Error() string {
	if e.Weak {
		return fmt.Sprintf("%s: weak version `%s' not found (required by %s)", e.File, e.Version, e.Object.Path)
	}
	return fmt.Sprintf("%s: version `%s' not found (required by %s)", e.File, e.Version, e.Object.Path)
}

// CheckVersions checks every VERNEED entry of every object in the scope
// against the VERDEF entries of the object it names (glibc's
// _dl_check_map_versions). A needed object that was not found, or that has
// no version definitions at all, is not an error (as in glibc).
func (ns *Namespace) CheckVersions() []*VersionError {
	return ns.CheckVersionsOf(ns.Scope)
}

// CheckVersionsOf checks the VERNEED entries of objs (for objects loaded
// by Dlopen).
func (ns *Namespace) CheckVersionsOf(objs []*Object) []*VersionError {
	var errs []*VersionError
	for _, o := range objs {
		d := o.Dynamic()
		if d == nil {
			continue
		}
		for _, vn := range d.Verneeds {
			needed := ns.findNeeded(vn.File)
			if needed == nil || needed.Missing || len(needed.Dynamic().Verdefs) == 0 {
				continue
			}
			for _, a := range vn.Aux {
				found := false
				for _, vd := range needed.Dynamic().Verdefs {
					if vd.Hash == a.Hash && vd.Name == a.Name {
						found = true
						break
					}
				}
				if !found {
					errs = append(errs, &VersionError{Object: o, File: needed.Path, Version: a.Name, Weak: a.Flags&elfVerFlgWeak != 0})
				}
			}
		}
	}
	return errs
}

func (ns *Namespace) findNeeded(name string) *Object {
	for _, o := range ns.Objects {
		if !o.Missing && (o.matchesName(name) || o.Soname == name) {
			return o
		}
	}
	return nil
}
