package validate

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// chunk32 decodes hex (spaces ignored) and pads it with nops to a
// multiple of 32 bytes.
func chunk32(t *testing.T, h string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(h, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	for len(b)%32 != 0 || len(b) == 0 {
		b = append(b, 0x90)
	}
	return b
}

// TestCoreDecisions pins the decisions the rules make in cases the
// reference suite does not cover (or covers only indirectly).
func TestCoreDecisions(t *testing.T) {
	cases := []struct {
		name string
		hex  string
		prof Profile
		want string // "" valid, else "offset:rule" of every violation, space separated
	}{
		// zero-extension
		{"mov restricts", "89c0 418b0407", NaCl, ""},
		{"lea restricts", "8d0400 418b0407", NaCl, ""},
		{"movzx restricts", "0fb6c0 418b0407", NaCl, ""},
		{"cmov does not restrict", "0f44c1 418b0407", NaCl, "3:bad-index-register"},
		{"adc does not restrict", "11c8 418b0407", NaCl, "2:bad-index-register"},
		{"sbb imm does not restrict", "83d801 418b0407", NaCl, "3:bad-index-register"},
		{"shift does not restrict", "d1e0 418b0407", NaCl, "2:bad-index-register"},
		{"bsf does not restrict", "0fbcc1 418b0407", NaCl, "3:bad-index-register"},
		{"16-bit write does not restrict", "6689c0 418b0407", NaCl, "3:bad-index-register"},
		{"64-bit write does not restrict", "4889c0 418b0407", NaCl, "3:bad-index-register"},
		{"restriction lasts one instruction", "89c0 90 418b0407", NaCl, "3:bad-index-register"},
		{"restriction ends at the bundle", strings.Repeat("90", 30) + "89c0 418b0407", NaCl, "32:bad-index-register"},
		{"xchg reg,mem restricts nothing", "870424 418b0407", NaCl, "3:bad-index-register"},
		{"xchg reg,reg restricts rm", "87c8 418b0407", NaCl, ""},
		{"implicit eax restricts", "0d01000000 418b0407", NaCl, ""},
		{"vex gp write does not restrict", "c4e278f5c1 418b0407", NaCl, "5:bad-index-register"},
		// %r15
		{"r15 32-bit write", "4189c7", NaCl, "0:r15-modified"},
		{"r15 byte write", "41b701", NaCl, "0:r15-modified"},
		{"r15 via setcc", "410f94c7", NaCl, "0:r15-modified"},
		{"r15 via movd", "66410f7ec7", NaCl, "0:r15-modified"},
		{"r15 via xchg", "4d87fe", NaCl, "0:r15-modified"},
		{"r15 via bmi vvvv", "c4e283f6c8", NaCl, "0:r15-modified"},
		{"r15 read ok", "4c89f8", NaCl, ""},
		// VEX.vvvv: reserved (1111b) without a vvvv operand
		{"vex vvvv reserved (vmovdqa)", "c5f56fc1", NaCl, "0:unrecognized-instruction"},
		{"vex vvvv operand (vaddps)", "c5f058c1", NaCl, ""},
		{"vmovss register form uses vvvv", "c5f210c1", NaCl, ""},
		{"vmovss memory form vvvv reserved", "c5f2100424", NaCl, "0:unrecognized-instruction"},
		{"vmovss memory form", "c5fa100424", NaCl, ""},
		// %rsp / %rbp
		{"ah is not rsp", "88e4", NaCl, ""},
		{"spl is rsp", "4088e4", NaCl, "0:rsp-partial-write"},
		{"pop rbp", "5d", NaCl, "0:rbp-sandboxing"},
		{"pop bp", "665d", NaCl, "0:rbp-partial-write"},
		{"push rbp mov rsp rbp", "55 4889e5", NaCl, ""},
		{"and rsp negative", "4883e4f0", NaCl, ""},
		{"sub esp then add r15", "83ec08 4c01fc", NaCl, ""},
		{"sub esp then 03-form add", "83ec08 4903e7", NaCl, ""},
		{"sub esp unfixed", "83ec08 90", NaCl, "3:rsp-sandboxing"},
		{"sub esp at bundle end", strings.Repeat("90", 29) + "83ec08", NaCl, "32:rsp-sandboxing"},
		{"fix-up without restriction", "4c01fc", NaCl, "0:rsp-sandboxing"},
		{"cmpxchg to esp", "0fb1cc", NaCl, "0:rsp-sandboxing"},
		// memory
		{"rip relative", "8b0500000000", NaCl, ""},
		{"no base", "8b042500000000", NaCl, "0:bad-base-register"},
		{"r13 is not rbp", "418b4500", NaCl, "0:bad-base-register"},
		{"r12 is not rsp", "418b0424", NaCl, "0:bad-base-register"},
		{"lea any base", "488d0401", NaCl, ""},
		{"nop any base", "0f1f440000", NaCl, ""},
		{"prefetch any base", "0f1800", NaCl, ""},
		{"bt reg into memory", "410fa307", NaCl, "0:forbidden-instruction"},
		{"bt imm into memory", "410fba2703", NaCl, ""},
		// superinstructions
		{"masked jump r8", "4183e0e0 4d01f8 41ffe0", NaCl, ""},
		{"masked call 03 form", "83e0e0 4903c7 ffd0", NaCl, ""},
		{"masked jump through r15", "4183e7e0 4d01ff 41ffe7", NaCl, "0:r15-modified 4:r15-modified 7:unmasked-indirect-jump"},
		{"jump into masked jump", "eb03 83e0e0 4c01f8 ffe0", NaCl, "0:bad-jump-target"},
		{"jump to and", "eb00 83e0e0 4c01f8 ffe0", NaCl, ""},
		{"jump to restricted use", "eb02 89c0 418b0407", NaCl, "0:bad-jump-target"},
		{"jump to string insn", "eb06 89ff 498d3c3f ab", NaCl, "0:bad-jump-target"},
		{"jump to string lea", "eb02 89ff 498d3c3f ab", NaCl, "0:bad-jump-target"},
		{"string rsi then rdi", "89f6 498d3437 89ff 498d3c3f a5", NaCl, ""},
		{"lods needs rsi", "89f6 498d3437 ac", NaCl, ""},
		{"lods with rdi only", "89ff 498d3c3f ac", NaCl, "6:unrecognized-instruction"},
		{"rep stos 64", "89ff 498d3c3f f348ab", NaCl, ""},
		// jumps
		{"branch hint", "3e7400", NaCl, ""},
		{"loop hint", "2ee200", NaCl, "0:unrecognized-instruction"},
		{"jump out aligned", "e9fb010000", NaCl, ""},
		{"jump out unaligned", "e9fc010000", NaCl, "0:jump-out-of-range"},
		{"jump back out aligned", "e9dbffffff", NaCl, ""},
		{"16-bit jump", "66e90000", NaCl, "0:unrecognized-instruction"},
		// decoding stops at the bundle after an error
		{"unrecognized ends bundle", "0f05 0000", NaCl, "0:forbidden-instruction"},
		{"crossing", strings.Repeat("90", 30) + "b801909090", NaCl, "30:bundle-crossing"},
		{"aes decoded and rejected", "660f38dcc8 0000", NaCl, "0:forbidden-instruction 5:bad-base-register"},
		// segment prefixes and the Halite profile
		{"fs read nacl", "64488b042500000000", NaCl, "0:segment-prefix"},
		{"fs read halite", "64488b042500000000", Halite, ""},
		{"fs read r12 halite", "644c8b242500000000", Halite, ""},
		{"fs read into rsp", "64488b242500000000", Halite, "0:rsp-sandboxing"},
		{"fs read 32-bit", "648b042500000000", Halite, "0:segment-prefix"},
		{"fs read offset 8", "64488b042508000000", Halite, "0:segment-prefix"},
		{"fs write", "644889042500000000", Halite, "0:segment-prefix"},
		{"gs read", "65488b042500000000", Halite, "0:segment-prefix"},
		{"fs with base", "64498b07", Halite, "0:segment-prefix"},
		// prefixes
		{"66 on byte op", "6600c0", NaCl, "0:unrecognized-instruction"},
		{"66 and rex.w", "664801c3", NaCl, "0:unrecognized-instruction"},
		{"lock reg", "f001c0", NaCl, "0:unrecognized-instruction"},
		{"lock mem", "f0410107", NaCl, ""},
		{"rex then prefix", "4866 01c0", NaCl, "0:unrecognized-instruction"},
		{"addr32", "67418b07", NaCl, "0:unrecognized-instruction"},
		{"long nop", "66662e0f1f840000000000", NaCl, ""},
		{"rex.w nop", "480f1f00", NaCl, "0:unrecognized-instruction"},
		{"pause", "f390", NaCl, ""},
		{"rep nop with 66", "66f390", NaCl, "0:unrecognized-instruction"},
	}
	for _, c := range cases {
		code := chunk32(t, c.hex)
		vd := Code(code, 0x10000, Options{Profile: c.prof, Features: AllFeatures})
		var got []string
		seen := map[string]bool{}
		for _, v := range vd.Violations {
			s := fmt.Sprintf("%d:%s", v.Offset, v.Rule)
			if !seen[s] {
				seen[s] = true
				got = append(got, s)
			}
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("%s (%s, %v): got %q, want %q\n%v", c.name, c.hex, c.prof, g, c.want, vd.Err())
		}
	}
}
