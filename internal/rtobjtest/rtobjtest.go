// Package rtobjtest holds the checks that every synthetic runtime object
// (pthread's libhalite-rt.so, ldso's libhalite.so) must pass in its tests:
// the embedded bytes are what its assembly source assembles to, and the
// code is valid SFI code whose only nacl-profile violations are its
// thread-pointer reads. It is imported by tests only.
package rtobjtest

import (
	"bytes"
	"debug/elf"
	"os/exec"
	"path/filepath"
	"testing"

	"halite/validate"
)

// Object is a runtime object as its tests see it: the code, and its global
// symbols by name. (It takes plain values so that pthread's own tests can
// use it without an import cycle.)
type Object struct {
	Code    []byte
	Symbols map[string]Symbol
	// NSymbols is how many symbols the object lists (duplicates included).
	NSymbols int
}

// Symbol locates a function in Object.Code.
type Symbol struct{ Offset, Size uint64 }

// MatchesSource reassembles src with GNU as and requires its .text to be
// rt.Code and its global symbols to be rt.Symbols (offsets and sizes).
func MatchesSource(t *testing.T, src string, rt Object) {
	t.Helper()
	as, err := exec.LookPath("as")
	if err != nil {
		t.Skip("GNU as not installed (scripts/setup installs binutils)")
	}
	obj := filepath.Join(t.TempDir(), "rt.o")
	if out, err := exec.Command(as, "--64", "-o", obj, src).CombinedOutput(); err != nil {
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
	if !bytes.Equal(text, rt.Code) {
		t.Fatalf("embedded code differs from %s:\n got % x\nwant % x", src, rt.Code, text)
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
		rs, ok := rt.Symbols[s.Name]
		if !ok || rs.Offset != s.Value || rs.Size != s.Size {
			t.Errorf("symbol %s at %#x size %d; runtime object says %+v", s.Name, s.Value, s.Size, rs)
		}
		found++
	}
	if found != rt.NSymbols {
		t.Errorf("assembled object has %d global symbols, runtime object %d", found, rt.NSymbols)
	}
}

// Validates requires rt.Code (loaded at base) to be a multiple of 32 bytes,
// valid under the halite profile with every symbol a bundle-aligned
// instruction start, and to break the nacl profile exactly nacl times, each
// a segment-prefix violation at an instruction for which isTPRead is true.
func Validates(t *testing.T, rt Object, base uint64, nacl int, isTPRead func(code []byte) bool) {
	t.Helper()
	code := rt.Code
	if len(code)%32 != 0 {
		t.Fatalf("code size %d not a multiple of 32", len(code))
	}
	v := validate.Code(code, base, validate.Options{Profile: validate.Halite, Features: validate.AllFeatures})
	if err := v.Err(); err != nil {
		t.Fatalf("halite profile: %v", err)
	}
	for name, s := range rt.Symbols {
		if !v.IsTarget(int(s.Offset)) || s.Offset%32 != 0 {
			t.Errorf("symbol %s at %#x is not a bundle-aligned instruction start", name, s.Offset)
		}
	}
	v = validate.Code(code, base, validate.Options{Profile: validate.NaCl, Features: validate.AllFeatures})
	if len(v.Violations) != nacl {
		t.Errorf("nacl profile: %v, want %d segment-prefix violations", v.Err(), nacl)
	}
	for _, x := range v.Violations {
		if x.Rule != validate.RuleSegmentPrefix || !isTPRead(code[x.Offset:]) {
			t.Errorf("nacl profile: unexpected violation %+v", x)
		}
	}
}
