package validate_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"halite/elfload"
	"halite/sfi"
	"halite/validate"
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
	val := validate.New(validate.Options{Features: validate.AllFeatures})
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
			hc, err := validate.ParseHex(c[hexStart+6 : hexEnd+1])
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

// BenchmarkValidateValid validates valid code: the valid reference cases
// packed into one chunk of at least 1 MiB (sub-benchmark "refcases"), the
// C programs of sfi/testdata/corpus compiled by halite cc (the sfi
// package) into shared objects at -O2, -O3 and -Os, each executable
// segment its own chunk (sub-benchmark "corpus": realistic compiler
// output), and, when scripts/fetch-sqlite has cached the SQLite
// amalgamation, SQLite compiled by halite cc (sub-benchmark "sqlite").
func BenchmarkValidateValid(b *testing.B) {
	b.Run("refcases", func(b *testing.B) {
		code := benchValidCode(b)
		benchValid(b, [][]byte{code})
	})
	b.Run("corpus", func(b *testing.B) {
		benchValid(b, sfiCorpus(b))
	})
	b.Run("sqlite", func(b *testing.B) {
		benchValid(b, sfiSQLite(b))
	})
}

// benchValid validates chunks (each loaded at 0x10000) in a loop.
func benchValid(b *testing.B, chunks [][]byte) {
	val := validate.New(validate.Options{Profile: validate.Halite, Features: validate.AllFeatures})
	size := 0
	for _, c := range chunks {
		if vd := val.Validate(c, 0x10000); !vd.Valid() { // also the warm-up: buffers grow once
			b.Fatalf("benchmark code is invalid: %v", vd.Err())
		}
		size += len(c)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		for _, c := range chunks {
			if !val.Validate(c, 0x10000).Valid() {
				b.Fatal("invalid")
			}
		}
	}
	reportCPURate(b, size, cpu)
}

// needTools skips b when the C toolchain halite cc drives is missing.
func needTools(b *testing.B) {
	b.Helper()
	for _, tool := range []string{"gcc", "as", "ld", "ar"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("%s not installed", tool)
		}
	}
}

// compileSO compiles C sources with halite cc (sfi.Run, checked by the
// validator) into the shared object out.
func compileSO(b *testing.B, out string, args ...string) {
	b.Helper()
	var stderr bytes.Buffer
	args = append([]string{"-shared", "-o", out}, args...)
	if err := sfi.Run(sfi.Config{Stderr: &stderr, Check: sfi.ValidatorChecker()}, args); err != nil {
		b.Fatalf("halite cc %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
}

var corpusOnce struct {
	sync.Once
	chunks [][]byte
	err    string
}

// sfiCorpus compiles each program of sfi/testdata/corpus with halite cc
// at -O2, -O3 and -Os into a shared object (once per process) and returns
// their executable segments as chunks.
func sfiCorpus(b *testing.B) [][]byte {
	needTools(b)
	corpusOnce.Do(func() {
		dir, err := os.MkdirTemp("", "halite-bench-")
		if err != nil {
			corpusOnce.err = err.Error()
			return
		}
		defer os.RemoveAll(dir)
		corpus := filepath.Join("..", "sfi", "testdata", "corpus")
		progs, _ := filepath.Glob(filepath.Join(corpus, "*.c"))
		for _, p := range progs {
			for _, opt := range []string{"-O2", "-O3", "-Os"} {
				so := filepath.Join(dir, strings.TrimSuffix(filepath.Base(p), ".c")+opt+".so")
				compileSO(b, so, opt, "-I"+corpus, "-ffreestanding", p)
				corpusOnce.chunks = append(corpusOnce.chunks, execSegments(b, so)...)
			}
		}
	})
	if corpusOnce.err != "" {
		b.Fatal(corpusOnce.err)
	}
	if len(corpusOnce.chunks) == 0 {
		b.Skip("no corpus programs")
	}
	return corpusOnce.chunks
}

// sqliteVersion is the amalgamation scripts/fetch-sqlite caches.
const sqliteVersion = "3.40.1-2+deb12u2"

var sqliteOnce struct {
	sync.Once
	chunks [][]byte
	err    string
}

// sfiSQLite compiles the cached SQLite amalgamation with halite cc -O2
// into a shared object (once per process; about 30 s of CPU) and returns
// its executable segments. It skips when the amalgamation is not cached.
func sfiSQLite(b *testing.B) [][]byte {
	needTools(b)
	cache := os.Getenv("HALITE_CACHE")
	if cache == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			b.Skip(err)
		}
		cache = filepath.Join(d, "halite")
	}
	src := filepath.Join(cache, "sqlite", "amalgamation-"+sqliteVersion, "sqlite3.c")
	if _, err := os.Stat(src); err != nil {
		b.Skip("SQLite amalgamation not cached: run scripts/fetch-sqlite")
	}
	sqliteOnce.Do(func() {
		// The object is cached next to the amalgamation and rebuilt when
		// it is older than the source or no longer valid (benchValid
		// checks every chunk).
		so := filepath.Join(cache, "bench", "libsqlite3-sfi-"+sqliteVersion+".so")
		if chunks, ok := cachedChunks(so, src); ok {
			sqliteOnce.chunks = chunks
			return
		}
		if err := os.MkdirAll(filepath.Dir(so), 0o755); err != nil {
			sqliteOnce.err = err.Error()
			return
		}
		tmp := so + ".tmp"
		compileSO(b, tmp, "-O2", "-DSQLITE_THREADSAFE=0", "-DSQLITE_OMIT_LOAD_EXTENSION", src)
		if err := os.Rename(tmp, so); err != nil {
			sqliteOnce.err = err.Error()
			return
		}
		chunks, err := elfChunks(so)
		if err != nil {
			sqliteOnce.err = err.Error()
			return
		}
		sqliteOnce.chunks = chunks
	})
	if sqliteOnce.err != "" {
		b.Fatal(sqliteOnce.err)
	}
	return sqliteOnce.chunks
}

// cachedChunks returns the executable segments of the cached object so
// when it is newer than src and all its chunks are valid.
func cachedChunks(so, src string) ([][]byte, bool) {
	si, err := os.Stat(so)
	if err != nil {
		return nil, false
	}
	ci, err := os.Stat(src)
	if err != nil || si.ModTime().Before(ci.ModTime()) {
		return nil, false
	}
	chunks, err := elfChunks(so)
	if err != nil || len(chunks) == 0 {
		return nil, false
	}
	val := validate.New(validate.Options{Profile: validate.Halite, Features: validate.AllFeatures, MaxErrors: 1, NoDisasm: true})
	for _, c := range chunks {
		if !val.Validate(c, 0).Valid() {
			return nil, false
		}
	}
	return chunks, true
}

// execSegments returns the executable segments of the ELF file at path as
// chunks (see validate.ELF); files elfload refuses are skipped (logged).
func execSegments(b *testing.B, path string) [][]byte {
	b.Helper()
	chunks, err := elfChunks(path)
	if err != nil {
		b.Logf("skipping %s: %v", filepath.Base(path), err)
	}
	return chunks
}

// elfChunks returns the executable segments of the ELF file at path as
// chunks (see validate.ELF).
func elfChunks(path string) ([][]byte, error) {
	f, err := elfload.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vs, err := validate.ELF(f.Plan, validate.Options{Features: validate.AllFeatures, MaxErrors: 1, NoDisasm: true})
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, s := range vs {
		out = append(out, s.Code)
	}
	return out, nil
}

// execSegment returns the first executable segment of the ELF file at
// path as a chunk (see ELF).
func execSegment(b *testing.B, path string) []byte {
	f, err := elfload.Open(path)
	if err != nil {
		b.Skipf("%s: %v", path, err)
	}
	defer f.Close()
	vs, err := validate.ELF(f.Plan, validate.Options{Features: validate.AllFeatures, MaxErrors: 1, NoDisasm: true})
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
		opts validate.Options
	}{
		{"disasm", validate.Options{Features: validate.AllFeatures}},
		{"nodisasm", validate.Options{Features: validate.AllFeatures, NoDisasm: true}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			val := validate.New(mode.opts)
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
