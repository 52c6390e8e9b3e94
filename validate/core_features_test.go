package validate

import (
	"bytes"
	"runtime"
	"testing"
)

func TestHostFeatures(t *testing.T) {
	h := HostFeatures()
	if h&^AllFeatures != 0 {
		t.Errorf("HostFeatures %#x has bits outside AllFeatures", uint64(h))
	}
	if runtime.GOARCH == "amd64" {
		// Every x86-64 CPU has these.
		base := FeatX87 | FeatCMOV | FeatMMX | FeatSSE | FeatSSE2 | FeatCX8 | FeatFXSR
		if h&base != base {
			t.Errorf("HostFeatures %v lacks the x86-64 baseline %v", h, base)
		}
	}
	if HostFeatures() != h {
		t.Error("HostFeatures is not stable")
	}
	if len(featNames) != featCount {
		t.Errorf("%d feature names for %d features", len(featNames), featCount)
	}
}

// TestFeatureGating checks that an instruction needing a feature is
// rejected with RuleCPUFeature without it and accepted with it.
func TestFeatureGating(t *testing.T) {
	cases := []struct {
		code []byte
		need Features
	}{
		{[]byte{0xf3, 0x48, 0x0f, 0xb8, 0xc0}, FeatPOPCNT},      // popcnt %rax,%rax
		{[]byte{0x66, 0x0f, 0x38, 0x00, 0xc1}, FeatSSSE3},       // pshufb
		{[]byte{0xc5, 0xfd, 0x6f, 0x04, 0x24}, FeatAVX},         // vmovdqa (%rsp),%ymm0
		{[]byte{0xc5, 0xfd, 0xfe, 0xc1}, FeatAVX2},              // vpaddd %ymm1,%ymm0,%ymm0
		{[]byte{0xf3, 0x0f, 0xbc, 0xc1}, FeatBMI1},              // tzcnt
		{[]byte{0x0f, 0x0f, 0xc8, 0x0d}, Feat3DNow},             // pi2fd
		{[]byte{0x0f, 0x44, 0xc1}, FeatCMOV},                    // cmove
		{[]byte{0xd9, 0xe8}, FeatX87},                           // fld1
		{[]byte{0xc4, 0xe2, 0xf9, 0x98, 0xc1}, FeatFMA},         // vfmadd132pd
		{[]byte{0x0f, 0x38, 0xf0, 0x04, 0x24}, FeatMOVBE},       // movbe (%rsp),%eax
		{[]byte{0xf2, 0x0f, 0x38, 0xf1, 0xc1}, FeatSSE42},       // crc32
		{[]byte{0x66, 0x0f, 0x3a, 0x16, 0xc0, 0x01}, FeatSSE41}, // pextrd
		{[]byte{0x0f, 0x18, 0x04, 0x24}, FeatSSE},               // prefetchnta
		{[]byte{0x66, 0x0f, 0xd4, 0xc1}, FeatSSE2},              // paddq
		{[]byte{0xf2, 0x0f, 0x7c, 0xc1}, FeatSSE3},              // haddps
		{[]byte{0x0f, 0xfc, 0xc1}, FeatMMX},                     // paddb %mm1,%mm0
		{[]byte{0xf3, 0x0f, 0xbd, 0xc1}, FeatLZCNT},             // lzcnt
		{[]byte{0xc4, 0xe2, 0x7b, 0xf6, 0xc1}, FeatBMI2},        // mulx
	}
	for _, c := range cases {
		code := make([]byte, 32)
		for i := range code {
			code[i] = 0x90
		}
		copy(code, c.code)
		if vd := Code(code, 0, Options{Features: AllFeatures}); !vd.Valid() {
			t.Errorf("% x with all features: %v", c.code, vd.Err())
			continue
		}
		vd := Code(code, 0, Options{Features: AllFeatures &^ c.need})
		if vd.Valid() || vd.Violations[0].Rule != RuleCPUFeature || vd.Violations[0].Offset != 0 {
			t.Errorf("% x without %v: %v", c.code, c.need, vd.Err())
		}
	}
}

// TestNeverFeatures checks that instructions of features outside NaCl's
// maximal feature set are rejected even with AllFeatures, in both
// profiles, while tzcnt (allowed unconditionally by NaCl) is not.
func TestNeverFeatures(t *testing.T) {
	never := []struct {
		name string
		code []byte
	}{
		{"andn", []byte{0xc4, 0xe2, 0x78, 0xf2, 0xc1}},
		{"bextr", []byte{0xc4, 0xe2, 0x78, 0xf7, 0xc1}},
		{"blsr", []byte{0xc4, 0xe2, 0x78, 0xf3, 0xc9}},
		{"blsmsk", []byte{0xc4, 0xe2, 0x78, 0xf3, 0xd1}},
		{"blsi", []byte{0xc4, 0xe2, 0x78, 0xf3, 0xd9}},
		{"pclmulqdq", []byte{0x66, 0x0f, 0x3a, 0x44, 0xc1, 0x00}},
		{"vpclmulqdq", []byte{0xc4, 0xe3, 0x79, 0x44, 0xc1, 0x00}},
		{"aesenc", []byte{0x66, 0x0f, 0x38, 0xdc, 0xc8}},
		{"aeskeygenassist", []byte{0x66, 0x0f, 0x3a, 0xdf, 0xc1, 0x01}},
		{"vcvtph2ps", []byte{0xc4, 0xe2, 0x79, 0x13, 0xc1}},
		{"vcvtps2ph", []byte{0xc4, 0xe3, 0x79, 0x1d, 0xc1, 0x00}},
		{"fxsave", []byte{0x41, 0x0f, 0xae, 0x07}},
		{"fxrstor", []byte{0x41, 0x0f, 0xae, 0x0f}},
		{"fxsave64", []byte{0x49, 0x0f, 0xae, 0x07}},
		{"monitor", []byte{0x0f, 0x01, 0xc8}},
		{"mwait", []byte{0x0f, 0x01, 0xc9}},
		{"blcfill (tbm)", []byte{0x8f, 0xe9, 0x78, 0x01, 0xc9}},
		{"llwpcb (lwp)", []byte{0x8f, 0xe9, 0x78, 0x12, 0xc0}},
		{"lwpins (lwp)", []byte{0x8f, 0xea, 0x78, 0x12, 0xc0, 0, 0, 0, 0}},
	}
	for _, p := range []Profile{NaCl, Halite} {
		for _, c := range never {
			code := bytes.Repeat([]byte{0x90}, 32)
			copy(code, c.code)
			vd := Code(code, 0, Options{Profile: p, Features: AllFeatures})
			if vd.Valid() || vd.Violations[0].Offset != 0 {
				t.Errorf("%s (% x, %v): accepted with all features: %v", c.name, c.code, p, vd.Err())
			}
		}
		code := bytes.Repeat([]byte{0x90}, 32)
		copy(code, []byte{0xf3, 0x48, 0x0f, 0xbc, 0xc1}) // tzcnt %rcx,%rax
		if vd := Code(code, 0, Options{Profile: p, Features: AllFeatures}); !vd.Valid() {
			t.Errorf("tzcnt rejected with all features (%v): %v", p, vd.Err())
		}
	}
}
