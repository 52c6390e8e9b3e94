package validate

import (
	"fmt"
	"testing"
)

// TestVEXEncodingSweep validates every VEX opcode under every opcode map,
// pp, VEX.W and VEX.L value, with a register and a memory ModRM and
// VEX.vvvv = 1111b or 0000b, and requires GNU objdump to decode every
// accepted form as an instruction (not "(bad)"): objdump knows which
// instructions are defined for one VEX.W only (W0/W1 in the Intel SDM)
// and which have no VEX.256 form, encodings the CPU rejects with #UD.
// TestOpcodeSweep covers the same forms for safety (lengths, bases) but
// only logs objdump's "(bad)" verdicts.
func TestVEXEncodingSweep(t *testing.T) {
	val := New(Options{Profile: NaCl, Features: AllFeatures})
	var blob []byte
	var descs []string
	code := make([]byte, 32)
	modrms := [][]byte{{0xc1}, {0x04, 0x24}} // %xmm1 / (%rsp)
	for mm := byte(1); mm <= 3; mm++ {
		for pp := byte(0); pp < 4; pp++ {
			for w := byte(0); w < 2; w++ {
				for l := byte(0); l < 2; l++ {
					for _, nv := range []byte{0xf, 0x0} { // inverted vvvv: 0000b, 1111b
						for op := 0; op < 256; op++ {
							for _, mr := range modrms {
								for i := range code {
									code[i] = 0x90 // also the imm8 if there is one
								}
								insn := append([]byte{0xc4, 0xe0 | mm, w<<7 | nv<<3 | l<<2 | pp, byte(op)}, mr...)
								copy(code, insn)
								if !val.Validate(code, refBase).Valid() {
									continue
								}
								blob = append(blob, code...)
								descs = append(descs, fmt.Sprintf("% x (map %d, pp %d, W%d, L%d)", insn, mm, pp, w, l))
							}
						}
					}
				}
			}
		}
	}
	if len(descs) < 1000 {
		t.Fatalf("only %d VEX forms accepted: the sweep is broken", len(descs))
	}
	insns := objdumpInsns(t, blob)
	bad := 0
	for i, d := range descs {
		in, ok := insns[i*32]
		if !ok || in.bad {
			if bad++; bad <= 20 {
				t.Errorf("ACCEPTED %s: objdump: %q", d, in.text)
			}
		}
	}
	t.Logf("%d accepted VEX forms, %d that objdump calls (bad)", len(descs), bad)
}
