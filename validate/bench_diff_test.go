package validate

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"halite/elfload"
)

// BenchmarkOldNew validates the same inputs with the old checker
// (oracle_old_test.go) and the current one in one run, so that the
// speed-up is measured under the same machine state: the cached halite
// cc SQLite build (valid, from scripts/fetch-sqlite and
// BenchmarkValidateValid) and this machine's libsqlite3 (invalid,
// every violation, no disassembly). Rates are MB/s over CPU time.
func BenchmarkOldNew(b *testing.B) {
	inputs := []struct {
		name string
		path string
		opts Options
	}{
		{"sqlite", "", Options{Profile: Halite, Features: AllFeatures}},
		{"invalid-libsqlite3", "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0", Options{Features: AllFeatures, NoDisasm: true}},
	}
	cache := os.Getenv("HALITE_CACHE")
	if cache == "" {
		if d, err := os.UserCacheDir(); err == nil {
			cache = filepath.Join(d, "halite")
		}
	}
	inputs[0].path = filepath.Join(cache, "bench", "libsqlite3-sfi-"+benchSQLiteVersion+".so")
	for _, in := range inputs {
		f, err := elfload.Open(in.path)
		if err != nil {
			b.Logf("skipping %s: %v", in.name, err)
			continue
		}
		vs, err := ELF(f.Plan, Options{Features: AllFeatures, MaxErrors: 1, NoDisasm: true})
		f.Close()
		if err != nil || len(vs) == 0 {
			b.Logf("skipping %s: %v", in.name, err)
			continue
		}
		code := vs[0].Code
		nv, ov := New(in.opts), &oldValidator{opts: in.opts}
		b.Run(in.name+"/old", func(b *testing.B) {
			benchOne(b, code, func() *Verdict { return ov.validateOld(code, 0x10000) })
		})
		b.Run(in.name+"/new", func(b *testing.B) {
			benchOne(b, code, func() *Verdict { return nv.Validate(code, 0x10000) })
		})
	}
}

// benchSQLiteVersion is bench_test.go's sqliteVersion.
const benchSQLiteVersion = "3.40.1-2+deb12u2"

func benchOne(b *testing.B, code []byte, run func() *Verdict) {
	run() // warm-up: buffers grow once
	b.SetBytes(int64(len(code)))
	b.ReportAllocs()
	start := cpuTimeNow()
	for b.Loop() {
		run()
	}
	if d := cpuTimeNow() - start; d > 0 {
		b.ReportMetric(float64(len(code))*float64(b.N)/1e6/d.Seconds(), "cpu-MB/s")
	}
}

// cpuTimeNow returns the process's user+system CPU time.
func cpuTimeNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
