package ldso

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"halite/elfload"
	"halite/pthread"
	"halite/sandbox"
	"halite/validate"
)

// BenchmarkOpenSQLite times a cold open (a fresh sandbox each time, the
// validation cache off) of $HALITE_BENCH_DLOPEN_DIR/sqlite_user.so and
// its dependencies (SQLite built with halite cc, and stubs for the C
// library functions it imports), as scripts/bench-dlopen sets up. It
// reports the time spent validating the same code on its own
// (validate-ms/op) and its share of an open. Skipped without the
// directory.
func BenchmarkOpenSQLite(b *testing.B) { benchOpenSQLite(b, false) }

// BenchmarkOpenSQLiteWarm is BenchmarkOpenSQLite with the process-wide
// validation cache on and warm (one untimed open first): each open is in
// a fresh sandbox, but its code is found in the cache instead of being
// validated. validate-ms/op is the time MapCode spent validating or
// hashing (sandbox.ValidationStats).
func BenchmarkOpenSQLiteWarm(b *testing.B) { benchOpenSQLite(b, true) }

func benchOpenSQLite(b *testing.B, warm bool) {
	dir := os.Getenv("HALITE_BENCH_DLOPEN_DIR")
	if dir == "" {
		b.Skip("HALITE_BENCH_DLOPEN_DIR not set (run scripts/bench-dlopen)")
	}
	user := filepath.Join(dir, "sqlite_user.so")
	opts := validate.Options{Profile: validate.Halite, Features: validate.HostFeatures()}
	var code [][]byte
	for _, name := range []string{"sqlite_user.so", "libsqlite3.so", "libhalite-stubs.so"} {
		f, err := elfload.Open(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		for i, seg := range f.Segments {
			if seg.Prot&elfload.ProtExec == 0 {
				continue
			}
			d, err := f.SegmentData(i)
			if err != nil {
				b.Fatal(err)
			}
			c := make([]byte, (len(d)+pageSize-1)&^(pageSize-1))
			copy(c, d)
			for j := len(d); j < len(c); j++ {
				c[j] = 0xf4
			}
			code = append(code, c)
		}
		f.Close()
	}
	// open opens the module set in a fresh sandbox; it returns the time
	// Open took and the sandbox's validation statistics.
	open1 := func(check bool) (time.Duration, sandbox.ValidationStats) {
		s, err := sandbox.New(sandbox.Config{Validate: validate.Options{Profile: validate.Halite}, NoValidationCache: !warm})
		if err != nil {
			b.Skipf("no sandbox: %v", err)
		}
		defer s.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		sys, err := pthread.Install(ctx, s, pthread.Config{}, pthread.ThreadsConfig{})
		if err != nil {
			b.Fatal(err)
		}
		defer sys.Close()
		l, err := NewLoader(s, sys, LoaderConfig{LibraryPath: dir})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t1 := time.Now()
		m, err := l.Open(user, RTLD_NOW)
		d := time.Since(t1)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if check {
			if v := callBench(b, l, m); v < 3000000 {
				b.Fatalf("sqlite_user_version() = %d", v)
			}
		}
		return d, s.ValidationStats()
	}
	b.StopTimer()
	if warm {
		open1(true)
	}
	var open, val, inOpen time.Duration
	var hits, misses uint64
	for i := 0; i < b.N; i++ {
		if !warm {
			t0 := time.Now()
			for _, c := range code {
				if v := validate.Code(c, 1<<20, opts); !v.Valid() {
					b.Fatal(v.Err())
				}
			}
			val += time.Since(t0)
		}
		d, st := open1(i == 0)
		open += d
		inOpen += st.ValidateTime
		hits += st.Hits
		misses += st.Misses
	}
	if warm {
		val = inOpen
		if misses != 0 {
			b.Fatalf("warm: %d cache misses (%d hits)", misses, hits)
		}
	}
	b.ReportMetric(float64(open.Nanoseconds())/float64(b.N)/1e6, "open-ms/op")
	b.ReportMetric(float64(val.Nanoseconds())/float64(b.N)/1e6, "validate-ms/op")
	b.ReportMetric(100*float64(val)/float64(open), "validate-%")
	b.ReportMetric(float64(hits)/float64(b.N), "cache-hits/op")
}

func callBench(b *testing.B, l *Loader, m *Module) uint64 {
	a, err := l.Sym(m, "sqlite_user_version")
	if err != nil {
		b.Fatal(err)
	}
	v, err := l.Call(a)
	if err != nil {
		b.Fatal(err)
	}
	return v
}
