package ldso

import (
	"debug/elf"
	"errors"
	"fmt"

	"halite/elfload"
	"halite/pthread"
	"halite/sandbox"
)

const pageSize = 4096

// maxSpan bounds the address span of one object (the sandbox has 4 GiB).
const maxSpan = 1 << 31

// pageProt is the final protection of one page of an object's span.
type pageProt struct {
	prot  sandbox.Prot
	code  bool
	used  bool
	relro bool
}

// pageTable computes the protection of every page of o's span: the union
// of the segments that cover it. A page shared by an executable segment
// and any other segment is refused (code pages come only from MapCode and
// never hold data).
func pageTable(o *Object) ([]pageProt, error) {
	p := o.Plan
	span := p.Span
	if span.End <= span.Start || span.End-span.Start > maxSpan {
		return nil, fmt.Errorf("%s: load span [%#x, %#x) is empty or larger than %d bytes", o.Path, span.Start, span.End, maxSpan)
	}
	pages := make([]pageProt, (span.End-span.Start)/pageSize)
	for i, seg := range p.Segments {
		if seg.Memsz == 0 {
			continue
		}
		lo := (seg.Vaddr&^(pageSize-1) - span.Start) / pageSize
		hi := ((seg.Vaddr+seg.Memsz+pageSize-1)&^(pageSize-1) - span.Start) / pageSize
		exec := seg.Prot&elfload.ProtExec != 0
		var prot sandbox.Prot
		if seg.Prot&elfload.ProtRead != 0 {
			prot |= sandbox.ProtRead
		}
		if seg.Prot&elfload.ProtWrite != 0 {
			prot |= sandbox.ProtWrite
		}
		if exec && prot&sandbox.ProtWrite != 0 {
			return nil, fmt.Errorf("%s: segment %d (vaddr %#x) is writable and executable, which the sandbox never allows", o.Path, i, seg.Vaddr)
		}
		for pg := lo; pg < hi && pg < uint64(len(pages)); pg++ {
			pp := &pages[pg]
			if pp.used && pp.code != exec {
				return nil, fmt.Errorf("%s: segment %d (vaddr %#x, %v) shares page %#x with a segment of other protections; code and data must not share a page in the sandbox (link with -z separate-code)",
					o.Path, i, seg.Vaddr, seg.Prot, span.Start+pg*pageSize)
			}
			pp.used, pp.code = true, exec
			pp.prot |= prot
		}
	}
	if r := p.RELRO; r != nil && r.End > r.Start {
		// glibc's _dl_protect_relro: whole pages from the page of the
		// start to the page below the end.
		lo := r.Start &^ (pageSize - 1)
		hi := r.End &^ (pageSize - 1)
		for a := lo; a < hi; a += pageSize {
			if a >= span.Start && a < span.End {
				pages[(a-span.Start)/pageSize].relro = true
			}
		}
	}
	return pages, nil
}

// mapModule reserves the object's span in the sandbox and places every
// PT_LOAD: data pages read+write (file bytes written, the rest zero, so
// bss is zeroed), executable segments only through MapCode
// (validate-and-map). Protections are set by protect after relocation.
// On error nothing stays mapped.
func (l *Loader) mapModule(m *Module) error {
	// A span Alloc returns may hold code unmapped while threads were
	// alive (sandbox.ErrRetired: no new code there until they are gone).
	// Such a span is kept reserved, inaccessible, and another is tried.
	for try := 0; ; try++ {
		err := l.mapModuleOnce(m)
		if err == nil || !errors.Is(err, sandbox.ErrRetired) || try == 8 {
			return err
		}
		if m.retiredStart != 0 {
			l.s.Map(m.retiredStart, m.retiredSize, sandbox.ProtNone)
			m.retiredStart, m.retiredSize = 0, 0
		}
	}
}

func (l *Loader) mapModuleOnce(m *Module) error {
	o := m.Object
	p := o.Plan
	if _, err := pageTable(o); err != nil {
		return err
	}
	size := p.Span.End - p.Span.Start
	align := uint64(pageSize)
	for _, seg := range p.Segments {
		if seg.Align > align && seg.Align&(seg.Align-1) == 0 && seg.Align <= 1<<21 {
			align = seg.Align
		}
	}
	start, err := l.s.Alloc(size, align, sandbox.ProtRead|sandbox.ProtWrite)
	if err != nil {
		return fmt.Errorf("%s: cannot map %#x bytes: %w", o.Path, size, err)
	}
	m.Start, m.End = start, start+size
	m.Base = start - p.Span.Start
	l.tracef("file=%s [0];  base: %#x  size: %#x", o.Path, m.Base, size)
	for i, seg := range p.Segments {
		if seg.Prot&elfload.ProtExec != 0 || seg.Filesz == 0 {
			continue
		}
		data, err := p.SegmentData(i)
		if err != nil {
			l.unmap(m)
			return fmt.Errorf("%s: segment %d: %w", o.Path, i, err)
		}
		if err := l.s.Write(m.Base+seg.Vaddr, data); err != nil {
			l.unmap(m)
			return fmt.Errorf("%s: segment %d: %w", o.Path, i, err)
		}
	}
	for i, seg := range p.Segments {
		if seg.Prot&elfload.ProtExec == 0 || seg.Memsz == 0 {
			continue
		}
		data, err := p.SegmentData(i)
		if err != nil {
			l.unmap(m)
			return fmt.Errorf("%s: segment %d: %w", o.Path, i, err)
		}
		at := m.Base + seg.Vaddr
		at32 := at &^ 31
		// The segment goes straight into the sandbox's private copy (no
		// buffer of our own): hlt before it, as MapCode pads, then the
		// file bytes, then zeros up to p_memsz.
		lead := int(at - at32)
		fill := func(dst []byte) error {
			for j := range dst[:lead] {
				dst[j] = 0xf4
			}
			n := copy(dst[lead:], data)
			clear(dst[lead+n:])
			return nil
		}
		if err := l.s.MapCodeFill(at32, lead+int(seg.Memsz), fill); err != nil {
			m.retiredStart, m.retiredSize = m.Start, m.End-m.Start
			l.unmap(m)
			return fmt.Errorf("%s: code segment %d (vaddr %#x, %d bytes) refused: %w", o.Path, i, seg.Vaddr, seg.Memsz, err)
		}
	}
	return nil
}

// protect gives every data page of m its final protection (RELRO pages
// and read-only segments read-only, gaps inaccessible); code pages keep
// MapCode's read+execute.
func (l *Loader) protect(m *Module) error {
	pages, err := pageTable(m.Object)
	if err != nil {
		return err
	}
	for i := 0; i < len(pages); {
		if pages[i].code {
			i++
			continue
		}
		want := finalProt(pages[i])
		j := i + 1
		for j < len(pages) && !pages[j].code && finalProt(pages[j]) == want {
			j++
		}
		if want != sandbox.ProtRead|sandbox.ProtWrite {
			if err := l.s.Protect(m.Start+uint64(i)*pageSize, uint64(j-i)*pageSize, want); err != nil {
				return fmt.Errorf("%s: protecting [%#x, %#x) %v: %w", m.Object.Path, m.Start+uint64(i)*pageSize, m.Start+uint64(j)*pageSize, want, err)
			}
		}
		i = j
	}
	return nil
}

func finalProt(p pageProt) sandbox.Prot {
	if !p.used {
		return sandbox.ProtNone
	}
	if p.relro {
		return p.prot &^ sandbox.ProtWrite
	}
	return p.prot
}

// StaticTLSError is glibc's "cannot allocate memory in static TLS block":
// the TLS of the object at Path is used with the initial-exec model (or the
// object is flagged DF_STATIC_TLS) and the static TLS surplus has no room
// for it. Err, when set, is pthread's account of the space in use.
type StaticTLSError struct {
	Path string
	Err  error
}

func (e *StaticTLSError) Error() string {
	return e.Path + ": cannot allocate memory in static TLS block"
}

// Unwrap returns pthread's error, if any.
func (e *StaticTLSError) Unwrap() error { return e.Err }

// registerTLS gives every new module with a PT_TLS segment a module id;
// a module flagged DF_STATIC_TLS (initial-exec TLS) gets a static block in
// the surplus, as glibc does for a dlopened module.
//
// A module that the group's initial-exec references (TPOFF64 or TLSDESC
// relocations) point at gets a static block too while the surplus lasts
// (glibc allocates one when it processes such a relocation); without room
// it gets a dynamic one and the relocation then fails as glibc's does.
// Other modules keep dynamic blocks, so the surplus stays for those that
// need it.
func (l *Loader) registerTLS(ms []*Module) error {
	ie := ieTargets(ms)
	for _, m := range ms {
		t := m.Object.Plan.TLS
		if t == nil {
			continue
		}
		static := m.Object.Dynamic().Flags&elf.DF_STATIC_TLS != 0
		tmpl := pthread.Template{Init: t.Init, Memsz: t.Memsz, Align: t.Align, Vaddr: t.Vaddr}
		mod, err := l.sys.TLS().Load(m.Object.Path, tmpl, static || ie[m])
		if _, ok := err.(*pthread.StaticTLSError); ok && !static {
			mod, err = l.sys.TLS().Load(m.Object.Path, tmpl, false)
		}
		if err != nil {
			if e, ok := err.(*pthread.StaticTLSError); ok {
				l.tracef("%s: %v", m.Object.Path, e)
				return &StaticTLSError{Path: m.Object.Path, Err: e}
			}
			return fmt.Errorf("%s: %w", m.Object.Path, err)
		}
		m.TLS = mod
		l.tracef("file=%s [0];  TLS module id %d%s", m.Object.Path, mod.ID(), map[bool]string{true: " (static)", false: ""}[static])
	}
	return nil
}

// ieTargets returns the modules of a new group whose TLS an initial-exec
// or descriptor relocation of the group refers to: the relocating module
// itself for a relocation without a symbol or against its own defined
// symbol, and every module of the group defining a TLS symbol of that name
// otherwise (the binding is not known yet; a same-named definition in two
// modules of one group is rare and costs only surplus).
func ieTargets(ms []*Module) map[*Module]bool {
	out := map[*Module]bool{}
	names := map[string]bool{}
	for _, m := range ms {
		d := m.Object.Dynamic()
		if d == nil {
			continue
		}
		for _, t := range []elfload.RelocTable{d.Rela, d.JmpRel} {
			for i := 0; i < t.Len(); i++ {
				r := t.At(i)
				if r.Type != elf.R_X86_64_TPOFF64 && r.Type != rX8664TLSDesc {
					continue
				}
				if r.Sym == 0 || int(r.Sym) >= d.Symbols.Len() {
					out[m] = true
					continue
				}
				s := d.Symbols.At(int(r.Sym))
				if s.Section != elf.SHN_UNDEF && s.Bind() == elf.STB_LOCAL {
					out[m] = true
					continue
				}
				names[s.Name] = true
			}
		}
	}
	if len(names) == 0 {
		return out
	}
	for _, m := range ms {
		d := m.Object.Dynamic()
		if d == nil || m.Object.Plan.TLS == nil {
			continue
		}
		for i := 1; i < d.Symbols.Len(); i++ {
			if s := d.Symbols.At(i); s.Section != elf.SHN_UNDEF && s.Type() == elf.STT_TLS && names[s.Name] {
				out[m] = true
				break
			}
		}
	}
	return out
}
