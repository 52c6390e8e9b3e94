package elfload

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// fuzzSeedFiles are small real files added to the seed corpus when present.
var fuzzSeedFiles = []string{
	"/usr/bin/true",
	"/usr/lib/python3.11/lib-dynload/_typing.cpython-311-x86_64-linux-gnu.so",
	"/usr/lib/x86_64-linux-gnu/libdl.so.2",
}

// FuzzParse checks that no input makes Parse panic or allocate without
// bound, that every error for a malformed file is a *FormatError or a read
// error, and that the accessors of an accepted plan never fail.
func FuzzParse(f *testing.F) {
	s := newSynth()
	f.Add(s.bytes())
	for _, tc := range malformedCases {
		m := newSynth()
		tc.mutate(m)
		f.Add(m.b)
	}
	for _, path := range fuzzSeedFiles {
		if b, err := os.ReadFile(path); err == nil && len(b) < 1<<20 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a *FormatError: %v", err)
			}
			if fe.Rule == "" || fe.Offset < 0 {
				t.Fatalf("FormatError without rule or with negative offset: %+v", fe)
			}
			return
		}
		exercise(t, p, int64(len(data)))
	})
}

// exercise calls every accessor of an accepted plan and checks the
// invariants that Parse promises.
func exercise(t *testing.T, p *Plan, size int64) {
	t.Helper()
	if len(p.Segments) == 0 {
		t.Fatal("plan without segments")
	}
	for i, s := range p.Segments {
		if s.Filesz > s.Memsz || s.PageStart() < p.Span.Start || s.PageEnd() > p.Span.End || s.Offset+s.Filesz > uint64(size) {
			t.Fatalf("segment %d %+v breaks invariants (span %+v)", i, s, p.Span)
		}
		if _, err := p.SegmentData(i); err != nil {
			t.Fatalf("SegmentData(%d): %v", i, err)
		}
	}
	if p.Span.Len() > MaxSpan {
		t.Fatalf("span %+v", p.Span)
	}
	d := p.Dynamic
	if d == nil {
		return
	}
	for i := range d.Symbols.Len() {
		_ = d.Symbols.At(i)
	}
	if d.Versym != nil && len(d.Versym) != d.Symbols.Len() {
		t.Fatalf("%d versym entries for %d symbols", len(d.Versym), d.Symbols.Len())
	}
	for _, tab := range []RelocTable{d.Rela, d.JmpRel} {
		for i := range tab.Len() {
			if r := tab.At(i); int(r.Sym) >= max(d.Symbols.Len(), 1) {
				t.Fatalf("relocation %d symbol %d of %d", i, r.Sym, d.Symbols.Len())
			}
		}
	}
	if h := d.SysVHash; h != nil {
		for _, x := range append(append([]uint32(nil), h.Buckets...), h.Chains...) {
			if int(x) >= d.Symbols.Len() {
				t.Fatalf("SysV hash index %d of %d symbols", x, d.Symbols.Len())
			}
		}
	}
	if g := d.GNUHash; g != nil {
		if int(g.SymOffset)+len(g.Chains) > d.Symbols.Len() && d.Symbols.Len() > 0 {
			t.Fatalf("GNU hash covers %d+%d of %d symbols", g.SymOffset, len(g.Chains), d.Symbols.Len())
		}
		for _, x := range g.Buckets {
			if x != 0 && (x < g.SymOffset || int(x-g.SymOffset) >= len(g.Chains)) {
				t.Fatalf("GNU bucket %d outside chains [%d, +%d)", x, g.SymOffset, len(g.Chains))
			}
		}
	}
	for _, a := range d.RELR {
		if a < p.Span.Start || a+8 > p.Span.End {
			t.Fatalf("RELR address %#x outside span %+v", a, p.Span)
		}
	}
}
