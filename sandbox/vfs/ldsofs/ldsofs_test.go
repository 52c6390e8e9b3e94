package ldsofs

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"halite/ldso"
	"halite/sandbox/vfs"
)

var _ ldso.FS = FS{}

// TestDedup: the loader, searching through the VFS, loads one object for
// one file reached by its name, a symlink, a hard link and a relative path.
func TestDedup(t *testing.T) {
	d := t.TempDir()
	src := filepath.Join(d, "x.c")
	if err := os.WriteFile(src, []byte("int x(void) { return 42; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lib := filepath.Join(d, "m", "libx.so")
	os.MkdirAll(filepath.Join(d, "m", "sub"), 0o755)
	if out, err := exec.Command("gcc", "-shared", "-fPIC", "-nostdlib", "-Wl,-soname,libx.so", "-o", lib, src).CombinedOutput(); err != nil {
		t.Skipf("gcc: %v\n%s", err, out)
	}
	other := filepath.Join(d, "m", "liby.so")
	if out, err := exec.Command("gcc", "-shared", "-fPIC", "-nostdlib", "-Wl,-soname,liby.so", "-o", other, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	if err := os.Symlink("/lib/libx.so", filepath.Join(d, "m", "sub", "link.so")); err != nil { // a guest path
		t.Fatal(err)
	}
	if err := os.Link(lib, filepath.Join(d, "m", "hard.so")); err != nil {
		t.Fatal(err)
	}
	v, err := vfs.New(vfs.Config{Mounts: []vfs.Mount{{Host: filepath.Join(d, "m"), Guest: "/lib"}}, Cwd: "/lib/sub"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ns := ldso.NewNamespace(ldso.Config{FS: New(v), Cwd: v.Getwd(), DefaultDirs: []string{}, Subdirs: []string{""}})
	defer ns.Close()
	main, err := ns.LoadMain("/lib/libx.so")
	if err != nil {
		t.Fatal(err)
	}
	n := len(ns.Objects)
	for _, name := range []string{"/lib/sub/link.so", "/lib/hard.so", "../hard.so", "./link.so", "/lib/sub/../libx.so"} {
		o, _, loaded, err := ns.Dlopen(name, main)
		if err != nil {
			t.Fatalf("Dlopen(%q): %v", name, err)
		}
		if o != main || len(loaded) != 0 || len(ns.Objects) != n {
			t.Errorf("Dlopen(%q) loaded %d objects (object %s), want the main object again", name, len(loaded), o.Path)
		}
	}
	o, _, loaded, err := ns.Dlopen("/lib/liby.so", main)
	if err != nil || o == main || len(loaded) != 1 {
		t.Errorf("Dlopen(liby.so) = %v, %d loaded, %v; want a new object", o, len(loaded), err)
	}
	if f, err := New(v).Open("/lib/sub"); err != nil {
		t.Errorf("Open(dir): %v", err)
	} else {
		if _, _, err := f.Info(); err == nil {
			t.Error("Info of a directory succeeded")
		}
		f.Close()
	}
	if _, err := New(v).Open("/lib/nope.so"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want ErrNotExist", err)
	}
}
