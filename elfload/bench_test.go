package elfload

import (
	"debug/elf"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
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
			cpu := startCPU()
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
						r := t.At(i)
						n += int(r.Type) + int(r.Sym&1) + int(r.Offset&1) + int(r.Addend&1)
					}
				}
				if n == 0 {
					b.Fatal("nothing read")
				}
				osf.Close()
			}
			cpu.report(b)
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
			cpu := startCPU()
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
						// Decode every field, as RelocTable.At does.
						r := elf.Rela64{
							Off:    binary.LittleEndian.Uint64(data[i:]),
							Info:   binary.LittleEndian.Uint64(data[i+8:]),
							Addend: int64(binary.LittleEndian.Uint64(data[i+16:])),
						}
						n += int(elf.R_TYPE64(r.Info)) + int(elf.R_SYM64(r.Info)&1) + int(r.Off&1) + int(r.Addend&1)
					}
				}
				if n == 0 {
					b.Fatal("nothing read")
				}
				f.Close()
			}
			cpu.report(b)
		})
	}
}

// cpuClock measures the process's CPU time (user+system, all threads,
// garbage collection included) over a benchmark loop: on a shared machine it
// is a steadier measure than wall-clock ns/op.
type cpuClock struct{ start time.Duration }

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuClock { return cpuClock{cpuNow()} }

func (c cpuClock) report(b *testing.B) {
	b.ReportMetric(float64(cpuNow()-c.start)/float64(b.N), "cpu-ns/op")
}
