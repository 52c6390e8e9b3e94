package validate

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/arch/x86/x86asm"
)

// TestSequenceSweep validates every pair, and many triples, of
// instructions from a pool of register writes, base restorations, masks,
// memory accesses, indirect jumps and string instructions (assembled with
// GNU as), at several positions in a bundle, and checks every accepted
// chunk with the x86asm oracle. It targets the rules that span several
// instructions: restricted registers, %rsp/%rbp sandboxing, masked jumps
// and string sandboxing.
func TestSequenceSweep(t *testing.T) {
	if _, err := exec.LookPath("as"); err != nil {
		t.Fatalf("GNU as is required: %v", err)
	}
	pool := seqPool()
	r32 := seqR32
	insns := assemblePool(t, pool)

	var chunks, accepted, problems int
	kinds := map[string]int{}
	code := make([]byte, 64)
	vals := []struct {
		v *Validator
		p Profile
	}{{New(refOpts), NaCl}, {New(Options{Profile: Halite, Features: AllFeatures}), Halite}}
	check := func(starts int, seq ...[]byte) {
		n := 0
		for _, s := range seq {
			n += len(s)
		}
		for _, start := range []int{32 - n, 0, 30 - n/2}[:starts] {
			if start < 0 {
				continue
			}
			for i := range code {
				code[i] = 0x90
			}
			p := start
			for _, s := range seq {
				p += copy(code[p:], s)
			}
			chunks++
			for _, pv := range vals {
				vd := pv.v.Validate(code, refBase)
				if !vd.Valid() {
					continue
				}
				accepted++
				for _, pr := range checkAccepted(code, vd, pv.p) {
					problems++
					k := pr[strings.Index(pr, ": ")+2:]
					if kinds[k]++; kinds[k] <= 2 {
						t.Errorf("%s: ACCEPTED % x: %s", pv.p, code[:start+n], pr)
					}
				}
			}
		}
	}
	for _, a := range insns {
		for _, b := range insns {
			check(3, a, b)
		}
	}
	// Triples over a few registers: every write/fix-up/use combination.
	byReg := map[string][][]byte{}
	for i, src := range pool {
		for _, r := range []string{"rax", "rsp", "rbp", "rdi"} {
			if strings.Contains(src, "%"+r) || strings.Contains(src, "%"+r32[r]) {
				byReg[r] = append(byReg[r], insns[i])
			}
		}
	}
	if testing.Short() {
		byReg = nil
	}
	for _, set := range byReg {
		for _, a := range set {
			for _, b := range set {
				for _, c := range set {
					check(1, a, b, c)
				}
			}
		}
	}
	t.Logf("sequence sweep: %d pool instructions, %d chunks, %d accepted (nacl+halite), %d oracle problems", len(insns), chunks, accepted, problems)
}

// seqR32 maps the pool's 64-bit registers to their 32-bit names.
var seqR32 = map[string]string{"rax": "eax", "rcx": "ecx", "rsp": "esp", "rbp": "ebp", "rsi": "esi", "rdi": "edi", "r11": "r11d", "r15": "r15d"}

// seqPool returns the assembler lines of the sequence pool.
func seqPool() []string {
	regs := []string{"rax", "rcx", "rsp", "rbp", "rsi", "rdi", "r11", "r15"}
	r32 := seqR32
	r16 := map[string]string{"rax": "ax", "rcx": "cx", "rsp": "sp", "rbp": "bp", "rsi": "si", "rdi": "di", "r11": "r11w", "r15": "r15w"}
	// {r}, {e}, {w}: the 64-, 32- and 16-bit names of each register.
	templates := []string{
		"mov %{e}, %{e}", "mov %{r}, %{r}", "mov %{w}, %{w}", "lea 8(%rax), %{e}", "add $8, %{e}", "sub $8, %{r}",
		"and $-32, %{e}", "and $-32, %{r}", "and $-16, %{e}", "add %r15, %{r}", "or %r15, %{r}", "add %{r}, %r15",
		"lea (%{r},%r15,1), %{r}", "lea (%r15,%{r},1), %{r}", "lea 0(%{r},%r15,1), %{r}", "jmp *%{r}", "call *%{r}",
		"mov (%r15,%{r},1), %eax", "mov %eax, (%r15,%{r},4)", "mov (%{r}), %eax", "mov %eax, 8(%{r})", "pop %{r}",
		"push %{r}", "xchg %{e}, %{e}", "movzwl %{w}, %{e}",
	}
	var pool []string
	for _, r := range regs {
		rep := strings.NewReplacer("{r}", r, "{e}", r32[r], "{w}", r16[r])
		for _, tmpl := range templates {
			pool = append(pool, rep.Replace(tmpl))
		}
	}
	pool = append(pool, "mov %rsp, %rbp", "mov %rbp, %rsp", "and $-16, %rsp", "stos %eax, %es:(%rdi)",
		"movsb %ds:(%rsi), %es:(%rdi)", "lods %ds:(%rsi), %al", "rep stosq %rax, %es:(%rdi)", "maskmovq %mm1, %mm2",
		"mov %fs:0x0, %rax", "mov %fs:0x0, %rsp", "nop", "ret", "mov 8(%rsp), %rax", "mov %rax, -8(%rbp)",
		"bsr %ecx, %eax", "bsf %ecx, %eax", "cmove %ecx, %eax", "cmpxchg %ecx, %eax", "xchg %ecx, %eax", "movd %xmm0, %eax",
		"popcnt %ecx, %eax", "imul %ecx, %eax", "shl $3, %eax", "movsbl %cl, %eax", "mov %ax, %ax", "mov %al, %al", "cltq", "cwtl",
		"xadd %ecx, %eax", "bswap %eax", "not %eax", "neg %eax", "bsr %esp, %esp", "cmove %ecx, %esp", "bswap %esp",
		// direct jumps with small displacements (targets depend on placement)
		".byte 0xeb, 0x00", ".byte 0xeb, 0x01", ".byte 0xeb, 0x02", ".byte 0xeb, 0x03", ".byte 0xeb, 0x05",
		".byte 0xeb, 0xfb", ".byte 0xeb, 0xf7", ".byte 0x74, 0xf4", ".byte 0xe8, 0, 0, 0, 0", ".byte 0xe9, 0xe0, 0xff, 0xff, 0xff")
	// %rsp cannot be an index register.
	kept := pool[:0]
	for _, l := range pool {
		if !strings.Contains(l, ",%rsp,") {
			kept = append(kept, l)
		}
	}
	pool = kept
	return pool
}

// assemblePool assembles each line of src and returns the encodings, in
// order (split with x86asm, whose lengths for these plain forms are exact).
func assemblePool(t testing.TB, src []string) [][]byte {
	t.Helper()
	dir := t.TempDir()
	s := filepath.Join(dir, "pool.s")
	if err := os.WriteFile(s, []byte(".text\n"+strings.Join(src, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	text := assemble(t, s)
	var out [][]byte
	for off := 0; off < len(text); {
		in, err := x86asm.Decode(text[off:], 64)
		if err != nil {
			t.Fatalf("x86asm on pool at %#x: %v", off, err)
		}
		out = append(out, text[off:off+in.Len])
		off += in.Len
	}
	if len(out) != len(src) {
		t.Fatalf("pool: %d lines assembled to %d instructions", len(src), len(out))
	}
	return out
}

// FuzzPoolSequences builds chunks from the sequence pool: each input byte
// picks a pool instruction (0xff pads with nops to the bundle end), so the
// fuzzer explores multi-instruction rules (restrictions, fix-ups, masked
// jumps, string sandboxing) far faster than with raw bytes. The chunk is
// checked like FuzzValidate's.
func FuzzPoolSequences(f *testing.F) {
	if _, err := exec.LookPath("as"); err != nil {
		f.Fatalf("GNU as is required: %v", err)
	}
	insns := assemblePool(f, seqPool())
	f.Add([]byte{0, 1, 2})
	f.Add([]byte{6, 9, 15, 0xff, 3})
	f.Fuzz(func(t *testing.T, sel []byte) {
		var code []byte
		for _, b := range sel {
			if len(code) >= maxPropChunk-32 {
				break
			}
			if b == 0xff {
				for len(code)%32 != 0 {
					code = append(code, 0x90)
				}
				continue
			}
			code = append(code, insns[int(b)%len(insns)]...)
		}
		code = chunkFrom(code)
		stop := watchdog(10*time.Second, func() []byte { return code })
		defer stop()
		for _, p := range checkChunk(code) {
			t.Errorf("chunk %x: %s", code, p)
		}
	})
}
