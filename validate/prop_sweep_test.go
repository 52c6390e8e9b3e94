package validate

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
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
	opMaps := [][]byte{nil, {0x0f}, {0x0f, 0x38}, {0x0f, 0x3a}}
	var chunks, accepted, problems int
	kinds := map[string]int{}
	skipped := map[string]int{}
	sawSkip := false
	oracleSkipped = func(b []byte) {
		k := fmt.Sprintf("% x", b[:min(4, len(b))])
		skipped[k]++
		sawSkip = true
	}
	var unchecked []uncheckedChunk
	defer func() { oracleSkipped = nil }()
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
			sawSkip = false
			probs := checkAccepted(code, vd, pv.p)
			if sawSkip && len(unchecked) < 100000 {
				c := append([]byte(nil), code...)
				unchecked = append(unchecked, uncheckedChunk{c, Code(c, refBase, Options{Profile: pv.p, Features: AllFeatures}), pv.p})
			}
			for _, p := range probs {
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
			for _, m := range opMaps {
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
	t.Logf("opcode sweep: %d chunks, %d accepted (nacl+halite), %d oracle problems, %d accepted forms x86asm cannot decode (unchecked)", chunks, accepted, problems, len(skipped))
	keys := slices.Sorted(maps.Keys(skipped))
	if len(keys) > 20 {
		keys = keys[:20]
	}
	for _, k := range keys {
		t.Logf("  x86asm cannot decode: %s ... (%d)", k, skipped[k])
	}
	objdumpCheck(t, unchecked)

}

// uncheckedChunk is an accepted chunk with instructions x86asm could not
// decode, and its verdict.
type uncheckedChunk struct {
	code    []byte
	vd      *Verdict
	profile Profile
}

// objdumpCheck is the second length oracle, GNU objdump, for accepted
// chunks the x86asm oracle could not fully check: every validator target
// must be an objdump instruction start and no target may fall inside an
// objdump instruction (after an instruction objdump calls (bad), until it
// meets a target again, nothing is compared).
func objdumpCheck(t *testing.T, unchecked []uncheckedChunk) {
	t.Helper()
	var blob []byte
	for _, u := range unchecked {
		blob = append(blob, u.code...)
	}
	insns := objdumpInsns(t, blob)
	bad := map[string]int{}
	base := 0
	for _, u := range unchecked {
		end := base + len(u.code)
		// After an instruction objdump calls (bad) its decoding is
		// unreliable until it meets a validator target again.
		synced := true
		for a := base; a < end; a++ {
			in, ok := insns[a]
			if !synced {
				if ok && u.vd.IsTarget(a-base) && !in.bad {
					synced = true
				} else {
					continue
				}
			}
			if !ok {
				if u.vd.IsTarget(a - base) {
					t.Errorf("ACCEPTED % x: %#x is a target but not an objdump instruction start", u.code, a-base)
				}
				continue
			}
			if in.bad {
				if u.vd.IsTarget(a - base) {
					bad[fmt.Sprintf("% x", u.code[a-base:min(a-base+4, end-base)])]++
				}
				synced = false
				continue
			}
			if (a-base)/32 != (a-base+in.n-1)/32 {
				t.Errorf("ACCEPTED % x: objdump's %s at %#x crosses a bundle end", u.code, in.text, a-base)
			}
			if why := objdumpForbidden(in.text, u.profile); why != "" {
				t.Errorf("ACCEPTED % x: objdump's %s at %#x: %s", u.code, in.text, a-base, why)
			}
			for o := a + 1; o < a+in.n && o < end; o++ {
				if u.vd.IsTarget(o - base) {
					t.Errorf("ACCEPTED % x: objdump decodes %s (%d bytes) at %#x but %#x is a target", u.code, in.text, in.n, a-base, o-base)
				}
			}
		}
		base = end
	}
	t.Logf("objdump checked %d chunks x86asm could not; %d accepted instruction forms objdump calls (bad) (encodings the CPU rejects with #UD, or objdump gaps):", len(unchecked), len(bad))
	badKeys := slices.Sorted(maps.Keys(bad))
	if len(badKeys) > 12 {
		badKeys = badKeys[:12]
	}
	for _, k := range badKeys {
		t.Logf("  objdump (bad): %s ...", k)
	}
}

// objdumpPrefixWords are the prefix words objdump prints before a
// mnemonic.
var objdumpPrefixWords = map[string]bool{"data16": true, "data32": true, "addr32": true, "lock": true, "rep": true,
	"repz": true, "repnz": true, "repe": true, "repne": true, "notrack": true, "bnd": true, "cs": true, "ds": true,
	"es": true, "ss": true, "fs": true, "gs": true, "{vex}": true, "{vex3}": true}

// objdumpDenied are mnemonic prefixes that accepted code must never hold
// (system, I/O, far, returns, and instructions that write memory through
// an unchecked register or implicit table).
// A name ending in a space must match the whole mnemonic.
var objdumpDenied = []string{"syscall", "sysenter", "sysexit", "sysret", "int ", "int1 ", "int3 ", "into ", "iret",
	"ret ", "retq ", "retw ", "retl ", "lret", "lcall", "ljmp", "in ", "out ", "insb ", "insw ", "insl ", "insd ",
	"outsb ", "outsw ", "outsl ", "outsd ", "pushf", "popf", "enter", "leave", "xlat", "lgdt", "lidt", "lldt",
	"ltr ", "sgdt", "sidt", "sldt", "str ", "lmsw", "smsw", "rdmsr", "wrmsr", "cli ", "sti ", "swapgs", "rdfsbase",
	"rdgsbase", "wrfsbase", "wrgsbase", "invlpg", "clts", "wbinvd", "invd ", "rdpmc", "movdir64b", "movdiri", "enqcmd",
	"clzero", "monitor", "mwait", "bndstx", "bndldx", "vmrun", "vmload", "vmsave", "vmmcall", "vmcall", "stgi",
	"clgi", "skinit", "rdpru", "wrpkru", "encl", "pconfig", "ptwrite", "wrss", "rstorssp", "saveprevssp",
	"setssbsy", "clrssbsy", "tpause", "umwait", "umonitor", "uiret", "clui", "stui", "senduipi", "loadiwkey",
	"tdcall", "seamcall", "seamret", "seamops", "xbegin", "rsm ", "getsec", "xsaves", "xrstors", "invpcid"}

// objdumpForbidden checks one objdump-disassembled accepted instruction
// for a denied mnemonic, a segment override, or a memory operand whose
// base is not %r15/%rsp/%rbp/%rip; it returns why, or "".
func objdumpForbidden(text string, profile Profile) string {
	f := strings.Fields(text)
	for len(f) > 0 && (objdumpPrefixWords[f[0]] || strings.HasPrefix(f[0], "rex")) {
		f = f[1:]
	}
	if len(f) == 0 {
		return ""
	}
	mn := f[0]
	ops := strings.Join(f[1:], " ")
	for _, d := range objdumpDenied {
		if strings.HasPrefix(mn+" ", d) {
			return "denied instruction " + mn
		}
	}
	if strings.Contains(ops, "%fs:") || strings.Contains(ops, "%gs:") || strings.Contains(ops, "%cs:") ||
		strings.Contains(ops, "%ds:") || strings.Contains(ops, "%es:") || strings.Contains(ops, "%ss:") {
		if !(profile == Halite && mn == "mov" && strings.HasPrefix(ops, "%fs:0x0,%r")) && !strings.HasPrefix(mn, "nop") &&
			!strings.Contains(ops, "%es:(%rdi)") && !strings.Contains(ops, "%ds:(%rsi)") {
			return "segment override"
		}
	}
	if strings.HasPrefix(mn, "prefetch") || strings.HasPrefix(mn, "nop") || strings.HasPrefix(mn, "lea") {
		return ""
	}
	for rest := ops; ; {
		i := strings.Index(rest, "(%")
		if i < 0 {
			break
		}
		rest = rest[i+2:]
		j := strings.IndexAny(rest, ",)")
		if j < 0 {
			break
		}
		switch base := rest[:j]; base {
		case "r15", "rsp", "rbp", "rip", "rdi", "rsi": // %rdi/%rsi: string forms, checked by x86asm where decodable
		default:
			return "memory base %" + base
		}
	}
	return ""
}

type objdumpInsn struct {
	n    int
	text string
	bad  bool
}

// objdumpInsns disassembles blob with GNU objdump and returns its
// instructions by offset.
func objdumpInsns(t *testing.T, blob []byte) map[int]objdumpInsn {
	t.Helper()
	out := map[int]objdumpInsn{}
	if len(blob) == 0 {
		return out
	}
	if _, err := exec.LookPath("objdump"); err != nil {
		t.Fatalf("GNU objdump is required (binutils): %v", err)
	}
	f := filepath.Join(t.TempDir(), "blob.bin")
	if err := os.WriteFile(f, blob, 0o644); err != nil {
		t.Fatal(err)
	}
	text, err := exec.Command("objdump", "-D", "-b", "binary", "-m", "i386:x86-64", "--insn-width=16", f).Output()
	if err != nil {
		t.Fatalf("objdump: %v", err)
	}
	for _, line := range strings.Split(string(text), "\n") {
		parts := strings.SplitN(line, "\t", 3)
		if len(parts) < 3 {
			continue
		}
		addr, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(parts[0]), ":"), 16, 64)
		if err != nil {
			continue
		}
		n := len(strings.Fields(parts[1]))
		mn := strings.TrimSpace(parts[2])
		out[int(addr)] = objdumpInsn{n: n, text: mn, bad: strings.Contains(mn, "(bad)")}
	}
	return out
}
