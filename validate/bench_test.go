package validate

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"halite/elfload"
)

// benchValidCode packs the code of every valid reference case (each
// padded to whole bundles) into one chunk, repeated to at least 1 MiB, and
// checks that the chunk is valid.
func benchValidCode(b *testing.B) []byte {
	b.Helper()
	dir := os.Getenv("HALITE_NACL_TESTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "nacl-validator-tests", "64")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.test"))
	if len(files) == 0 {
		b.Skipf("no reference cases in %s", dir)
	}
	var unit []byte
	val := New(Options{Features: AllFeatures})
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range bytes.Split(data, []byte("\n---")) {
			hexStart := bytes.Index(c, []byte("@hex:\n"))
			outStart := bytes.Index(c, []byte("@rdfa_output:\n"))
			if hexStart < 0 || outStart < 0 || !bytes.Contains(c[outStart:], []byte("return code: 0")) {
				continue
			}
			hexEnd := hexStart + 6 + bytes.Index(c[hexStart+6:], []byte("\n@"))
			hc, err := ParseHex(c[hexStart+6 : hexEnd+1])
			if err != nil {
				b.Fatalf("%s: %v", f, err)
			}
			// Keep the cases that are valid wherever they are placed.
			if val.Validate(hc.Code, 0).Valid() {
				unit = append(unit, hc.Code...)
			}
		}
	}
	code := unit
	for len(code) < 1<<20 {
		code = append(code, unit...)
	}
	if vd := val.Validate(code, 0x10000); !vd.Valid() {
		b.Fatalf("packed valid cases are invalid: %v", vd.Err())
	}
	return code
}

// BenchmarkValidateValid validates at least 1 MiB of valid code: the valid
// reference cases packed into one chunk (sub-benchmark "refcases"), and,
// when $HALITE_BENCH_SFI_ELF names an ELF file compiled by halite cc, its
// executable segment (sub-benchmark "sfi": realistic compiler output).
func BenchmarkValidateValid(b *testing.B) {
	b.Run("refcases", func(b *testing.B) {
		benchValid(b, benchValidCode(b))
	})
	if path := os.Getenv("HALITE_BENCH_SFI_ELF"); path != "" {
		b.Run("sfi", func(b *testing.B) {
			code := execSegment(b, path)
			if vd := Code(code, 0, Options{Profile: Halite, Features: AllFeatures}); !vd.Valid() {
				b.Fatalf("%s is not valid: %v", path, vd.Err())
			}
			benchValid(b, code)
		})
	}
}

func benchValid(b *testing.B, code []byte) {
	val := New(Options{Profile: Halite, Features: AllFeatures})
	val.Validate(code, 0x10000) // warm up: buffers grow once
	b.SetBytes(int64(len(code)))
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		if !val.Validate(code, 0x10000).Valid() {
			b.Fatal("invalid")
		}
	}
	reportCPURate(b, len(code), cpu)
}

// execSegment returns the first executable segment of the ELF file at
// path as a chunk (see ELF).
func execSegment(b *testing.B, path string) []byte {
	f, err := elfload.Open(path)
	if err != nil {
		b.Skipf("%s: %v", path, err)
	}
	defer f.Close()
	vs, err := ELF(f.Plan, Options{Features: AllFeatures, MaxErrors: 1, NoDisasm: true})
	if err != nil {
		b.Fatal(err)
	}
	if len(vs) == 0 {
		b.Skipf("%s: no executable segment", path)
	}
	return vs[0].Code
}

// BenchmarkValidateInvalid validates the executable segment of this
// machine's libsqlite3 (ordinary, non-SFI code), reporting every error.
func BenchmarkValidateInvalid(b *testing.B) {
	code := execSegment(b, "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0")
	for _, mode := range []struct {
		name string
		opts Options
	}{
		{"disasm", Options{Features: AllFeatures}},
		{"nodisasm", Options{Features: AllFeatures, NoDisasm: true}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			val := New(mode.opts)
			val.Validate(code, 0) // warm up: buffers grow once
			b.SetBytes(int64(len(code)))
			b.ReportAllocs()
			var n int
			cpu := cpuTime()
			for b.Loop() {
				n = len(val.Validate(code, 0).Violations)
			}
			reportCPURate(b, len(code), cpu)
			b.ReportMetric(float64(n), "violations")
		})
	}
}

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPURate reports MB/s over CPU time (the machine is shared, so
// wall-clock rates understate the validator's speed).
func reportCPURate(b *testing.B, size int, start time.Duration) {
	if d := cpuTime() - start; d > 0 {
		b.ReportMetric(float64(size)*float64(b.N)/1e6/d.Seconds(), "cpu-MB/s")
	}
}
