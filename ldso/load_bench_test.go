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

// BenchmarkOpenSQLite times a cold open (a fresh sandbox each time) of
// $HALITE_BENCH_DLOPEN_DIR/sqlite_user.so and its dependencies (SQLite
// built with halite cc, and stubs for the C library functions it
// imports), as scripts/bench-dlopen sets up. It reports the time spent
// validating the same code on its own (validate-ms/op) and its share of
// an open. Skipped without the directory.
func BenchmarkOpenSQLite(b *testing.B) {
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
	var open, val time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := sandbox.New(sandbox.Config{Validate: validate.Options{Profile: validate.Halite}})
		if err != nil {
			b.Skipf("no sandbox: %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		sys, err := pthread.Install(ctx, s, pthread.Config{}, pthread.ThreadsConfig{})
		if err != nil {
			b.Fatal(err)
		}
		l, err := NewLoader(s, sys, LoaderConfig{LibraryPath: dir})
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		for _, c := range code {
			if v := validate.Code(c, 1<<20, opts); !v.Valid() {
				b.Fatal(v.Err())
			}
		}
		val += time.Since(t0)
		b.StartTimer()
		t1 := time.Now()
		m, err := l.Open(user, RTLD_NOW)
		open += time.Since(t1)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			if v := callBench(b, l, m); v < 3000000 {
				b.Fatalf("sqlite_user_version() = %d", v)
			}
		}
		cancel()
		sys.Close()
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(open.Nanoseconds())/float64(b.N)/1e6, "open-ms/op")
	b.ReportMetric(float64(val.Nanoseconds())/float64(b.N)/1e6, "validate-ms/op")
	b.ReportMetric(100*float64(val)/float64(open), "validate-%")
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
