package ldso

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// memFS is an in-memory FS: every path gets its own FileID unless two
// paths are listed as the same file; errs injects open errors.
type memFS struct {
	files map[string][]byte
	same  map[string]string // path -> path of the file it is a link to
	errs  map[string]error
	any   []byte // if set, every path not in files has these contents
}

type memFile struct {
	*bytes.Reader
	id FileID
}

func (f memFile) Close() error                 { return nil }
func (f memFile) Info() (FileID, int64, error) { return f.id, f.Size(), nil }
func idOf(path string) FileID                  { h := fnv.New64a(); h.Write([]byte(path)); return FileID{1, h.Sum64()} }
func (m *memFS) Open(path string) (File, error) {
	if err := m.errs[path]; err != nil {
		return nil, err
	}
	target := path
	if s, ok := m.same[path]; ok {
		target = s
	}
	b, ok := m.files[target]
	if !ok {
		if m.any == nil {
			return nil, fs.ErrNotExist
		}
		b = m.any
	}
	return memFile{bytes.NewReader(b), idOf(target)}, nil
}

// TestThousandsOfNeeded links an object with 3000 DT_NEEDED entries
// (hard links of one stub) and checks both the all-missing case and the
// all-deduplicated case against glibc's ldd.
func TestThousandsOfNeeded(t *testing.T) {
	if testing.Short() {
		t.Skip("links 3000 libraries")
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	dir := t.TempDir()
	stubs := filepath.Join(dir, "stubs")
	os.Mkdir(stubs, 0o755)
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args[:3], " "), err, out)
		}
	}
	os.WriteFile(filepath.Join(dir, "s.c"), []byte("int s(void){return 0;}\n"), 0o644)
	run("gcc", "-shared", "-fPIC", "-o", "stubs/libn0.so", "s.c")
	const n = 3000
	args := []string{"gcc", "-shared", "-fPIC", "-o", "many.so", "s.c", "-Lstubs", "-Wl,--no-as-needed", "-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN/stubs"}
	for i := 0; i < n; i++ {
		if i > 0 {
			if err := os.Link(filepath.Join(stubs, "libn0.so"), filepath.Join(stubs, fmt.Sprintf("libn%d.so", i))); err != nil {
				t.Fatal(err)
			}
		}
		args = append(args, fmt.Sprintf("-ln%d", i))
	}
	run(args...)
	many := filepath.Join(dir, "many.so")
	check := func(what string, wantLines int) {
		ns, err := hostNamespace(t, many, "")
		if err != nil {
			t.Fatal(err)
		}
		got := haliteLddLines(ns)
		want, ok := glibcLdd(many)
		if !ok {
			t.Fatalf("%s: glibc ldd refused", what)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: halite and glibc differ (%d vs %d lines)", what, len(got), len(want))
		}
		if len(got) != wantLines {
			t.Errorf("%s: %d lines, want %d", what, len(got), wantLines)
		}
	}
	// All present: one object, 2999 aliases by (dev, ino); libc; ld.so.
	check("hard links", 3)
	os.RemoveAll(stubs)
	// All missing: 3000 "not found" lines.
	check("missing", n+2)
}

func TestHostileDependencies(t *testing.T) {
	dir := testObjects(t)
	read := func(p string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	mid := read("mid/libmid.so")
	leaf := read("deep/libleaf.so")
	cfg := func(m *memFS) Config {
		return Config{FS: m, Cwd: "/", DefaultDirs: []string{"/lib/"}, Subdirs: []string{""}}
	}
	t.Run("unreadable dependency is skipped, then not found", func(t *testing.T) {
		m := &memFS{files: map[string][]byte{"/main.so": mid, "/lib/libleaf.so": leaf}, errs: map[string]error{"/lib/libleaf.so": fs.ErrPermission}}
		ns := NewNamespace(cfg(m))
		if _, err := ns.LoadMain("/main.so"); err != nil {
			t.Fatal(err)
		}
		lines, _ := ns.LddLines()
		if len(lines) != 1 || !lines[0].Missing {
			t.Errorf("lines %v", lines)
		}
	})
	t.Run("malformed dependency is a clear error", func(t *testing.T) {
		m := &memFS{files: map[string][]byte{"/main.so": mid, "/lib/libleaf.so": leaf[:200]}}
		_, err := NewNamespace(cfg(m)).LoadMain("/main.so")
		var le *LoadError
		if !errors.As(err, &le) || le.Name != "libleaf.so" || !strings.Contains(err.Error(), "/lib/libleaf.so") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("wrong class is skipped like glibc", func(t *testing.T) {
		bad := append([]byte(nil), leaf...)
		bad[4] = 1 // ELFCLASS32
		m := &memFS{files: map[string][]byte{"/main.so": mid, "/lib/libleaf.so": bad}}
		ns := NewNamespace(cfg(m))
		if _, err := ns.LoadMain("/main.so"); err != nil {
			t.Fatal(err)
		}
		if o := objectNamed(ns, "libleaf.so"); o == nil || !o.Missing {
			t.Errorf("libleaf: %+v", o)
		}
	})
	t.Run("object limit", func(t *testing.T) {
		m := &memFS{files: map[string][]byte{"/main.so": mid}, any: leaf}
		c := cfg(m)
		c.MaxObjects = 1
		if _, err := NewNamespace(c).LoadMain("/main.so"); err == nil || !strings.Contains(err.Error(), "more than 1 objects") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("main not an ELF file", func(t *testing.T) {
		m := &memFS{files: map[string][]byte{"/main.so": []byte("#!/bin/sh\n")}}
		if _, err := NewNamespace(cfg(m)).LoadMain("/main.so"); err == nil || !strings.Contains(err.Error(), "/main.so") {
			t.Errorf("err = %v", err)
		}
	})
}

// FuzzLoad loads a fuzzed object whose every dependency is the fuzzed
// object again under another name (so each name is a new object), then
// binds and checks versions: nothing may panic or run unbounded.
func FuzzLoad(f *testing.F) {
	for _, p := range []string{"/usr/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/python3.11/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so"} {
		if b, err := os.ReadFile(p); err == nil && len(b) < 256<<10 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m := &memFS{files: map[string][]byte{}, any: b}
		ns := NewNamespace(Config{FS: m, Cwd: "/", DefaultDirs: []string{"/lib/"}, Subdirs: []string{""}, MaxObjects: 64})
		if _, err := ns.LoadMain("/main"); err != nil {
			return
		}
		ns.LddLines()
		ns.Bind()
		ns.CheckVersions()
	})
}
