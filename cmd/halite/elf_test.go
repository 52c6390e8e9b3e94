package main

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testLib = "/usr/lib/x86_64-linux-gnu/libc.so.6"

// wxCopy writes a copy of /usr/bin/true whose first PT_LOAD segment is
// readable, writable and executable.
func wxCopy(t *testing.T) string {
	t.Helper()
	const src = "/usr/bin/true"
	data, err := os.ReadFile(src)
	if err != nil {
		t.Skip(err)
	}
	ef, err := elf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	phoff := binary.LittleEndian.Uint64(data[32:])
	for i, p := range ef.Progs {
		if p.Type == elf.PT_LOAD {
			binary.LittleEndian.PutUint32(data[phoff+uint64(i)*56+4:], uint32(elf.PF_R|elf.PF_W|elf.PF_X))
			break
		}
	}
	path := filepath.Join(t.TempDir(), "wx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestELFCommand(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, []byte("\x7fELF\x01\x01\x01\x00 definitely not 64-bit ELF, padding padding padding padding"), 0o644); err != nil {
		t.Fatal(err)
	}
	wx := wxCopy(t)
	tests := []struct {
		name     string
		args     []string
		code     int
		inStdout []string
		inStderr string
	}{
		{"libc", []string{"elf", testLib}, exitOK, []string{"Soname:   libc.so.6", "TLS:", "RELRO:", "R_X86_64_JMP_SLOT", "Needed:   ld-linux-x86-64.so.2"}, ""},
		{"wx", []string{"elf", wx}, exitOK, []string{"rwx  W+X!", "WARNING:    segment 0 at 0x0 is writable and executable (W+X)"}, ""},
		{"garbage", []string{"elf", garbage}, exitFailure, nil, "offset 0x4: class ELFCLASS32, want ELFCLASS64 [bad-class]"},
		{"missing", []string{"elf", filepath.Join(dir, "nope")}, exitFailure, nil, "no such file"},
		{"no file", []string{"elf"}, exitUsage, nil, "want exactly one FILE"},
		{"two files", []string{"elf", testLib, testLib}, exitUsage, nil, "want exactly one FILE"},
		{"help", []string{"help", "elf"}, exitOK, []string{"usage: halite elf [--json] FILE", "-json"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tc.args, &out, &errb)
			if code != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.code, errb.String())
			}
			for _, s := range tc.inStdout {
				if !strings.Contains(out.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, out.String())
				}
			}
			if !strings.Contains(errb.String(), tc.inStderr) {
				t.Errorf("stderr %q lacks %q", errb.String(), tc.inStderr)
			}
			if tc.code == exitFailure && strings.Count(errb.String(), "\n") != 1 {
				t.Errorf("stderr %q: want exactly one line", errb.String())
			}
		})
	}
}

func TestELFCommandJSON(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"elf", "--json", testLib}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var s elfSummary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if s.Type != "ET_DYN" || s.Dynamic == nil || s.Dynamic.Soname != "libc.so.6" || s.TLS == nil || len(s.Segments) == 0 {
		t.Errorf("unexpected summary: %+v", s)
	}
	if r := s.Dynamic.Relocations["jmprel"]; r == nil || r.Count == 0 || r.ByType["R_X86_64_JMP_SLOT"] == 0 {
		t.Errorf("jmprel summary %+v", r)
	}
}
