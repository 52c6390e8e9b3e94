package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	valid := write("valid.hex", "# masked jump\n83 e0 e0 \\\\\n4c 01 f8 \\\\\nff e0\n")
	invalid := write("invalid.hex", "90\n00 00 # add %al,(%rax)\n0f 05\n")
	fsread := write("fs.hex", "64 48 8b 04 25 00 00 00 00\n")
	badHex := write("bad.hex", "zz\n")
	raw := write("raw.bin", strings.Repeat("\x90", 32))
	rawOdd := write("odd.bin", "\x90")
	notELF := write("notelf", "hello")
	tests := []struct {
		name     string
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{"hex valid", []string{"validate", "--hex", valid}, exitOK, "valid", ""},
		{"hex invalid", []string{"validate", "--hex", invalid}, exitFailure, "bad-base-register", ""},
		{"hex invalid summary", []string{"validate", "--hex", invalid}, exitFailure, "violations by rule:", ""},
		{"fs read halite", []string{"validate", "--profile", "halite", "--hex", fsread}, exitOK, "valid", ""},
		{"fs read nacl", []string{"validate", "--profile", "nacl", "--hex", fsread}, exitFailure, "segment-prefix", ""},
		{"bad hex", []string{"validate", "--hex", badHex}, exitUsage, "", "hex line 1"},
		{"raw", []string{"validate", "--raw", raw, "--base", "0x10000"}, exitOK, "32 bytes, 32 instructions, 1 bundles", ""},
		{"raw no base", []string{"validate", "--raw", raw}, exitUsage, "", "--raw needs --base"},
		{"raw unaligned base", []string{"validate", "--raw", raw, "--base", "0x10001"}, exitFailure, "chunk-layout", ""},
		{"raw odd size", []string{"validate", "--raw", rawOdd, "--base", "0"}, exitFailure, "chunk-layout", ""},
		{"not elf", []string{"validate", notELF}, exitUsage, "", "notelf"},
		{"missing", []string{"validate", filepath.Join(dir, "nope")}, exitUsage, "", "nope"},
		{"no args", []string{"validate"}, exitUsage, "", "want at least one FILE"},
		{"bad profile", []string{"validate", "--profile", "x", "--hex", valid}, exitUsage, "", "unknown profile"},
		{"bad cpu", []string{"validate", "--cpu", "x", "--hex", valid}, exitUsage, "", "--cpu"},
		{"max errors", []string{"validate", "--max-errors", "1", "--hex", invalid}, exitFailure, "more not reported", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tc.args, &out, &errb)
			if code != tc.code {
				t.Errorf("exit code %d, want %d (stdout %q, stderr %q)", code, tc.code, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), tc.inStdout) {
				t.Errorf("stdout %q lacks %q", out.String(), tc.inStdout)
			}
			if !strings.Contains(errb.String(), tc.inStderr) {
				t.Errorf("stderr %q lacks %q", errb.String(), tc.inStderr)
			}
		})
	}
}

func TestValidateCommandJSON(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.hex")
	if err := os.WriteFile(p, []byte("90\n00 00\n0f 05\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"validate", "--json", "--hex", p, "--base", "0x20000"}, &out, &errb); code != exitFailure {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	var rep struct {
		Valid  bool
		Chunks []struct {
			Violations []struct {
				Offset  int
				Address uint64
				Rule    string
				Message string
			}
		}
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if rep.Valid || len(rep.Chunks) != 1 {
		t.Fatalf("report %+v", rep)
	}
	got := map[int]string{}
	for _, v := range rep.Chunks[0].Violations {
		got[v.Offset] = v.Rule
		if v.Message == "" || v.Address != 0x20000+uint64(v.Offset) {
			t.Errorf("violation %+v", v)
		}
	}
	if got[1] != "bad-base-register" || got[3] != "forbidden-instruction" {
		t.Errorf("violations %v, want bad-base-register at 1 and forbidden-instruction at 3", got)
	}
}

// TestValidateCommandELF validates an ELF file built with as and ld.
func TestValidateCommandELF(t *testing.T) {
	for _, tool := range []string{"as", "ld"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	dir := t.TempDir()
	src := ".text\n.globl _start\n.p2align 5\n_start:\n\tmov %edi,%edi\n\tmovl $1,(%r15,%rdi,1)\n\thlt\n\t.p2align 5,0xf4\n"
	if err := os.WriteFile(filepath.Join(dir, "a.s"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][]string{{"as", "-o", "a.o", "a.s"}, {"ld", "-e", "_start", "-o", "a.out", "a.o"}} {
		cmd := exec.Command(c[0], c[1:]...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", c, err, out)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"validate", "--cpu", "all", filepath.Join(dir, "a.out")}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "segment") || !strings.Contains(out.String(), "MB/s") {
		t.Errorf("summary %q lacks segment/MB/s", out.String())
	}
}
