package ldso

import (
	"bytes"
	"debug/elf"
	"os/exec"
	"path/filepath"
	"testing"

	"halite/validate"
)

// TestAPIRuntimeMatchesSource reassembles testdata/api/rt.S and compares
// it with the embedded bytes and symbol table.
func TestAPIRuntimeMatchesSource(t *testing.T) {
	as, err := exec.LookPath("as")
	if err != nil {
		t.Skip("GNU as not installed (scripts/setup installs binutils)")
	}
	obj := filepath.Join(t.TempDir(), "rt.o")
	if out, err := exec.Command(as, "--64", "-o", obj, "testdata/api/rt.S").CombinedOutput(); err != nil {
		t.Fatalf("as: %v\n%s", err, out)
	}
	f, err := elf.Open(obj)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	text, err := f.Section(".text").Data()
	if err != nil {
		t.Fatal(err)
	}
	rt := APIRuntime()
	if !bytes.Equal(text, rt.Code) {
		t.Fatalf("embedded code differs from testdata/api/rt.S:\n got % x\nwant % x", rt.Code, text)
	}
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, s := range syms {
		if s.Name == "" || elf.ST_BIND(s.Info) != elf.STB_GLOBAL {
			continue
		}
		rs, ok := rt.Lookup(s.Name)
		if !ok || rs.Offset != s.Value || rs.Size != s.Size {
			t.Errorf("symbol %s at %#x size %d; runtime object says %+v", s.Name, s.Value, s.Size, rs)
		}
		found++
	}
	if found != len(rt.Symbols) {
		t.Errorf("assembled object has %d global symbols, runtime object %d", found, len(rt.Symbols))
	}
	rt.Code[0] = 0
	if APIRuntime().Code[0] == 0 {
		t.Errorf("APIRuntime shares its code slice")
	}
}

// TestAPIRuntimeValidates: the code is valid under the halite profile,
// every symbol is a bundle-aligned instruction start, the size is a
// multiple of 32, and the nacl profile rejects exactly the three
// thread-pointer reads (in dlsym, dlvsym and dl_iterate_phdr).
func TestAPIRuntimeValidates(t *testing.T) {
	code := APIRuntime().Code
	if len(code)%32 != 0 {
		t.Fatalf("code size %d not a multiple of 32", len(code))
	}
	v := validate.Code(code, 0x20000, validate.Options{Profile: validate.Halite, Features: validate.AllFeatures})
	if err := v.Err(); err != nil {
		t.Fatalf("halite profile: %v", err)
	}
	for _, s := range APIRuntime().Symbols {
		if !v.IsTarget(int(s.Offset)) || s.Offset%32 != 0 {
			t.Errorf("symbol %s at %#x is not a bundle-aligned instruction start", s.Name, s.Offset)
		}
	}
	v = validate.Code(code, 0x20000, validate.Options{Profile: validate.NaCl, Features: validate.AllFeatures})
	if len(v.Violations) != 3 {
		t.Errorf("nacl profile: %v, want three segment-prefix violations", v.Err())
	}
	for _, x := range v.Violations {
		if x.Rule != validate.RuleSegmentPrefix || code[x.Offset] != 0x64 {
			t.Errorf("nacl profile: unexpected violation %+v", x)
		}
	}
}
