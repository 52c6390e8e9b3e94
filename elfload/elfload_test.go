package elfload

import (
	"debug/elf"
	"testing"
)

func TestOpenSystemLibrary(t *testing.T) {
	const path = "/usr/lib/x86_64-linux-gnu/libc.so.6"
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Type != elf.ET_DYN || f.Dynamic == nil {
		t.Fatalf("type %v, dynamic %v", f.Type, f.Dynamic != nil)
	}
	if f.Dynamic.Soname != "libc.so.6" {
		t.Errorf("soname %q, want libc.so.6", f.Dynamic.Soname)
	}
	if f.TLS == nil || f.RELRO == nil || !f.HasGNUStack {
		t.Errorf("TLS %v RELRO %v GNU stack %v: want all present", f.TLS, f.RELRO, f.HasGNUStack)
	}
	if n := f.Dynamic.Symbols.Len(); n < 1000 {
		t.Errorf("%d symbols, want > 1000", n)
	}
	if _, err := f.SegmentData(0); err != nil {
		t.Error(err)
	}
}
