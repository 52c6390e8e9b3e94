package ldso

import "testing"

// BenchmarkLoadLibpython measures LoadMain (search, open, parse, dedup)
// for libpython3.11 and its dependencies, the work of `halite ldd`.
func BenchmarkLoadLibpython(b *testing.B) {
	const p = "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"
	for i := 0; i < b.N; i++ {
		ns, err := hostNamespace(b, p, "")
		if err != nil {
			b.Skip(err)
		}
		if lines, _ := ns.LddLines(); len(lines) == 0 {
			b.Fatal("no lines")
		}
	}
}

// BenchmarkReadCache measures reading and parsing /etc/ld.so.cache.
func BenchmarkReadCache(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := ReadCache("/etc/ld.so.cache"); err != nil {
			b.Skip(err)
		}
	}
}
