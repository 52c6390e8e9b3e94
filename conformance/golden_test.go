package conformance

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
// compares the log with its golden file (go-cmp diff on failure). With
// -update it rewrites the golden files instead (scripts/conformance-golden).
// Deliberate differences are compared too: glibc must still do what the
// golden file says.
func TestGlibcGolden(t *testing.T) {
	scs, err := LoadDir(scenarioDir)
	if err != nil {
		t.Fatal(err)
	}
	if *only != "" {
		var keep []*Scenario
		for _, s := range scs {
			if strings.Contains(s.Name, *only) {
				keep = append(keep, s)
			}
		}
		scs = keep
	}
	n := nativeBackend(t)
	// The goldens record one glibc version's behaviour (and messages).
	host, err := exec.Command("getconf", "GNU_LIBC_VERSION").Output()
	if err != nil {
		t.Skipf("cannot tell the host's glibc version (getconf GNU_LIBC_VERSION): %v", err)
	}
	versionFile := filepath.Join(goldenDir, "GLIBC_VERSION")
	if *update {
		if err := os.WriteFile(versionFile, host, 0o644); err != nil {
			t.Fatal(err)
		}
	} else if rec, err := os.ReadFile(versionFile); err != nil {
		t.Fatal(err)
	} else if string(rec) != string(host) {
		t.Skipf("the golden files were recorded with %s; this host has %s (regenerate with scripts/conformance-golden to compare)", strings.TrimSpace(string(rec)), strings.TrimSpace(string(host)))
	}
	start := time.Now()
	golden := GoldenDir(goldenDir)
	if *update {
		golden = func(string) ([]string, error) { return nil, nil }
	}
	results := Check(context.Background(), n, scs, golden, 0)
	t.Logf("%d scenarios built and run in %v", len(scs), time.Since(start).Round(time.Millisecond))
	for _, r := range results {
		s := r.Scenario
		got := strings.Join(r.Got, "\n") + "\n"
		if *show && r.Got != nil {
			t.Logf("=== %s\n%s", s.Name, got)
		}
		if r.Err != nil && !(*update && r.Got != nil) {
			t.Errorf("%s: %v", s.Name, r.Err)
			continue
		}
		if *update {
			if err := os.WriteFile(filepath.Join(goldenDir, s.Name+".log"), []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if r.Diff != "" {
			t.Errorf("%s: glibc's log differs from %s (-golden +glibc):\n%s", s.Name, filepath.Join(goldenDir, s.Name+".log"), r.Diff)
		}
	}
}

// TestNativeCrashIsLogged checks that a scenario whose code kills the driver
// yields a log (with the exit status and glibc's message, normalised), not a
// backend error: a lazily bound call to an undefined function.
func TestNativeCrashIsLogged(t *testing.T) {
	scs, err := Parse("crash.scn", []byte(`scenario crash-lazy-call
category rollback
module liba.so
  func fa = call nowhere
run
open h ./liba.so LAZY
sym s h fa
call s
echo not reached
`))
	if err != nil {
		t.Fatal(err)
	}
	n := nativeBackend(t)
	got, err := n.Run(context.Background(), scs[0])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"open h ./liba.so LAZY: ok",
		"sym s h fa: ok",
		"driver: exit status 127",
		"<main>: symbol lookup error: ./liba.so: undefined symbol: nowhere",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
