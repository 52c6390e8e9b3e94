package vfs

import (
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// hostPathOf returns the host path a resolved node stands for (through
// /proc/self/fd), "" for a synthetic directory.
func hostPathOf(t testing.TB, n *node) string {
	if n.fd < 0 {
		return ""
	}
	dir, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(n.fd))
	if err != nil {
		t.Fatal(err)
	}
	if n.name == "" {
		return dir
	}
	return filepath.Join(dir, n.name)
}

func within(p, root string) bool {
	return p == root || strings.HasPrefix(p, root+"/")
}

// FuzzResolve: resolution never panics, never yields a host object
// outside the mount it claims, returns canonical guest paths that resolve
// to themselves, and keeps every error a plain errno.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{
		"/", "/data/a.txt", "../../../etc/passwd", "/data/up/data/upsecret", "/data/hostabs",
		"/data/dirlink/../../..", "/data/sub/dotdot/dotdot/dotdot", "/data/loop1/x", "/lib/deep/er/../../..",
		"data/./sub//rel/", "/data/shadow/../shadow/o.txt", "/data/escape/secret", "/data/esc2/x",
	} {
		f.Add(s, "/", true)
		f.Add(s, "/data/sub", false)
	}
	root, outside, other := tree(f)
	// More ways out: a host-absolute directory link and a deep climb.
	os.Symlink(outside, filepath.Join(root, "escape"))
	os.Symlink(strings.Repeat("../", 30)+"tmp", filepath.Join(root, "esc2"))
	v, err := New(Config{Mounts: []Mount{
		{Host: root, Guest: "/data"},
		{Host: other, Guest: "/data/shadow"},
		{Host: other, Guest: "/lib/deep/er"},
	}})
	if err != nil {
		f.Fatal(err)
	}
	defer v.Close()
	rootReal, _ := filepath.EvalSymlinks(root)
	otherReal, _ := filepath.EvalSymlinks(other)
	f.Fuzz(func(t *testing.T, p, base string, follow bool) {
		if !path.IsAbs(base) {
			base = "/" + base
		}
		base = path.Clean(base)
		n, e := v.resolve(base, p, follow)
		if e != 0 {
			if n != nil {
				t.Fatalf("resolve(%q) returned a node with error %v", p, e)
			}
			return
		}
		defer n.close()
		if !path.IsAbs(n.guest) || path.Clean(n.guest) != n.guest {
			t.Fatalf("resolve(%q): guest path %q not canonical", p, n.guest)
		}
		hp := hostPathOf(t, n)
		switch {
		case n.m == nil:
			if hp != "" {
				t.Fatalf("resolve(%q): synthetic node with host path %q", p, hp)
			}
		case n.m.Host == root:
			if !within(hp, rootReal) {
				t.Fatalf("resolve(%q) = %s (host %s): outside mount %s", p, n.guest, hp, rootReal)
			}
		case n.m.Host == other:
			if !within(hp, otherReal) {
				t.Fatalf("resolve(%q) = %s (host %s): outside mount %s", p, n.guest, hp, otherReal)
			}
		}
		if within(hp, outside) {
			t.Fatalf("resolve(%q) reached %s", p, hp)
		}
		// The canonical path names the same thing.
		n2, e := v.resolve("/", n.guest, false)
		if e != 0 {
			t.Fatalf("resolve(%q) = %q, which does not resolve: %v", p, n.guest, e)
		}
		defer n2.close()
		if n2.guest != n.guest || hostPathOf(t, n2) != hp {
			t.Fatalf("resolve(%q) = %q (%s), again %q (%s)", p, n.guest, hp, n2.guest, hostPathOf(t, n2))
		}
	})
}

// TestNoDescriptorLeak: resolutions, successful or not, close every host
// descriptor they open.
func TestNoDescriptorLeak(t *testing.T) {
	v, _, _ := newFS(t)
	count := func() int {
		e, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(e)
	}
	before := count()
	for range 3 {
		for _, p := range []string{"/data/a.txt", "/data/loop1", "/data/dirlink/../sub/rel", "/data/nope/x",
			"/data/a.txt/x", "/data/up/data/up/lib/deep/er/o.txt", "/" + strings.Repeat("data/sub/", 100)} {
			for _, follow := range []bool{true, false} {
				if n, e := v.resolve("/", p, follow); e == 0 {
					n.close()
				}
			}
		}
		if f, err := v.Open("/data/sub/rel"); err == nil {
			f.Close()
		}
	}
	if after := count(); after != before {
		t.Errorf("%d host descriptors before, %d after", before, after)
	}
	_ = unix.ENOENT
}
