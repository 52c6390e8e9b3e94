package sfi

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseOperand(t *testing.T) {
	tests := []struct {
		in   string
		want operand
	}{
		{"%rax", operand{kind: opReg, reg: "rax"}},
		{"$-32", operand{kind: opImm}},
		{"8(%rsp)", operand{kind: opMem, disp: "8", base: "rsp", hasParen: true}},
		{"-4(%rax,%rbx,4)", operand{kind: opMem, disp: "-4", base: "rax", index: "rbx", scale: "4", hasParen: true}},
		{"(,%rcx,8)", operand{kind: opMem, index: "rcx", scale: "8", hasParen: true}},
		{"foo@GOTPCREL(%rip)", operand{kind: opMem, disp: "foo@GOTPCREL", base: "rip", hasParen: true}},
		{"(.L5-.L4)(%rip)", operand{kind: opMem, disp: "(.L5-.L4)", base: "rip", hasParen: true}},
		{"%fs:0", operand{kind: opMem, seg: "fs", disp: "0"}},
		{"*%rax", operand{kind: opReg, star: true, reg: "rax"}},
		{"foo+(8)", operand{kind: opMem, disp: "foo+(8)"}},
	}
	for _, tc := range tests {
		got, err := parseOperand(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		got.text = ""
		if got != tc.want {
			t.Errorf("%q: got %+v, want %+v", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"%foo", "(%rax,%zz)", "%qs:0"} {
		if _, err := parseOperand(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestRewriteRules(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // lines (trimmed) that must appear, in order
	}{
		{"memory", "movl 8(%rdi), %eax", []string{".bundle_lock", "movl %edi, %r11d", "movl 8(%r15,%r11), %eax", ".bundle_unlock"}},
		{"memory index", "addl %ecx, 4(%rdi,%rdx)", []string{".bundle_lock", "leal 4(%rdi,%rdx), %r11d", "addl %ecx, (%r15,%r11)", ".bundle_unlock"}},
		{"stack ok", "movq 8(%rsp), %rax", []string{"movq 8(%rsp), %rax"}},
		{"rsp index", "movq 8(%rsp,%rax,8), %rax", []string{"leal 8(%rsp,%rax,8), %r11d", "movq (%r15,%r11), %rax"}},
		{"rip ok", "movq foo(%rip), %rax", []string{"movq foo(%rip), %rax"}},
		{"rsp sub", "subq $40, %rsp", []string{".bundle_lock", "subl $40, %esp", "addq %r15, %rsp"}},
		{"rsp lea", "leaq -16(%rbp), %rsp", []string{"leal -16(%rbp), %esp", "addq %r15, %rsp"}},
		{"rsp and", "andq $-32, %rsp", []string{"andq $-32, %rsp"}},
		{"rbp mov", "movq %rsp, %rbp", []string{"movq %rsp, %rbp"}},
		{"leave", "leave", []string{"movq %rbp, %rsp", "popq %r11", "movl %r11d, %ebp", "addq %r15, %rbp"}},
		{"ret", "ret", []string{"popq %r11", "andl $-32, %r11d", "addq %r15, %r11", "jmp *%r11"}},
		{"call direct", "foo: nop\ncall foo", []string{".nops (32 - ((. - .Lhalite_base1) & 31)) * ((((. - .Lhalite_base1) & 31) + 4) >> 5)", ".nops 27 - ((. - .Lhalite_base1) & 31)", "call foo"}},
		{"call plt", "call foo@PLT", []string{"movq foo@GOTPCREL(%rip), %r11", ".nops 22 - ((. - .Lhalite_base1) & 31)", "andl $-32, %r11d", "call *%r11"}},
		{"call got defined", "foo: nop\ncall *foo@GOTPCREL(%rip)", []string{"movq foo@GOTPCREL(%rip), %r11", "call *%r11"}},
		{"call global defined", ".globl foo\nfoo: nop\ncall foo", []string{"movq foo@GOTPCREL(%rip), %r11", "call *%r11"}},
		{"call weak defined", ".weak foo\nfoo: nop\njmp foo", []string{"movq foo@GOTPCREL(%rip), %r11", "jmp *%r11"}},
		{"call hidden defined", ".globl foo\n.hidden foo\nfoo: nop\ncall foo", []string{".nops 27 - ((. - .Lhalite_base1) & 31)", "call foo"}},
		{"call protected defined", ".globl foo\n.protected foo\nfoo: nop\ncall foo", []string{"call foo"}},
		{"call local ifunc", ".type foo, @gnu_indirect_function\n.set foo,bar\nbar: nop\ncall foo", []string{"movq foo@GOTPCREL(%rip), %r11", "call *%r11"}},
		{"lea local ifunc", ".type foo, @gnu_indirect_function\n.set foo,bar\nbar: nop\nleaq foo(%rip), %rax", []string{"movq foo@GOTPCREL(%rip), %rax"}},
		{"dtpoff indexed", "movb %dl, x@dtpoff(%r12,%rax)", []string{".bundle_lock", "leaq x@dtpoff(%r12,%rax), %r11", "movl %r11d, %r11d", "movb %dl, (%r15,%r11)", ".bundle_unlock"}},
		{"tls gd", "data16 leaq x@tlsgd(%rip), %rdi\n.byte 0x66\nrex64\ncall *__tls_get_addr@GOTPCREL(%rip)", []string{"leaq x@tlsgd(%rip), %rdi", "movq __tls_get_addr@GOTPCREL(%rip), %r11", "call *%r11"}},
		{"tls gd plt", ".byte 0x66\nleaq x@tlsgd(%rip), %rdi\n.value 0x6666\nrex64\ncall __tls_get_addr@PLT", []string{"leaq x@tlsgd(%rip), %rdi", "movq __tls_get_addr@GOTPCREL(%rip), %r11", "call *%r11"}},
		{"tls ld", "leaq x@tlsld(%rip), %rdi\ncall *__tls_get_addr@GOTPCREL(%rip)\nleaq x@dtpoff(%rax), %rcx", []string{"leaq x@tlsld(%rip), %rdi", "call *%r11", "leaq x@dtpoff(%rax), %rcx"}},
		{"lea function", "bar: nop\nleaq bar(%rip), %rax", []string{"leaq bar(%rip), %rax"}},
		{"call alias", "foo: nop\n.set foo.localalias,foo\ncall foo.localalias", []string{".nops 27 - ((. - .Lhalite_base1) & 31)", "call foo.localalias"}},
		{"call got", "call *foo@GOTPCREL(%rip)", []string{"movq foo@GOTPCREL(%rip), %r11", "call *%r11"}},
		{"call mem", "call *16(%rax)", []string{"movl %eax, %r11d", "movq 16(%r15,%r11), %r11", "call *%r11"}},
		{"jmp reg", "notrack jmp *%rax", []string{"movq %rax, %r11", "andl $-32, %r11d", "jmp *%r11"}},
		{"rep movs", "rep movsq", []string{"movl %esi, %esi", "leaq (%r15,%rsi), %rsi", "movl %edi, %edi", "leaq (%r15,%rdi), %rdi", "rep movsq"}},
		{"stos", "rep stosb", []string{"movl %edi, %edi", "rep stosb"}},
		{"high byte", "movb %ah, (%rdx)", []string{"pushq %rbx", "movb %ah, %bl", "movl %edx, %r11d", "movb %bl, (%r15,%r11)", "movb %bl, %ah", "popq %rbx"}},
		{"fs read", "movq %fs:0, %rax", []string{"movq %fs:0, %rax"}},
		{"fs add", "addq %fs:0, %rax", []string{"movq %fs:0, %r11", "addq %r11, %rax"}},
		{"jump table label", ".section .rodata\n.L4:\n.long .L5-.L4\n.text\n.L5:\nnop", []string{".p2align 5", ".L5:"}},
		{"inline statements", "nop; movl (%rax), %eax", []string{"nop", "movl %eax, %r11d"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Rewrite([]byte(tc.in+"\n"), "t.s")
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, l := range strings.Split(string(out), "\n") {
				lines = append(lines, strings.TrimSpace(l))
			}
			i := 0
			for _, l := range lines {
				if i < len(tc.want) && l == tc.want[i] {
					i++
				}
			}
			if i < len(tc.want) {
				t.Fatalf("missing %q (in order) in:\n%s", tc.want[i], out)
			}
		})
	}
}

func TestRewriteRejects(t *testing.T) {
	tests := []struct{ in, msg string }{
		{"syscall", "forbidden"},
		{"int $0x80", "forbidden"},
		{"movq %rax, %r11", "r11"},
		{"movq %rax, %r15", "r15"},
		{"btsq %rax, (%rdx)", "bit test"},
		{".byte 0x0f, 0x05", "data directive"},
		{".byte 0x66\nnop", "data directive"},
		{".value 0x6666\nrex64\ncall *foo@GOTPCREL(%rip)", "data directive"},
		{"movq %fs:8, %rax", "segment"},
		{"movq %gs:0, %rax", "segment"},
		{"ret $8", "immediate"},
		{"movl %eax, %esp", "write to %esp"},
		{".text 1", "subsections"},
		{".bundle_lock", "not allowed"},
		{"movl (%rax, %eax", "unbalanced"},
		{"cs movl (%rax), %eax", "segment override"},
	}
	for _, tc := range tests {
		_, err := Rewrite([]byte(tc.in+"\n"), "t.s")
		var re RewriteErrors
		if !errors.As(err, &re) || len(re) == 0 {
			t.Errorf("%q: got %v, want a RewriteErrors", tc.in, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "t.s:1") {
			t.Errorf("%q: error %q does not name %q and t.s:1", tc.in, err, tc.msg)
		}
	}
}

func TestInlineAsmSourceLine(t *testing.T) {
	src := "f:\n#APP\n# 42 \"prog.c\" 1\n\tnop\n\tsyscall\n# 0 \"\" 2\n#NO_APP\n\tret\n"
	_, err := Rewrite([]byte(src), "prog.c (as assembly)")
	if err == nil || !strings.Contains(err.Error(), "prog.c:42 (inline assembly)") {
		t.Fatalf("got %v, want an error naming prog.c:42", err)
	}
}

// TestHandWrittenAssembly assembles rewritten hand-written assembly that
// exercises every rule and validates it.
func TestHandWrittenAssembly(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	s := filepath.Join("testdata", "rules.S")
	obj := filepath.Join(dir, "rules.o")
	ccRun(t, "-c", s, "-o", obj)
	regions, err := CodeRegions(obj)
	if err != nil || len(regions) == 0 {
		t.Fatalf("regions: %v", err)
	}
	so := filepath.Join(dir, "rules.so")
	ccRun(t, "-shared", "-o", so, obj)
	if _, err := os.Stat(so); err != nil {
		t.Fatal(err)
	}
}

func FuzzRewrite(f *testing.F) {
	for _, s := range []string{"movl 8(%rdi), %eax\n", "call *%rax\nret\n", ".section .rodata\n.L1:\n.long .L2-.L1\n.text\n.L2: nop\n",
		"rep movsb\nleave\n", "movb %ah, (%rdx)\n", "# 3 \"a.c\" 1\nsyscall\n# 0 \"\" 2\n", "\"quoted\":\n.string \"a;b#c\"\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		out, err := Rewrite(b, "fuzz.s")
		if err == nil && len(out) == 0 {
			t.Fatal("no output and no error")
		}
	})
}

// TestAlignLabels checks which labels must start a bundle: those that can
// be an indirect-branch target, and no others.
func TestAlignLabels(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]bool // label -> aligned
	}{
		{"static called", ".type f, @function\nf: nop\ncall f", map[string]bool{"f": false}},
		{"global", ".globl f\n.type f, @function\nf: nop", map[string]bool{"f": true}},
		{"weak", ".weak f\nf: nop", map[string]bool{"f": true}},
		{"address taken", "f: nop\nleaq f(%rip), %rax", map[string]bool{"f": true}},
		{"in data", "f: nop\n.section .data.rel.local,\"aw\"\n.quad f", map[string]bool{"f": true}},
		{"in debug", "f: nop\n.section .debug_info,\"\",@progbits\n.quad f", map[string]bool{"f": false}},
		{"set alias", "f: nop\n.globl g\n.set g, f", map[string]bool{"f": true}},
		{"equals alias", "f: nop\ng = f + 0", map[string]bool{"f": true}},
		{"symver", "f: nop\n.symver f, f@VER_1", map[string]bool{"f": true}},
		{"ifunc resolver", ".type f, @gnu_indirect_function\nf: nop", map[string]bool{"f": true}},
		{"size and loc", "f: nop\n.loc 1 2 3\n.size f, .-f", map[string]bool{"f": false}},
		{"jump target", "f: jmp .L2\n.L2: nop\njne .L2", map[string]bool{"f": false, ".L2": false}},
		{"data label", ".data\nx: .long 1\n.text\nleaq x(%rip), %rax", map[string]bool{"x": false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stmts, err := parseFile([]byte(tc.in+"\n"), "t.s")
			if err != nil {
				t.Fatal(err)
			}
			align, _ := collectAlignLabels(stmts)
			for l, want := range tc.want {
				if align[l] != want {
					t.Errorf("%s aligned = %v, want %v", l, align[l], want)
				}
			}
		})
	}
}
