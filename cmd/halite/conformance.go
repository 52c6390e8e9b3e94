package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"runtime"
	"strings"
	"time"

	"halite/conformance"
)

func init() {
	var jsonOut, diff *bool
	var runPat *string
	var parallel *int
	register(&command{
		name:    "conformance",
		summary: "run the loader conformance suite on halite's loader and compare with glibc's golden logs",
		usage:   "[--json] [--run PATTERN] [--diff] [--parallel N]",
		setup: func(fs *flag.FlagSet) {
			jsonOut = fs.Bool("json", false, "write JSON")
			runPat = fs.String("run", "", "run only the scenarios whose name matches this regular expression")
			diff = fs.Bool("diff", false, "print the diff (-glibc +halite) of every failing scenario")
			parallel = fs.Int("parallel", 0, "scenarios run at once (0: four per CPU; a scenario mostly waits for its sandbox threads)")
		},
		run: func(e *env, args []string) int {
			if len(args) != 0 {
				return e.usageError("unexpected arguments %q", args)
			}
			return runConformance(e, *runPat, *jsonOut, *diff, *parallel)
		},
	})
}

// conformanceResult is one scenario in --json output.
type conformanceResult struct {
	Scenario string   `json:"scenario"`
	Category string   `json:"category"`
	Status   string   `json:"status"` // pass, fail, error, differs
	Reason   string   `json:"reason,omitempty"`
	Error    string   `json:"error,omitempty"`
	Glibc    []string `json:"glibc,omitempty"`
	Halite   []string `json:"halite,omitempty"`
	Diff     string   `json:"diff,omitempty"`
}

func runConformance(e *env, pattern string, jsonOut, diff bool, parallel int) int {
	scs, err := conformance.Suite()
	if err != nil {
		e.errorf("%v", err)
		return 1
	}
	if pattern != "" {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return e.usageError("--run: %v", err)
		}
		var sub []*conformance.Scenario
		for _, s := range scs {
			if re.MatchString(s.Name) {
				sub = append(sub, s)
			}
		}
		if len(sub) == 0 {
			e.errorf("--run %q matches no scenario", pattern)
			return 1
		}
		scs = sub
	}
	dir, err := conformance.DefaultCacheDir()
	if err != nil {
		e.errorf("%v", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if parallel <= 0 {
		parallel = 4 * runtime.NumCPU()
	}
	start := time.Now()
	rs := conformance.Check(ctx, &conformance.Halite{CacheDir: dir}, scs, conformance.Golden, parallel)
	passed, failed, differs := 0, 0, 0
	for _, r := range rs {
		switch r.Status {
		case conformance.Pass:
			passed++
		case conformance.Differs:
			differs++
		default:
			failed++
		}
	}
	if jsonOut {
		out := struct {
			Results  []conformanceResult `json:"results"`
			Passed   int                 `json:"passed"`
			Failed   int                 `json:"failed"`
			Differs  int                 `json:"deliberate_differences"`
			CacheDir string              `json:"cache_dir"`
		}{Passed: passed, Failed: failed, Differs: differs, CacheDir: dir}
		for _, r := range rs {
			cr := conformanceResult{Scenario: r.Scenario.Name, Category: r.Scenario.Category, Status: string(r.Status),
				Reason: r.Scenario.Differs, Glibc: r.Want, Halite: r.Got}
			if r.Err != nil {
				cr.Error = r.Err.Error()
			}
			if r.Status != conformance.Pass {
				cr.Diff = r.Diff
			}
			out.Results = append(out.Results, cr)
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			e.errorf("%v", err)
			return 1
		}
	} else {
		writeConformanceTable(e.stdout, rs, diff)
		fmt.Fprintf(e.stderr, "(%d scenarios in %v; builds cached in %s)\n", len(rs), time.Since(start).Round(time.Millisecond), dir)
		if differs > 0 {
			fmt.Fprintf(e.stdout, "%d deliberate differences (not counted as passes)\n", differs)
		}
		fmt.Fprintf(e.stdout, "%d passed, %d failed\n", passed, failed)
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// writeConformanceTable prints scenario, category, glibc's result (the
// golden log's length), halite's (its log's length, or the error) and
// the verdict; deliberate differences carry their reason.
func writeConformanceTable(w io.Writer, rs []conformance.Result, diff bool) {
	width := len("scenario")
	for _, r := range rs {
		width = max(width, len(r.Scenario.Name))
	}
	fmt.Fprintf(w, "%-*s  %-11s  %-9s  %-9s  %s\n", width, "scenario", "category", "glibc", "halite", "result")
	lines := func(l []string) string { return fmt.Sprintf("%d lines", len(l)) }
	for _, r := range rs {
		g, h, note := lines(r.Want), lines(r.Got), ""
		switch r.Status {
		case conformance.Error:
			g, h = "-", "error"
			note = ": " + strings.SplitN(r.Err.Error(), "\n", 2)[0]
		case conformance.Differs:
			note = " (deliberate: " + r.Scenario.Differs + ")"
		}
		fmt.Fprintf(w, "%-*s  %-11s  %-9s  %-9s  %s%s\n", width, r.Scenario.Name, r.Scenario.Category, g, h, r.Status, note)
	}
	if !diff {
		return
	}
	for _, r := range rs {
		if r.Status == conformance.Fail {
			fmt.Fprintf(w, "\n%s (-glibc +halite):\n%s", r.Scenario.Name, r.Diff)
		}
	}
}
