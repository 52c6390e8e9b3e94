package elfload

import (
	"debug/elf"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGNUHashOnlyUndefined: with only DT_GNU_HASH, the hash table counts
// the hashed symbols alone; undefined symbols that relocations name may lie
// beyond them (ld emits such modules when nothing is exported, e.g. a
// constructor-only module, or coreutils' libstdbuf.so). glibc never needs a
// count, so the table must be sized to cover the relocations' symbols.
func TestGNUHashOnlyUndefined(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc not installed (scripts/setup installs it)")
	}
	out := filepath.Join(t.TempDir(), "ctoronly.so")
	args := []string{"-shared", "-fPIC", "-O1", "-nostdlib", "-Wl,--hash-style=gnu", "-o", out, "testdata/ctoronly.c"}
	if msg, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %v: %v\n%s", args, err, msg)
	}
	f, err := Open(out)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	d := f.Dynamic
	if d.SysVHash != nil || d.GNUHash == nil {
		t.Fatalf("want a DT_GNU_HASH-only module (sysv %v, gnu %v)", d.SysVHash != nil, d.GNUHash != nil)
	}
	ef, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	syms, err := ef.DynamicSymbols()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Symbols.Len(), len(syms)+1; got != want { // debug/elf drops the null symbol
		t.Errorf("symbol count %d, want %d (as .dynsym)", got, want)
	}
	names := map[string]bool{}
	for _, tab := range []RelocTable{d.Rela, d.JmpRel} {
		for i := range tab.Len() {
			r := tab.At(i)
			if r.Sym != 0 {
				names[d.Symbols.At(int(r.Sym)).Name] = true
			}
		}
	}
	for _, n := range []string{"ext_log", "ext_other"} {
		if !names[n] {
			t.Errorf("no relocation names %s (got %v)", n, names)
		}
	}
	if len(d.Versym) != 0 && len(d.Versym) != d.Symbols.Len() {
		t.Errorf("versym has %d entries for %d symbols", len(d.Versym), d.Symbols.Len())
	}
}

// TestRELROToPageEnd: when every writable byte is RELRO, ld ends
// PT_GNU_RELRO at the page boundary past the writable segment's p_memsz;
// glibc accepts that (it protects whole pages below the RELRO end), and so
// must the plan, while RELRO past the segment's pages stays an error
// (TestMalformed's "RELRO past segment").
func TestRELROToPageEnd(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc not installed (scripts/setup installs it)")
	}
	out := filepath.Join(t.TempDir(), "allrelro.so")
	args := []string{"-shared", "-fPIC", "-O2", "-nostdlib", "-Wl,-z,now", "-Wl,-z,relro", "-o", out, "testdata/allrelro.c"}
	if msg, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %v: %v\n%s", args, err, msg)
	}
	f, err := Open(out)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	if f.RELRO == nil {
		t.Fatal("no RELRO in the plan")
	}
	last := f.Segments[len(f.Segments)-1]
	if f.RELRO.End <= last.Vaddr+last.Memsz {
		t.Skipf("this ld kept RELRO [%#x, %#x) inside the segment (ends %#x): case not reproduced", f.RELRO.Start, f.RELRO.End, last.Vaddr+last.Memsz)
	}
	if f.RELRO.End > last.PageEnd() {
		t.Errorf("RELRO end %#x past the segment's pages (%#x)", f.RELRO.End, last.PageEnd())
	}
}
