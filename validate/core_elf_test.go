package validate

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"halite/elfload"
)

// buildELF assembles src with as and links it with ld into a static
// executable in a temporary directory.
func buildELF(t *testing.T, src string) string {
	t.Helper()
	for _, tool := range []string{"as", "ld"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: %v", tool, err)
		}
	}
	dir := t.TempDir()
	s := filepath.Join(dir, "a.s")
	o := filepath.Join(dir, "a.o")
	x := filepath.Join(dir, "a.out")
	if err := os.WriteFile(s, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("as", "-o", o, s).CombinedOutput(); err != nil {
		t.Fatalf("as: %v\n%s", err, out)
	}
	if out, err := exec.Command("ld", "-o", x, "-e", "_start", o).CombinedOutput(); err != nil {
		t.Fatalf("ld: %v\n%s", err, out)
	}
	return x
}

func TestELF(t *testing.T) {
	cases := []struct {
		name  string
		src   string
		valid bool
		rules []Rule
	}{
		{"valid", `.text
.globl _start
.p2align 5
_start:
	mov %edi, %edi
	movl $1, (%r15,%rdi,1)
	and $-32, %eax
	add %r15, %rax
	jmp *%rax
	.p2align 5, 0xf4
`, true, nil},
		{"invalid", `.text
.globl _start
.p2align 5
_start:
	movl $1, (%rax)
	syscall
	.p2align 5, 0xf4
`, false, []Rule{RuleBadBase, RuleForbidden}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := elfload.Open(buildELF(t, c.src))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			vs, err := ELF(f.Plan, Options{Features: AllFeatures})
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) != 1 {
				t.Fatalf("%d executable segments, want 1", len(vs))
			}
			v := vs[0]
			if v.Start%32 != 0 || len(v.Code)%32 != 0 || v.Start > v.Segment.Vaddr || v.Start+uint64(len(v.Code)) < v.Segment.Vaddr+v.Segment.Filesz {
				t.Errorf("chunk [%#x,+%#x) does not cover segment %+v", v.Start, len(v.Code), v.Segment)
			}
			if v.Verdict.Valid() != c.valid {
				t.Fatalf("valid = %v, want %v: %v", v.Verdict.Valid(), c.valid, v.Verdict.Err())
			}
			got := map[Rule]bool{}
			for _, x := range v.Verdict.Violations {
				got[x.Rule] = true
			}
			for _, r := range c.rules {
				if !got[r] {
					t.Errorf("no %s violation in %v", r, v.Verdict.Err())
				}
			}
		})
	}
}

// TestELFSystemLibrary validates a system library (not SFI code): every
// executable segment is reported, invalid, with offsets inside the chunk.
func TestELFSystemLibrary(t *testing.T) {
	const lib = "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0"
	f, err := elfload.Open(lib)
	if err != nil {
		t.Skipf("%s: %v", lib, err)
	}
	defer f.Close()
	vs, err := ELF(f.Plan, Options{Features: AllFeatures, MaxErrors: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatal("no executable segment")
	}
	for _, v := range vs {
		if v.Verdict.Valid() {
			t.Errorf("segment %d of %s is valid SFI code?", v.Index, lib)
		}
		if !v.Verdict.Truncated || len(v.Verdict.Violations) != 100 {
			t.Errorf("MaxErrors 100: got %d violations, truncated %v", len(v.Verdict.Violations), v.Verdict.Truncated)
		}
		for _, x := range v.Verdict.Violations {
			if x.Offset < 0 || x.Offset > len(v.Code) {
				t.Errorf("offset %#x outside the chunk", x.Offset)
			}
		}
	}
}
