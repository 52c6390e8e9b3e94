package validate

import (
	"math/rand"
	"testing"

	"golang.org/x/arch/x86/x86asm"
)

// decodeOracle compares the decoder's instruction lengths with x86asm's on
// every instruction the decoder accepts, over systematically enumerated
// opcode/prefix/ModRM combinations and random tails.
func TestDecodeLengthsAgainstX86asm(t *testing.T) {
	prefixes := [][]byte{nil, {0x66}, {0xf3}, {0xf2}, {0x48}, {0x41}, {0x66, 0x48}, {0xf0}, {0x4d}, {0x66, 0x41}, {0xf2, 0x48}, {0xf3, 0x48}, {0xc5, 0xf8}, {0xc5, 0xf9}, {0xc5, 0xfd}, {0xc5, 0xfa}, {0xc5, 0xfb}, {0xc4, 0xe2, 0x79}, {0xc4, 0xe3, 0x79}, {0xc4, 0xe2, 0x7d}, {0xc4, 0x62, 0x60}, {0xc4, 0xe2, 0xf9}}
	escapes := [][]byte{nil, {0x0f}, {0x0f, 0x38}, {0x0f, 0x3a}}
	modrms := []byte{0x00, 0x04, 0x05, 0x0c, 0x44, 0x45, 0x84, 0x85, 0xc0, 0xc8, 0xd1, 0xe4, 0xf8, 0x3c, 0x7c, 0xbc, 0x14, 0x1d}
	rnd := rand.New(rand.NewSource(1))
	var in inst
	checked := 0
	buf := make([]byte, 0, 32)
	for _, pre := range prefixes {
		for _, esc := range escapes {
			vex := len(pre) > 0 && (pre[0] == 0xc4 || pre[0] == 0xc5)
			if vex && len(esc) > 0 {
				continue
			}
			for opc := 0; opc < 256; opc++ {
				for _, m := range modrms {
					buf = append(buf[:0], pre...)
					buf = append(buf, esc...)
					buf = append(buf, byte(opc), m)
					for len(buf) < 32 {
						buf = append(buf, byte(rnd.Intn(256)))
					}
					st := decode(buf, 0, &in, false)
					if st != stOK && st != stIndirect {
						continue
					}
					if in.nop || in.o.flags&fReject != 0 {
						continue // x86asm does not know extrq/insertq
					}
					if vex && byte(opc) == 0x77 {
						continue // x86asm wrongly reads a ModRM after vzeroupper
					}
					x, err := x86asm.Decode(buf, 64)
					if err != nil {
						continue // x86asm does not know every instruction (3DNow!, some VEX)
					}
					checked++
					if x.Len != in.length {
						t.Errorf("% x: length %d, x86asm %d (%v)", buf[:max(x.Len, in.length)], in.length, x.Len, x86asm.GNUSyntax(x, 0, nil))
					}
				}
			}
		}
	}
	if checked < 10000 {
		t.Errorf("only %d instructions compared", checked)
	}
	t.Logf("%d accepted instructions compared with x86asm", checked)
}
