package pthread

import (
	"bytes"
	"debug/elf"
	"os/exec"
	"path/filepath"
	"testing"

	"halite/validate"
)

// TestRuntimeCodeMatchesSource reassembles testdata/tls_get_addr.S and
// compares it with the embedded bytes and the symbol table.
func TestRuntimeCodeMatchesSource(t *testing.T) {
	as, err := exec.LookPath("as")
	if err != nil {
		t.Skip("GNU as not installed (scripts/setup installs binutils)")
	}
	obj := filepath.Join(t.TempDir(), "tga.o")
	if out, err := exec.Command(as, "--64", "-o", obj, "testdata/tls_get_addr.S").CombinedOutput(); err != nil {
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
	rt := Runtime()
	if !bytes.Equal(text, rt.Code) {
		t.Fatalf("embedded code differs from testdata/tls_get_addr.S:\n got % x\nwant % x", rt.Code, text)
	}
	if len(rt.Code)%32 != 0 {
		t.Errorf("code size %d not a multiple of 32", len(rt.Code))
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
	// Runtime returns a copy.
	rt.Code[0] = 0
	if Runtime().Code[0] != 0x64 {
		t.Errorf("Runtime shares its code slice")
	}
}

// TestRuntimeCodeValidates: the runtime object is valid SFI code under the
// halite profile, and the nacl profile rejects exactly its thread-pointer
// reads.
func TestRuntimeCodeValidates(t *testing.T) {
	code := Runtime().Code
	v := validate.Code(code, 0x10000, validate.Options{Profile: validate.Halite, Features: validate.AllFeatures})
	if err := v.Err(); err != nil {
		t.Fatalf("halite profile: %v", err)
	}
	for _, s := range Runtime().Symbols {
		if !v.IsTarget(int(s.Offset)) || s.Offset%32 != 0 {
			t.Errorf("symbol %s at %#x is not a bundle-aligned instruction start", s.Name, s.Offset)
		}
	}
	v = validate.Code(code, 0x10000, validate.Options{Profile: validate.NaCl, Features: validate.AllFeatures})
	// Exactly the two thread-pointer reads (in __tls_get_addr and
	// _dl_tlsdesc_dynamic) break the nacl rules.
	if len(v.Violations) != 2 {
		t.Errorf("nacl profile: %v, want two segment-prefix violations", v.Err())
	}
	for _, x := range v.Violations {
		if x.Rule != validate.RuleSegmentPrefix || !bytes.HasPrefix(code[x.Offset:], []byte{0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0}) {
			t.Errorf("nacl profile: unexpected violation %+v", x)
		}
	}
}
