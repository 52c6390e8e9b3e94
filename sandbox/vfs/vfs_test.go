package vfs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// tree builds the test tree and returns (mount root, outside dir, other mount).
//
//	root/a.txt            "alpha"
//	root/hard             hard link to a.txt
//	root/sub/b.txt        "beta"
//	root/sub/rel   -> ../a.txt
//	root/abs       -> /data/a.txt            (guest absolute)
//	root/dirlink   -> sub
//	root/hostabs   -> <outside>/secret       (a host path: not in the guest)
//	root/up        -> ../../../../..         (climbs to the guest root)
//	root/upsecret  -> ../../outside/secret
//	root/loop1 -> loop2, root/loop2 -> loop1, root/self -> self
//	root/empty     -> ""   (not creatable with ln; skipped)
//	root/fifo             a FIFO
//	root/shadow/x.txt     hidden by the mount at /data/shadow
//	outside/secret        "secret"
//	other/o.txt           "other" (mounted at /data/shadow and /lib/deep/er)
func tree(t testing.TB) (root, outside, other string) {
	t.Helper()
	d := t.TempDir()
	root, outside, other = filepath.Join(d, "root"), filepath.Join(d, "outside"), filepath.Join(d, "other")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{root, outside, other, filepath.Join(root, "sub"), filepath.Join(root, "shadow")} {
		must(os.MkdirAll(p, 0o755))
	}
	files := map[string]string{
		"root/a.txt": "alpha", "root/sub/b.txt": "beta", "root/shadow/x.txt": "hidden",
		"outside/secret": "secret", "other/o.txt": "other",
	}
	for p, c := range files {
		must(os.WriteFile(filepath.Join(d, p), []byte(c), 0o644))
	}
	must(os.Link(filepath.Join(root, "a.txt"), filepath.Join(root, "hard")))
	links := map[string]string{
		"sub/rel": "../a.txt", "abs": "/data/a.txt", "dirlink": "sub",
		"hostabs": filepath.Join(outside, "secret"), "up": "../../../../..",
		"upsecret": "../../outside/secret", "loop1": "loop2", "loop2": "loop1", "self": "self",
		"sub/dotdot": "..", "absdir": "/data/sub", "chain": "abs",
	}
	for p, target := range links {
		must(os.Symlink(target, filepath.Join(root, p)))
	}
	must(unix.Mkfifo(filepath.Join(root, "fifo"), 0o644))
	return root, outside, other
}

func newFS(t testing.TB) (*FS, string, string) {
	root, outside, other := tree(t)
	v, err := New(Config{Mounts: []Mount{
		{Host: root, Guest: "/data"},
		{Host: other, Guest: "/data/shadow"},
		{Host: other, Guest: "/lib/deep/er/"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v, root, outside
}

func hostID(t testing.TB, p string) Identity {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return Identity{Dev: st.Dev, Ino: st.Ino}
}

func TestResolve(t *testing.T) {
	v, _, _ := newFS(t)
	tests := []struct {
		path string
		want string // canonical guest path, or "" with err
		err  unix.Errno
	}{
		{"/", "/", 0},
		{"", "", unix.ENOENT},
		{"/data", "/data", 0},
		{"/data/", "/data", 0},
		{"//data//./sub/", "/data/sub", 0},
		{"/data/a.txt", "/data/a.txt", 0},
		{"/data/a.txt/", "", unix.ENOTDIR},
		{"/data/a.txt/.", "", unix.ENOTDIR},
		{"/data/a.txt/..", "", unix.ENOTDIR},
		{"/data/a.txt/x", "", unix.ENOTDIR},
		{"/data/nope", "", unix.ENOENT},
		{"/nope", "", unix.ENOENT},
		// ".." never leaves the guest root, and a mount root's ".." is
		// the guest parent.
		{"/data/..", "/", 0},
		{"/data/../../../..", "/", 0},
		{"/../../data/../data/sub/../a.txt", "/data/a.txt", 0},
		{"/data/sub/../../data/a.txt", "/data/a.txt", 0},
		{"data/sub/b.txt", "/data/sub/b.txt", 0}, // relative to cwd "/"
		// Symlinks resolve in the guest namespace.
		{"/data/sub/rel", "/data/a.txt", 0},
		{"/data/abs", "/data/a.txt", 0},
		{"/data/chain", "/data/a.txt", 0},
		{"/data/dirlink/b.txt", "/data/sub/b.txt", 0},
		{"/data/dirlink/../a.txt", "/data/a.txt", 0}, // ".." of the link's target
		{"/data/sub/dotdot/a.txt", "/data/a.txt", 0},
		{"/data/absdir/rel", "/data/a.txt", 0},
		{"/data/up", "/", 0},
		{"/data/up/data/a.txt", "/data/a.txt", 0},
		{"/data/hostabs", "", unix.ENOENT},  // a host path means nothing in the guest
		{"/data/upsecret", "", unix.ENOENT}, // climbing out lands in the guest root
		{"/data/loop1", "", unix.ELOOP},
		{"/data/self", "", unix.ELOOP},
		{"/data/self/x", "", unix.ELOOP},
		// Mounts shadow the host and imply synthetic parents.
		{"/data/shadow/o.txt", "/data/shadow/o.txt", 0},
		{"/data/shadow/x.txt", "", unix.ENOENT},
		{"/lib", "/lib", 0},
		{"/lib/deep/er/o.txt", "/lib/deep/er/o.txt", 0},
		{"/lib/deep/er/../../deep/./er/o.txt", "/lib/deep/er/o.txt", 0},
		{"/lib/x", "", unix.ENOENT},
		{"/data/" + strings.Repeat("x", NameMax+1), "", unix.ENAMETOOLONG},
		{"/" + strings.Repeat("a/", PathMax/2), "", unix.ENAMETOOLONG},
		{"/data/a\x00b", "", unix.EINVAL},
	}
	for _, tc := range tests {
		got, err := v.Realpath(tc.path)
		if tc.err != 0 {
			if !errors.Is(err, tc.err) {
				t.Errorf("Realpath(%q) = %q, %v; want %v", tc.path, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Realpath(%q) = %q, %v; want %q", tc.path, got, err, tc.want)
		}
	}
}

func TestLstatAndReadlink(t *testing.T) {
	v, _, _ := newFS(t)
	i, err := v.Lstat("/data/abs")
	if err != nil || !i.IsSymlink() {
		t.Fatalf("Lstat(/data/abs) = %+v, %v", i, err)
	}
	if s, err := v.Readlink("/data/abs"); err != nil || s != "/data/a.txt" {
		t.Errorf("Readlink = %q, %v", s, err)
	}
	if _, err := v.Readlink("/data/a.txt"); !errors.Is(err, unix.EINVAL) {
		t.Errorf("Readlink(regular) = %v, want EINVAL", err)
	}
	// A trailing slash follows the final link.
	if i, err := v.Lstat("/data/dirlink/"); err != nil || !i.IsDir() {
		t.Errorf("Lstat(/data/dirlink/) = %+v, %v", i, err)
	}
	if _, err := v.Lstat("/data/loop1"); err != nil {
		t.Errorf("Lstat of a looping link: %v", err)
	}
}

func TestIdentity(t *testing.T) {
	v, root, _ := newFS(t)
	want := hostID(t, filepath.Join(root, "a.txt"))
	if err := v.Chdir("/data/sub"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/data/a.txt", "/data/hard", "/data/abs", "/data/sub/rel", "../a.txt", "rel", "./dotdot/a.txt"} {
		i, err := v.Stat(p)
		if err != nil || i.Identity != want {
			t.Errorf("Stat(%q) = %+v, %v; want identity %+v", p, i.Identity, err, want)
		}
		f, err := v.Open(p)
		if err != nil {
			t.Errorf("Open(%q): %v", p, err)
			continue
		}
		b, err := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
		if f.Info().Identity != want || string(b) != "alpha" || err != nil {
			t.Errorf("Open(%q): identity %+v, content %q, %v", p, f.Info().Identity, b, err)
		}
		f.Close()
	}
	// Distinct files, distinct identities; the same directory through two
	// mounts, one identity.
	ids := map[Identity]string{}
	for _, p := range []string{"/data/a.txt", "/data/sub/b.txt", "/data/sub", "/data", "/data/shadow/o.txt", "/", "/lib", "/lib/deep"} {
		i, err := v.Stat(p)
		if err != nil {
			t.Fatalf("Stat(%q): %v", p, err)
		}
		if q, dup := ids[i.Identity]; dup {
			t.Errorf("%s and %s share identity %+v", p, q, i.Identity)
		}
		ids[i.Identity] = p
	}
	a, _ := v.Stat("/data/shadow")
	b, _ := v.Stat("/lib/deep/er")
	if a.Identity != b.Identity || a.Dev == SyntheticDev {
		t.Errorf("one host directory mounted twice: %+v vs %+v", a.Identity, b.Identity)
	}
	if i, _ := v.Stat("/lib/deep"); i.Dev != SyntheticDev || !i.IsDir() || i.Ino == 0 {
		t.Errorf("synthetic directory: %+v", i)
	}
}

func TestOpenErrors(t *testing.T) {
	v, _, _ := newFS(t)
	for _, tc := range []struct {
		path string
		err  unix.Errno
	}{
		{"/data/fifo", unix.EACCES},
		{"/data/nope", unix.ENOENT},
		{"/data/loop2", unix.ELOOP},
	} {
		if _, err := v.Open(tc.path); !errors.Is(err, tc.err) {
			t.Errorf("Open(%q) = %v, want %v", tc.path, err, tc.err)
		}
	}
	if err := v.Chdir("/data/a.txt"); !errors.Is(err, unix.ENOTDIR) {
		t.Errorf("Chdir(file) = %v", err)
	}
	if v.Getwd() != "/" {
		t.Errorf("cwd %q after a failed Chdir", v.Getwd())
	}
	v.Close()
	if _, err := v.Open("/data/a.txt"); !errors.Is(err, ErrClosed) {
		t.Errorf("Open after Close = %v", err)
	}
}

func TestNewErrors(t *testing.T) {
	d := t.TempDir()
	f := filepath.Join(d, "f")
	os.WriteFile(f, nil, 0o644)
	for _, ms := range [][]Mount{
		{{Host: d, Guest: "rel"}},
		{{Host: d, Guest: "/a"}, {Host: d, Guest: "/a/"}},
		{{Host: f, Guest: "/a"}},
		{{Host: filepath.Join(d, "nope"), Guest: "/a"}},
	} {
		if v, err := New(Config{Mounts: ms}); err == nil {
			v.Close()
			t.Errorf("New(%+v) succeeded", ms)
		}
	}
	if _, err := New(Config{Mounts: []Mount{{Host: d, Guest: "/a"}}, Cwd: "/b"}); err == nil {
		t.Error("New with a missing cwd succeeded")
	}
}

func TestParseMount(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Mount
		ok   bool
	}{
		{"/h:/g", Mount{Host: "/h", Guest: "/g"}, true},
		{"/h:/g:rw", Mount{Host: "/h", Guest: "/g", Writable: true}, true},
		{"/h:/g:ro", Mount{Host: "/h", Guest: "/g"}, true},
		{"/h:/g:rx", Mount{}, false},
		{"/h", Mount{}, false},
		{":/g", Mount{}, false},
	} {
		got, err := ParseMount(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseMount(%q) = %+v, %v", tc.in, got, err)
		}
	}
}
