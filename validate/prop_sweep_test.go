package validate

import (
	"strings"
	"testing"
)

// TestOpcodeSweep validates, one per chunk, every opcode of the one-byte,
// 0f, 0f38 and 0f3a maps and of the VEX maps under a grid of legacy
// prefixes, REX bytes and ModRM forms (immediates and displacements are
// nops), and checks each accepted chunk with the x86asm oracle
// (checkAccepted): a systematic complement to the random property tests.
func TestOpcodeSweep(t *testing.T) {
	prefixes := [][]byte{nil, {0x66}, {0xf2}, {0xf3}, {0xf0}, {0x64}, {0x67}}
	rexes := []byte{0, 0x41, 0x44, 0x48, 0x4c, 0x4f}
	modrms := [][]byte{
		{0x00},                                         // (%rax) or (%r8)
		{0x07},                                         // (%rdi) or (%r15)
		{0x04, 0x24},                                   // (%rsp)
		{0x45, 0x08},                                   // 8(%rbp)
		{0x05, 0, 0, 0, 0},                             // 0(%rip)
		{0x04, 0x07},                                   // (%rdi,%rax,1) or (%r15,%rax,1)
		{0x04, 0x3c},                                   // (%rsp,%rdi,1)
		{0xc0}, {0xc4}, {0xe5}, {0xff}, {0xf8}, {0xc7}, // registers
	}
	maps := [][]byte{nil, {0x0f}, {0x0f, 0x38}, {0x0f, 0x3a}}
	var chunks, accepted, problems int
	kinds := map[string]int{}
	val := New(refOpts)
	halVal := New(Options{Profile: Halite, Features: AllFeatures})
	code := make([]byte, 32)
	check := func(insn []byte) {
		if len(insn) > 32 {
			return
		}
		for i := range code {
			code[i] = 0x90
		}
		copy(code, insn)
		chunks++
		for _, pv := range []struct {
			v *Validator
			p Profile
		}{{val, NaCl}, {halVal, Halite}} {
			vd := pv.v.Validate(code, refBase)
			if !vd.Valid() {
				continue
			}
			accepted++
			for _, p := range checkAccepted(code, vd, pv.p) {
				problems++
				kind := p
				if i := strings.Index(p, ": "); i >= 0 {
					kind = p[i+2:]
				}
				if i := strings.IndexAny(kind, " "); i >= 0 {
					kind = kind[:i] // the op
				}
				if kinds[kind]++; kinds[kind] <= 3 {
					t.Errorf("%s: ACCEPTED % x: %s", pv.p, insn, p)
				}
			}
		}
	}
	for _, pre := range prefixes {
		for _, rex := range rexes {
			for _, m := range maps {
				for op := 0; op < 256; op++ {
					for _, mr := range modrms {
						insn := append([]byte(nil), pre...)
						if rex != 0 {
							insn = append(insn, rex)
						}
						insn = append(insn, m...)
						insn = append(insn, byte(op))
						insn = append(insn, mr...)
						check(insn)
					}
				}
			}
		}
	}
	// VEX: c5 (map 0f) and c4 (maps 1-3, W and inverted R/X/B), both
	// vector lengths, every pp, vvvv = 1111 or 0000.
	vexModrms := [][]byte{{0x00}, {0x07}, {0x04, 0x24}, {0x05, 0, 0, 0, 0}, {0x04, 0x07}, {0xc0}, {0xe5}, {0xff}}
	for _, pre := range [][]byte{nil, {0x66}} {
		for _, vb := range []byte{0xf8, 0x00} { // R̄vvvv̄ bits with L=0,pp=0
			for l := byte(0); l < 2; l++ {
				for pp := byte(0); pp < 4; pp++ {
					for op := 0; op < 256; op++ {
						for _, mr := range vexModrms {
							insn := append(append([]byte(nil), pre...), 0xc5, vb|l<<2|pp, byte(op))
							check(append(insn, mr...))
							for _, rxb := range []byte{0xe0, 0x40} {
								for mmmmm := byte(1); mmmmm <= 3; mmmmm++ {
									for _, w := range []byte{0, 0x80} {
										insn := append(append([]byte(nil), pre...), 0xc4, rxb|mmmmm, w|(vb&0x78)|l<<2|pp, byte(op))
										check(append(insn, mr...))
									}
								}
							}
						}
					}
				}
			}
		}
	}
	if len(kinds) > 0 {
		t.Errorf("oracle problems by first word: %v", kinds)
	}
	t.Logf("opcode sweep: %d chunks, %d accepted (nacl+halite), %d oracle problems", chunks, accepted, problems)
}
