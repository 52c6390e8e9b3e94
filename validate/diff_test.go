package validate

import (
	"fmt"
	"maps"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"halite/elfload"
)

// The differential test of the optimized validator against the old one
// (oracle_old_test.go): on every input both must report the same verdict
// (violations with offsets, rules, messages and disassembly; instruction
// count; jump targets) and, at every byte offset, the decoders the same
// status, length and decoded fields.

// diffOptions are the option sets every input is validated with.
var diffOptions = []Options{
	{Profile: NaCl, Features: AllFeatures},
	{Profile: Halite, Features: AllFeatures},
	{Profile: NaCl},
	{Profile: Halite, Features: AllFeatures &^ (FeatAVX | FeatAVX2 | FeatSSE41), MaxErrors: 3},
}

// diffVerdicts validates code at base with the new and the old checker
// under opts and returns the differences.
func diffVerdicts(code []byte, base uint64, opts Options) []string {
	nv := New(opts).Validate(code, base)
	ov := (&oldValidator{opts: opts}).validateOld(code, base)
	var d []string
	if nv.Instructions != ov.Instructions || nv.Bundles != ov.Bundles || nv.Size != ov.Size || nv.Truncated != ov.Truncated {
		d = append(d, fmt.Sprintf("instructions/bundles/size/truncated %d/%d/%d/%v, old %d/%d/%d/%v",
			nv.Instructions, nv.Bundles, nv.Size, nv.Truncated, ov.Instructions, ov.Bundles, ov.Size, ov.Truncated))
	}
	if !slices.Equal(nv.Violations, ov.Violations) {
		d = append(d, fmt.Sprintf("violations %v, old %v", head(nv.Violations), head(ov.Violations)))
	}
	if !slices.Equal(nv.targets, ov.targets) {
		for off := range code {
			if nv.IsTarget(off) != ov.IsTarget(off) {
				d = append(d, fmt.Sprintf("IsTarget(%#x) = %v, old %v", off, nv.IsTarget(off), ov.IsTarget(off)))
				break
			}
		}
	}
	return d
}

func head(v []Violation) []Violation {
	if len(v) > 5 {
		return v[:5]
	}
	return v
}

// diffDecode decodes at every byte offset of code with the new and the
// old decoder and returns the first difference.
func diffDecode(code []byte, halite bool) string {
	var in inst
	var old instOld
	for p := range code {
		st := decode(code, p, &in, halite)
		ost := decodeOld(code, p, &old, halite)
		if st != ost {
			return fmt.Sprintf("at %#x (% x): status %d, old %d", p, code[p:min(p+15, len(code))], st, ost)
		}
		if a, b := instView(&in), instViewOld(&old); a != b {
			if st == stOK || st == stIndirect || a.length != b.length || a.msg != b.msg {
				return fmt.Sprintf("at %#x (% x): status %d: decoded %+v, old %+v", p, code[p:min(p+15, len(code))], st, a, b)
			}
		}
	}
	return ""
}

// instFields are the decoded fields the rules use.
type instFields struct {
	length           int
	o                op
	opc, rex         byte
	p66, rep         bool
	mod              uint8
	reg, rm, vreg    int8
	base, index      int8
	mem, fsRead, nop bool
	rel              int64
	need             Features
	msg              msgID
}

func instView(in *inst) instFields {
	return instFields{in.length, in.o, in.opc, in.rex, in.p66, in.rep, in.mod, in.reg, in.rm, in.vreg,
		in.base, in.index, in.mem, in.fsRead, in.nop, in.rel, in.need, in.msg}
}

func instViewOld(in *instOld) instFields {
	return instFields{in.length, in.o, in.opc, in.rex, in.p66, in.rep, in.mod, in.reg, in.rm, in.vreg,
		in.base, in.index, in.mem, in.fsRead, in.nop, in.rel, in.need, in.msg}
}

// diffChunk runs both comparisons on one chunk and reports failures on t.
func diffChunk(t testing.TB, name string, code []byte, opts []Options) {
	t.Helper()
	for _, o := range opts {
		for _, base := range []uint64{0, 0x10000} {
			if d := diffVerdicts(code, base, o); len(d) > 0 {
				t.Errorf("%s (%d bytes, %+v, base %#x): %s", name, len(code), o, base, strings.Join(d, "; "))
				return
			}
		}
	}
	for _, h := range []bool{false, true} {
		if d := diffDecode(code, h); d != "" {
			t.Errorf("%s (halite %v): %s", name, h, d)
			return
		}
	}
}

// diffInputs returns the differential test's chunks: every reference
// case, every rule case, random bytes, and (when present) the cached
// halite cc builds and this machine's libsqlite3.
func diffInputs(t *testing.T) (small, large map[string][]byte) {
	small, large = map[string][]byte{}, map[string][]byte{}
	for _, c := range refCases(t) {
		small["ref "+c.ID] = c.Hex.Code
	}
	files, _ := filepath.Glob("testdata/rules/*")
	for _, f := range files {
		var code []byte
		switch filepath.Ext(f) {
		case ".hex":
			text, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			hc, err := ParseHex(text)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			code = hc.Code
		case ".s":
			code = chunkFrom(assemble(t, f))
		default:
			continue
		}
		small["rule "+filepath.Base(f)] = code
	}
	rnd := rand.New(rand.NewSource(2))
	for i := range 3000 {
		b := make([]byte, 32*(1+rnd.Intn(4)))
		rnd.Read(b)
		if i%2 == 1 {
			// bias towards prefixes, REX, escapes and VEX
			for j := range b {
				if rnd.Intn(3) == 0 {
					b[j] = []byte{0x66, 0xf2, 0xf3, 0xf0, 0x48, 0x41, 0x4c, 0x0f, 0x38, 0x3a, 0xc4, 0xc5, 0x90, 0x64, 0x2e, 0x67}[rnd.Intn(16)]
				}
			}
		}
		small[fmt.Sprintf("random %d", i)] = b
	}
	cache := os.Getenv("HALITE_CACHE")
	if cache == "" {
		if d, err := os.UserCacheDir(); err == nil {
			cache = filepath.Join(d, "halite")
		}
	}
	sos, _ := filepath.Glob(filepath.Join(cache, "bench", "*.so"))
	sos = append(sos, "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0")
	for _, so := range sos {
		f, err := elfload.Open(so)
		if err != nil {
			t.Logf("skipping %s: %v", so, err)
			continue
		}
		vs, err := ELF(f.Plan, Options{Features: AllFeatures, MaxErrors: 1, NoDisasm: true})
		f.Close()
		if err != nil {
			t.Logf("skipping %s: %v", so, err)
			continue
		}
		for i, s := range vs {
			large[fmt.Sprintf("%s segment %d", filepath.Base(so), i)] = s.Code
		}
	}
	return small, large
}

func TestDiffOldNew(t *testing.T) {
	small, large := diffInputs(t)
	for _, name := range slices.Sorted(maps.Keys(small)) {
		diffChunk(t, name, small[name], diffOptions)
	}
	for _, name := range slices.Sorted(maps.Keys(large)) {
		opts := []Options{
			{Profile: Halite, Features: AllFeatures, NoDisasm: true},
			{Profile: NaCl, Features: AllFeatures &^ FeatAVX2, NoDisasm: true},
		}
		diffChunk(t, name, large[name], opts)
	}
	t.Logf("%d small and %d large chunks compared", len(small), len(large))
}

// FuzzDiffOldNew compares the new and the old validator (verdicts under
// every diffOptions set, and the decoders at every offset) on arbitrary
// bytes padded with nops to a multiple of 32. Seeds: the reference and
// hex rule cases.
func FuzzDiffOldNew(f *testing.F) {
	for _, c := range refCases(f) {
		f.Add(c.Hex.Code[:c.Hex.Len])
	}
	hexes, _ := filepath.Glob("testdata/rules/*.hex")
	for _, h := range hexes {
		text, err := os.ReadFile(h)
		if err != nil {
			f.Fatal(err)
		}
		hc, err := ParseHex(text)
		if err != nil {
			f.Fatalf("%s: %v", h, err)
		}
		f.Add(hc.Code[:hc.Len])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		diffChunk(t, "input", chunkFrom(data), diffOptions)
	})
}
