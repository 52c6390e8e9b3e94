package elfload

import (
	"debug/elf"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// benchLibs are the libraries BenchmarkPlan and BenchmarkDebugELF read.
var benchLibs = []string{
	"/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0",
	"/usr/lib/x86_64-linux-gnu/libsqlite3.so.0",
}

func benchFile(b *testing.B, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		b.Skip(err)
	}
	return fi.Size()
}

// BenchmarkPlan opens each library and reads what a loader needs: program
// headers, needed, soname, every dynamic symbol (name included) and every
// relocation. It also reports the ReadAt calls and bytes Parse makes. SetBytes is the file size, so MB/s is "file bytes planned per
// second".
func BenchmarkPlan(b *testing.B) {
	for _, path := range benchLibs {
		b.Run(filepath.Base(path), func(b *testing.B) {
			b.SetBytes(benchFile(b, path))
			b.ReportAllocs()
			var reads, read int64
			for b.Loop() {
				osf, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				fi, err := osf.Stat()
				if err != nil {
					b.Fatal(err)
				}
				cr := &countingReader{r: osf}
				f, err := Parse(cr, fi.Size())
				if err != nil {
					b.Fatal(err)
				}
				reads, read = reads+cr.calls, read+cr.bytes
				d := f.Dynamic
				n := len(d.Needed) + len(d.Soname) + len(f.Segments)
				for i := range d.Symbols.Len() {
					n += len(d.Symbols.At(i).Name)
				}
				for _, t := range []RelocTable{d.Rela, d.JmpRel} {
					for i := range t.Len() {
						n += int(t.At(i).Type)
					}
				}
				if n == 0 {
					b.Fatal("nothing read")
				}
				osf.Close()
			}
			b.ReportMetric(float64(reads)/float64(b.N), "reads/op")
			b.ReportMetric(float64(read)/float64(b.N), "read-B/op")
		})
	}
}

// countingReader counts the ReadAt calls and bytes that Parse asks for.
type countingReader struct {
	r            io.ReaderAt
	calls, bytes int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.calls++
	c.bytes += int64(len(p))
	return c.r.ReadAt(p, off)
}

// BenchmarkDebugELF does the equivalent of BenchmarkPlan with debug/elf:
// open (which reads the program and section headers), needed, soname,
// dynamic symbols, and the .rela.dyn/.rela.plt sections decoded.
func BenchmarkDebugELF(b *testing.B) {
	for _, path := range benchLibs {
		b.Run(filepath.Base(path), func(b *testing.B) {
			b.SetBytes(benchFile(b, path))
			b.ReportAllocs()
			for b.Loop() {
				f, err := elf.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				needed, err := f.DynString(elf.DT_NEEDED)
				if err != nil {
					b.Fatal(err)
				}
				soname, err := f.DynString(elf.DT_SONAME)
				if err != nil {
					b.Fatal(err)
				}
				syms, err := f.DynamicSymbols()
				if err != nil {
					b.Fatal(err)
				}
				n := len(needed) + len(soname) + len(f.Progs)
				for _, s := range syms {
					n += len(s.Name)
				}
				for _, name := range []string{".rela.dyn", ".rela.plt"} {
					sec := f.Section(name)
					if sec == nil {
						continue
					}
					data, err := sec.Data()
					if err != nil {
						b.Fatal(err)
					}
					for i := 0; i+24 <= len(data); i += 24 {
						n += int(elf.R_TYPE64(binary.LittleEndian.Uint64(data[i+8:])))
					}
				}
				if n == 0 {
					b.Fatal("nothing read")
				}
				f.Close()
			}
		})
	}
}
