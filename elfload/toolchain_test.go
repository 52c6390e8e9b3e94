package elfload

import (
	"debug/elf"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// buildSO links testdata/relocs.c into a shared object with extra linker
// flags.
func buildSO(t *testing.T, name string, flags ...string) string {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc not installed (scripts/setup installs it)")
	}
	out := filepath.Join(t.TempDir(), name)
	args := append([]string{"-shared", "-fPIC", "-O1", "-o", out, "testdata/relocs.c", "-Wl,-soname,libt.so"}, flags...)
	if msg, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %v: %v\n%s", args, err, msg)
	}
	return out
}

// TestToolchainRELR links the same object with and without
// -z pack-relative-relocs: the RELR table (plus any RELATIVE relocations the
// linker kept in RELA) must account for as many relocations as the RELATIVE
// relocations of the unpacked link, and cover every word of ptrs (bitmap
// entries) and lone (an address entry far from ptrs).
func TestToolchainRELR(t *testing.T) {
	packed := buildSO(t, "packed.so", "-Wl,-z,pack-relative-relocs", "-Wl,--enable-new-dtags,-rpath,/opt/a:/opt/b", "-Wl,-z,now")
	plain := buildSO(t, "plain.so", "-Wl,-z,nopack-relative-relocs", "-Wl,--disable-new-dtags,-rpath,/opt/c", "-Wl,-z,execstack")

	relative := func(d *Dynamic) []uint64 {
		var out []uint64
		for i := range d.Rela.Len() {
			if r := d.Rela.At(i); r.Type == elf.R_X86_64_RELATIVE {
				out = append(out, r.Offset)
			}
		}
		return out
	}
	fp, err := Open(packed)
	if err != nil {
		t.Fatal(err)
	}
	defer fp.Close()
	fu, err := Open(plain)
	if err != nil {
		t.Fatal(err)
	}
	defer fu.Close()
	dp, du := fp.Dynamic, fu.Dynamic

	if len(dp.RELR) < 65 {
		t.Errorf("packed link has %d RELR addresses, want at least 65", len(dp.RELR))
	}
	if du.RELR != nil {
		t.Errorf("unpacked link has RELR addresses %#x", du.RELR)
	}
	// The two links lay out data differently, so compare counts across
	// them, and addresses against the symbols within the packed link.
	if n, m := len(relative(dp))+len(dp.RELR), len(relative(du)); n != m {
		t.Errorf("packed: %d RELATIVE + %d RELR, unpacked %d RELATIVE", len(relative(dp)), len(dp.RELR), m)
	}
	syms := map[string]Symbol{}
	for i := range dp.Symbols.Len() {
		s := dp.Symbols.At(i)
		syms[s.Name] = s
	}
	ptrs, lone := syms["ptrs"], syms["lone"]
	if ptrs.Size != 64*8 || lone.Size != 8 {
		t.Fatalf("ptrs %+v lone %+v", ptrs, lone)
	}
	for i := uint64(0); i < 64; i++ {
		if _, ok := slices.BinarySearch(dp.RELR, ptrs.Value+8*i); !ok {
			t.Errorf("ptrs[%d] at %#x not in RELR %#x", i, ptrs.Value+8*i, dp.RELR)
			break
		}
	}
	if _, ok := slices.BinarySearch(dp.RELR, lone.Value); !ok {
		t.Errorf("lone at %#x not in RELR %#x", lone.Value, dp.RELR)
	}

	// Strings and flags.
	if dp.Soname != "libt.so" || !dp.HasRunpath || dp.Runpath != "/opt/a:/opt/b" || dp.HasRpath {
		t.Errorf("packed: soname %q runpath %q (%v) rpath %v", dp.Soname, dp.Runpath, dp.HasRunpath, dp.HasRpath)
	}
	if !du.HasRpath || du.Rpath != "/opt/c" || du.HasRunpath {
		t.Errorf("plain: rpath %q (%v) runpath %v", du.Rpath, du.HasRpath, du.HasRunpath)
	}
	if !dp.BindNow || du.BindNow {
		t.Errorf("bind now: packed %v (want true), plain %v (want false)", dp.BindNow, du.BindNow)
	}
	if !fp.HasGNUStack || fp.StackProt&ProtExec != 0 || fu.StackProt&ProtExec == 0 {
		t.Errorf("stack: packed %v %v, plain %v", fp.HasGNUStack, fp.StackProt, fu.StackProt)
	}

	// TLS template: tls_init (0x2a) in the image, tls_zero in the bss part.
	for _, p := range []*Plan{fp.Plan, fu.Plan} {
		if p.TLS == nil || p.TLS.Filesz != 4 || p.TLS.Memsz < 8 || len(p.TLS.Init) != 4 || le.Uint32(p.TLS.Init) != 0x2a {
			t.Errorf("TLS %+v", p.TLS)
		}
	}

	// Symbols: get is a defined function, ext_sym undefined, and a
	// relocation refers to ext_sym.
	if s, ok := syms["get"]; !ok || s.Type() != elf.STT_FUNC || s.Section == elf.SHN_UNDEF {
		t.Errorf("get: %+v %v", s, ok)
	}
	if s, ok := syms["ext_sym"]; !ok || s.Section != elf.SHN_UNDEF {
		t.Errorf("ext_sym: %+v %v", s, ok)
	}
	found := false
	for i := range dp.Rela.Len() {
		r := dp.Rela.At(i)
		if r.Sym != 0 && dp.Symbols.At(int(r.Sym)).Name == "ext_sym" {
			found = true
		}
	}
	if !found {
		t.Error("no relocation refers to ext_sym")
	}
}
