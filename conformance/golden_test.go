package conformance

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	update = flag.Bool("update", false, "rewrite testdata/golden from glibc's results (scripts/conformance-golden)")
	only   = flag.String("scenario", "", "run only scenarios whose name contains this")
	show   = flag.Bool("show", false, "print every scenario's log")
)

const (
	scenarioDir = "testdata/scenarios"
	goldenDir   = "testdata/golden"
)

// nativeBackend is shared by the tests so the driver is built once.
func nativeBackend(t testing.TB) *Native {
	t.Helper()
	for _, tool := range []string{"gcc"} {
		if _, err := execLookPath(tool); err != nil {
			t.Skipf("%s not installed (run scripts/setup): %v", tool, err)
		}
	}
	dir, err := DefaultCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	return &Native{CacheDir: dir}
}

// TestGlibcGolden builds every scenario natively, runs it through glibc and
// compares the log with its golden file. With -update it rewrites the golden
// files instead.
func TestGlibcGolden(t *testing.T) {
	scs, err := LoadDir(scenarioDir)
	if err != nil {
		t.Fatal(err)
	}
	n := nativeBackend(t)
	start := time.Now()
	type res struct {
		lines []string
		err   error
	}
	results := make([]res, len(scs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for i, s := range scs {
		if *only != "" && !strings.Contains(s.Name, *only) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			l, err := n.Run(context.Background(), s)
			results[i] = res{l, err}
		}()
	}
	wg.Wait()
	t.Logf("%d scenarios built and run in %v", len(scs), time.Since(start).Round(time.Millisecond))
	for i, s := range scs {
		if *only != "" && !strings.Contains(s.Name, *only) {
			continue
		}
		r := results[i]
		if r.err != nil {
			t.Errorf("%s: %v", s.Name, r.err)
			continue
		}
		got := strings.Join(r.lines, "\n") + "\n"
		if *show {
			t.Logf("=== %s\n%s", s.Name, got)
		}
		path := filepath.Join(goldenDir, s.Name+".log")
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: no golden file (run scripts/conformance-golden): %v", s.Name, err)
			continue
		}
		if d := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(got, "\n")); d != "" {
			t.Errorf("%s: glibc's log differs from %s (-golden +glibc):\n%s", s.Name, path, d)
		}
	}
}
