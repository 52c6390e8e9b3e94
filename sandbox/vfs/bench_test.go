package vfs

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkResolve: Go-side resolution of a path with a symlink.
func BenchmarkResolve(b *testing.B) {
	v, _, _ := newFS(b)
	for b.Loop() {
		n, e := v.resolve("/", "/data/dirlink/rel", true)
		if e != 0 {
			b.Fatal(e)
		}
		n.close()
	}
}

// BenchmarkLoaderOpen: what the loader pays per candidate file (Open,
// identity, close).
func BenchmarkLoaderOpen(b *testing.B) {
	v, _, _ := newFS(b)
	for b.Loop() {
		f, err := v.Open("/data/sub/b.txt")
		if err != nil {
			b.Fatal(err)
		}
		_ = f.Info().Identity
		f.Close()
	}
}

// BenchmarkGuestReadFile: openat + read + close from sandboxed code, a
// 64 KiB file (three host calls and a thread start per iteration).
func BenchmarkGuestReadFile(b *testing.B) {
	v, root, _ := newFS(b)
	const size = 64 << 10
	if err := os.WriteFile(filepath.Join(root, "big"), make([]byte, size), 0o644); err != nil {
		b.Fatal(err)
	}
	g := newGuest(b, v)
	p, buf := g.str("/data/big"), g.alloc(size)
	b.SetBytes(size)
	for b.Loop() {
		if n := g.call("readfile", p, buf, size); n != size {
			b.Fatal(n)
		}
	}
}
