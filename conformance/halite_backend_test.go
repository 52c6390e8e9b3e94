package conformance

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"halite/sandbox"
)

var haliteRun = flag.String("halite-run", "", "only the scenarios matching this regular expression (TestHalitePassing)")

var haliteReport = flag.Bool("halite-report", false, "run every scenario on the halite backend and log the table and diffs (failures are reported, not test failures)")

// haliteBackend returns a Halite backend, skipping when gcc or the
// sandbox is unavailable.
func haliteBackend(t *testing.T) *Halite {
	t.Helper()
	if _, err := execLookPath("gcc"); err != nil {
		t.Skip("gcc not installed")
	}
	s, err := sandbox.New(sandbox.Config{})
	if err != nil {
		t.Skipf("no sandbox on this machine: %v", err)
	}
	s.Close()
	dir, err := DefaultCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	return &Halite{CacheDir: dir}
}

// readPassing reads testdata/halite_passing.txt: the scenarios the halite
// backend passes (one name a line, # comments). The list only grows.
func readPassing(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("testdata/halite_passing.txt")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		names = append(names, line)
	}
	return names
}

// TestHalitePassing runs the scenarios pinned in
// testdata/halite_passing.txt on the halite backend: each must match
// glibc's golden log (a regression test; the list must only grow). With
// -halite-report it runs every scenario and logs the whole table.
func TestHalitePassing(t *testing.T) {
	all, err := Suite()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*Scenario{}
	for _, s := range all {
		byName[s.Name] = s
	}
	var scs []*Scenario
	if *haliteReport {
		scs = all
	} else {
		pinned := map[string]bool{}
		for _, n := range readPassing(t) {
			pinned[n] = true
		}
		var rest []string
		for _, s := range all {
			if !pinned[s.Name] {
				rest = append(rest, s.Name)
			}
		}
		t.Logf("%d scenarios not pinned as passing on halite (not run; see them with -halite-report or `halite conformance`): %s", len(rest), strings.Join(rest, " "))
		for _, n := range readPassing(t) {
			s := byName[n]
			if s == nil {
				t.Errorf("halite_passing.txt: no scenario %q", n)
				continue
			}
			if s.Differs != "" {
				t.Errorf("halite_passing.txt: %s is a deliberate difference, never a pass", n)
			}
			scs = append(scs, s)
		}
	}
	if *haliteRun != "" {
		re, err := regexp.Compile(*haliteRun)
		if err != nil {
			t.Fatalf("-halite-run: %v", err)
		}
		var sub []*Scenario
		for _, s := range scs {
			if re.MatchString(s.Name) {
				sub = append(sub, s)
			}
		}
		scs = sub
	}
	if len(scs) == 0 {
		t.Skip("no scenario pinned as passing on halite yet")
	}
	h := haliteBackend(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	rs := Check(ctx, h, scs, Golden, 4*runtime.NumCPU()) // mostly waiting (host calls, thread hand-offs), not CPU
	var table bytes.Buffer
	passed, failed := WriteTable(&table, "halite", rs)
	t.Logf("%d scenarios in %v", len(scs), time.Since(start).Round(time.Millisecond))
	if *haliteReport {
		t.Logf("\n%s", table.String())
		var pass []string
		for _, r := range rs {
			switch r.Status {
			case Pass:
				pass = append(pass, r.Scenario.Name)
			case Fail:
				t.Logf("%s (-glibc +halite):\n%s", r.Scenario.Name, r.Diff)
			case Error:
				t.Logf("%s: error: %v", r.Scenario.Name, r.Err)
			}
		}
		sort.Strings(pass)
		t.Logf("passing:\n%s", strings.Join(pass, "\n"))
		t.Logf("%d passed, %d failed", passed, failed)
		return
	}
	for _, r := range rs {
		switch r.Status {
		case Fail:
			t.Errorf("%s regressed on halite (-glibc +halite):\n%s", r.Scenario.Name, r.Diff)
		case Error:
			t.Errorf("%s regressed on halite: %v", r.Scenario.Name, r.Err)
		}
	}
}

func TestRetiredRange(t *testing.T) {
	tests := []struct {
		msg    string
		lo, hi uint64
		ok     bool
	}{
		{"./libb.so: code segment 1 (vaddr 0x1000, 81 bytes) refused: sandbox: map code [0x7f4b0013b000, 0x7f4b0013b051): range held code", 0x7f4b0013b000, 0x7f4b0013c000, true},
		{"sandbox: map code [0x7f4b0013b010, 0x7f4b0013d000): x", 0x7f4b0013b000, 0x7f4b0013d000, true},
		{"sandbox: map code [0x20, 0x10): backwards", 0, 0, false},
		{"no range here", 0, 0, false},
	}
	for _, tc := range tests {
		lo, hi, ok := retiredRange(tc.msg)
		if lo != tc.lo || hi != tc.hi || ok != tc.ok {
			t.Errorf("retiredRange(%q) = %#x, %#x, %v; want %#x, %#x, %v", tc.msg, lo, hi, ok, tc.lo, tc.hi, tc.ok)
		}
	}
}
