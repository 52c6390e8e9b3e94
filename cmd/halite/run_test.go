package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildRunModules builds the loader's test modules with halite cc (in
// process) into a temporary directory.
func buildRunModules(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"gcc", "as", "ld"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	dir := t.TempDir()
	src := filepath.Join("..", "..", "ldso", "testdata", "sandbox")
	crash := filepath.Join(dir, "crash.c")
	if err := os.WriteFile(crash, []byte("long crash(long p) { return *(volatile long *)p; }\nint main(void) { return 7; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]string{
		{"-o", filepath.Join(dir, "libbasic_b.so"), filepath.Join(src, "basic_b.c")},
		{"-o", filepath.Join(dir, "libbasic_a.so"), filepath.Join(src, "basic_a.c"), "-L" + dir, "-lbasic_b"},
		{"-o", filepath.Join(dir, "crash.so"), crash},
	} {
		var out, errb bytes.Buffer
		if code := runCC(append([]string{"-O2", "-shared", "-fPIC"}, b...), &out, &errb); code != exitOK {
			t.Fatalf("halite cc %v: exit %d\n%s", b, code, errb.String())
		}
	}
	out, err := exec.Command("gcc", "-shared", "-fPIC", "-nostdlib", "-O2", "-o", filepath.Join(dir, "bad.so"), filepath.Join(src, "bad_syscall.c")).CombinedOutput()
	if err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	return dir
}

func TestRun(t *testing.T) {
	dir := buildRunModules(t)
	a := filepath.Join(dir, "libbasic_a.so")
	tests := []struct {
		name     string
		args     []string
		code     int
		lastLine string // of stdout
		inStderr string
	}{
		{"call", []string{"run", "--library-path", dir, a, "--call", "add", "3", "4"}, exitOK, "31", ""},
		{"negative args print unsigned", []string{"run", "--library-path", dir, a, "--call", "add", "-9", "0"}, exitOK, "18446744073709551607", ""},
		{"main", []string{"run", filepath.Join(dir, "crash.so")}, exitOK, "7", ""},
		{"trace", []string{"run", "--trace", "--library-path", dir, a, "--call", "add", "1", "1"}, exitOK, "22",
			"binding file " + a + " [0] to " + filepath.Join(dir, "libbasic_b.so") + " [0]: normal symbol `dep_twice'"},
		{"mount", []string{"run", "--mount", dir + ":/mods", "--library-path", "/mods", "/mods/libbasic_a.so", "--call", "add", "3", "4"}, exitOK, "31", ""},
		{"fault", []string{"run", filepath.Join(dir, "crash.so"), "--call", "crash", "16"}, exitFailure, "", "SIGSEGV"},
		{"missing dependency", []string{"run", a, "--call", "add"}, exitFailure, "", "libbasic_b.so: cannot open shared object file: No such file or directory"},
		{"missing file", []string{"run", filepath.Join(dir, "nothere.so")}, exitFailure, "", "nothere.so: cannot open shared object file"},
		{"missing symbol", []string{"run", filepath.Join(dir, "crash.so"), "--call", "nope"}, exitFailure, "", "undefined symbol: nope"},
		{"invalid code", []string{"run", filepath.Join(dir, "bad.so")}, exitFailure, "", "validation failed"},
		{"bad argument", []string{"run", a, "--call", "add", "x"}, exitUsage, "", `argument "x" is not a 64-bit integer`},
		{"no module", []string{"run"}, exitUsage, "", "no module given"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tc.args, &out, &errb)
			if code != tc.code {
				t.Fatalf("exit code %d, want %d (stderr %q)", code, tc.code, errb.String())
			}
			lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
			if tc.lastLine != "" && lines[len(lines)-1] != tc.lastLine {
				t.Errorf("last stdout line %q, want %q", lines[len(lines)-1], tc.lastLine)
			}
			if !strings.Contains(errb.String(), tc.inStderr) {
				t.Errorf("stderr %q lacks %q", errb.String(), tc.inStderr)
			}
			if code == exitFailure && strings.Count(strings.TrimRight(errb.String(), "\n"), "\n") != 0 {
				t.Errorf("a failure must be one line, got %q", errb.String())
			}
		})
	}
}
