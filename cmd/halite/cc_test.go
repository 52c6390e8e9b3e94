package main

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCCUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runCC(nil, &out, &errb); code != exitUsage {
		t.Fatalf("no args: exit %d, want %d", code, exitUsage)
	}
	if code := runCC([]string{"-c", "/nonexistent/x.c"}, &out, &errb); code != exitFailure {
		t.Fatalf("missing input: exit %d, want %d", code, exitFailure)
	}
}

// TestMakeProject builds testdata/makeproj with CC='halite cc', where
// halite is this test binary (TestMain runs it as the CLI under envAsCLI).
func TestMakeProject(t *testing.T) {
	for _, tool := range []string{"make", "gcc", "as", "ld"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, filepath.Join(bin, "halite")); err != nil {
		t.Fatal(err)
	}
	proj := filepath.Join(dir, "proj")
	if err := os.MkdirAll(proj, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join("..", "..", "sfi", "testdata", "makeproj")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proj, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("make", "CC=halite cc")
	cmd.Dir = proj
	cmd.Env = append(os.Environ(), envAsCLI+"=1", "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "halite cc") {
		t.Fatalf("make did not use halite cc:\n%s", out)
	}
	f, err := elf.Open(filepath.Join(proj, "libcalc.so"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.DynamicSymbols()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"calc": false, "fast_sum": false, "util_scale": false}
	for _, s := range syms {
		if _, ok := want[s.Name]; ok && s.Section != elf.SHN_UNDEF {
			if s.Value%32 != 0 {
				t.Errorf("%s at %#x is not bundle-aligned", s.Name, s.Value)
			}
			want[s.Name] = true
		}
	}
	for n, ok := range want {
		if !ok {
			t.Errorf("libcalc.so does not define %s", n)
		}
	}
}
