package elfload

import (
	"debug/elf"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// systemELFRoots are the directories the differential test walks.
var systemELFRoots = []string{
	"/usr/lib/x86_64-linux-gnu",
	"/usr/lib/python3.11/lib-dynload",
	"/usr/bin",
}

// systemELFFiles returns every regular ELF64 x86-64 file under the roots
// (symbolic links are not followed; their targets are listed themselves).
func systemELFFiles(t testing.TB) []string {
	var files []string
	for _, root := range systemELFRoots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			f, err := os.Open(path)
			if err != nil {
				return nil // unreadable: not ours to judge
			}
			defer f.Close()
			var id [4]byte
			if _, err := f.ReadAt(id[:], 0); err != nil || string(id[:]) != elf.ELFMAG {
				return nil
			}
			files = append(files, path)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// TestDifferentialSystemFiles parses every ELF file of the system
// directories with Parse and with debug/elf (which reads section headers)
// and compares what both can see.
//
// Legitimate disagreements, handled below:
//   - ET_REL objects (crt1.o & co.) are not loadable: Parse must reject them
//     with RuleBadType; debug/elf reads them happily.
//   - debug/elf counts symbols from the .dynsym section size; Parse counts
//     them from the hash tables, as a loader does. With only DT_GNU_HASH
//     the count ends at the last hashed symbol, so a .dynsym whose tail is
//     unhashed (never the case with GNU ld or lld) would be shorter for us.
//     We require equality and report any file where that fails.
func TestDifferentialSystemFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("walks system directories")
	}
	files := systemELFFiles(t)
	if len(files) < 100 {
		t.Fatalf("only %d ELF files found under %v: not a Debian system?", len(files), systemELFRoots)
	}
	var checked, rel int
	for _, path := range files {
		if diffOne(t, path) {
			rel++
		}
		checked++
	}
	t.Logf("checked %d ELF files (%d ET_REL rejected as expected): %d dynamic symbols, %d relocations compared", checked, rel, diffStats.syms, diffStats.relocs)
}

// diffOne compares one file and reports whether it was an ET_REL object.
func diffOne(t *testing.T, path string) (isRel bool) {
	t.Helper()
	ef, err := elf.Open(path)
	if err != nil {
		t.Errorf("%s: debug/elf: %v", path, err)
		return false
	}
	defer ef.Close()
	f, err := Open(path)
	if ef.Class != elf.ELFCLASS64 || ef.Machine != elf.EM_X86_64 || (ef.Type != elf.ET_DYN && ef.Type != elf.ET_EXEC) {
		var fe *FormatError
		if err == nil || !errors.As(err, &fe) {
			t.Errorf("%s: %v %v %v accepted, want a FormatError", path, ef.Class, ef.Machine, ef.Type)
		} else if ef.Type == elf.ET_REL && fe.Rule != RuleBadType {
			t.Errorf("%s: ET_REL rejected with %v, want rule %s", path, err, RuleBadType)
		}
		if err == nil {
			f.Close()
		}
		return ef.Type == elf.ET_REL
	}
	if err != nil {
		t.Errorf("Open: %v", err)
		return false
	}
	defer f.Close()

	// Program headers: every PT_LOAD, in order.
	var loads []Segment
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD {
			loads = append(loads, Segment{Vaddr: p.Vaddr, Memsz: p.Memsz, Offset: p.Off, Filesz: p.Filesz, Align: p.Align, Prot: protOf(p.Flags)})
		}
	}
	if !slices.Equal(loads, f.Segments) {
		t.Errorf("%s: segments\n got %+v\nwant %+v", path, f.Segments, loads)
	}
	if ef.Entry != f.Entry {
		t.Errorf("%s: entry %#x, want %#x", path, f.Entry, ef.Entry)
	}

	dynSec := ef.SectionByType(elf.SHT_DYNAMIC)
	if f.Dynamic == nil {
		if dynSec != nil {
			t.Errorf("%s: no dynamic information, but debug/elf has a dynamic section", path)
		}
		return false
	}
	d := f.Dynamic
	strs := func(tag elf.DynTag) []string {
		s, err := ef.DynString(tag)
		if err != nil {
			t.Errorf("%s: debug/elf DynString(%v): %v", path, tag, err)
		}
		return s
	}
	one := func(tag elf.DynTag, got string, has bool) {
		want := strs(tag)
		if len(want) > 1 || (len(want) == 1) != has || (has && want[0] != got) {
			t.Errorf("%s: %v %q (present %v), want %q", path, tag, got, has, want)
		}
	}
	if want := strs(elf.DT_NEEDED); !slices.Equal(d.Needed, want) {
		t.Errorf("%s: needed %q, want %q", path, d.Needed, want)
	}
	one(elf.DT_SONAME, d.Soname, d.Soname != "" || hasTag(d, elf.DT_SONAME))
	one(elf.DT_RUNPATH, d.Runpath, d.HasRunpath)
	one(elf.DT_RPATH, d.Rpath, d.HasRpath)

	// Dynamic symbols: same count (debug/elf drops the null symbol), same
	// contents and version indices.
	syms, err := ef.DynamicSymbols()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		t.Errorf("%s: debug/elf DynamicSymbols: %v", path, err)
	}
	want := 0
	if ef.SectionByType(elf.SHT_DYNSYM) != nil {
		want = len(syms) + 1
	}
	diffStats.syms += d.Symbols.Len()
	diffStats.relocs += d.Rela.Len() + d.JmpRel.Len()
	if d.Symbols.Len() != want {
		t.Errorf("%s: %d dynamic symbols, debug/elf has %d", path, d.Symbols.Len(), want)
	} else {
		for i, s := range syms {
			g := d.Symbols.At(i + 1)
			if g.Name != s.Name || g.Value != s.Value || g.Size != s.Size || g.Info != s.Info || g.Other != s.Other || g.Section != s.Section {
				t.Errorf("%s: symbol %d = %+v, debug/elf %+v", path, i+1, g, s)
				break
			}
			if s.HasVersion && (d.Versym == nil || d.Versym[i+1] != uint16(s.VersionIndex)) {
				t.Errorf("%s: symbol %d version index differs from debug/elf's %#x", path, i+1, uint16(s.VersionIndex))
				break
			}
		}
	}

	// Relocation tables, entry by entry, against the sections.
	for _, c := range []struct {
		name string
		tab  RelocTable
	}{{".rela.dyn", d.Rela}, {".rela.plt", d.JmpRel}} {
		sec := ef.Section(c.name)
		want := 0
		var data []byte
		if sec != nil {
			if data, err = sec.Data(); err != nil {
				t.Errorf("%s: debug/elf %s: %v", path, c.name, err)
				continue
			}
			want = len(data) / relaSize
		}
		if c.tab.Len() != want {
			t.Errorf("%s: %s has %d relocations, debug/elf %d", path, c.name, c.tab.Len(), want)
			continue
		}
		for i := 0; i < want; i++ {
			r := c.tab.At(i)
			var e elf.Rela64
			b := data[i*relaSize:]
			e.Off, e.Info, e.Addend = le.Uint64(b), le.Uint64(b[8:]), int64(le.Uint64(b[16:]))
			if r.Offset != e.Off || uint32(r.Type) != elf.R_TYPE64(e.Info) || r.Sym != elf.R_SYM64(e.Info) || r.Addend != e.Addend {
				t.Errorf("%s: %s[%d] = %+v, debug/elf %+v", path, c.name, i, r, e)
				break
			}
		}
	}
	if sec := ef.Section(".relr.dyn"); sec == nil && d.RELR != nil {
		t.Errorf("%s: RELR relocations but no .relr.dyn section", path)
	}

	// Version definitions and needs.
	if vd, err := ef.DynamicVersions(); err == nil {
		if len(vd) != len(d.Verdefs) {
			t.Errorf("%s: %d version definitions, debug/elf %d", path, len(d.Verdefs), len(vd))
		} else {
			for i, v := range vd {
				g := d.Verdefs[i]
				if g.Name != v.Name || g.Index != v.Index || !slices.Equal(g.Parents, v.Deps) {
					t.Errorf("%s: verdef %d = %+v, debug/elf %+v", path, i, g, v)
				}
			}
		}
	} else if len(d.Verdefs) != 0 {
		t.Errorf("%s: %d version definitions, debug/elf: %v", path, len(d.Verdefs), err)
	}
	if vn, err := ef.DynamicVersionNeeds(); err == nil {
		if len(vn) != len(d.Verneeds) {
			t.Errorf("%s: %d version needs, debug/elf %d", path, len(d.Verneeds), len(vn))
		} else {
			for i, v := range vn {
				g := d.Verneeds[i]
				if g.File != v.Name || len(g.Aux) != len(v.Needs) {
					t.Errorf("%s: verneed %d = %+v, debug/elf %+v", path, i, g, v)
					continue
				}
				for j, a := range v.Needs {
					if g.Aux[j].Name != a.Dep || g.Aux[j].Index != a.Index {
						t.Errorf("%s: verneed %d aux %d = %+v, debug/elf %+v", path, i, j, g.Aux[j], a)
					}
				}
			}
		}
	} else if len(d.Verneeds) != 0 {
		t.Errorf("%s: %d version needs, debug/elf: %v", path, len(d.Verneeds), err)
	}
	return false
}

var diffStats struct{ syms, relocs int }

func hasTag(d *Dynamic, tag elf.DynTag) bool {
	for _, e := range d.Entries {
		if e.Tag == tag {
			return true
		}
	}
	return false
}
