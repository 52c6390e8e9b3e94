package conformance

import (
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/google/go-cmp/cmp"
)

// Backend builds and runs scenarios. A backend owns everything about how a
// scenario's C sources become loadable modules and how its operations are
// carried out; it returns the normalised log (LANGUAGE.md says what each
// operation must print; HALITE-BACKEND.md what halite's backend needs).
type Backend interface {
	// Name labels the backend in reports ("glibc", "halite").
	Name() string
	// Run builds s (using a cache as it likes) and runs its operations,
	// returning the log lines, normalised with Normalize. A crash of the
	// code under test is a log line, not an error; errors are for failures
	// of the backend itself (a build that failed, a missing tool).
	Run(ctx context.Context, s *Scenario) ([]string, error)
}

//go:embed testdata/scenarios/*.scn testdata/golden/*.log
var suiteFS embed.FS

// Suite returns the scenarios built into this package (the files of
// testdata/scenarios), sorted by name.
func Suite() ([]*Scenario, error) {
	sub, err := fs.Sub(suiteFS, "testdata/scenarios")
	if err != nil {
		return nil, err
	}
	return loadFS(sub, "testdata/scenarios")
}

// Golden returns glibc's recorded log for the named scenario of Suite.
func Golden(name string) ([]string, error) {
	b, err := suiteFS.ReadFile(path.Join("testdata/golden", name+".log"))
	if err != nil {
		return nil, fmt.Errorf("no golden file for scenario %s (run scripts/conformance-golden): %w", name, err)
	}
	return splitLog(string(b)), nil
}

func splitLog(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// LoadDir parses every *.scn file in dir, returning the scenarios sorted by
// name. Names are unique across files.
func LoadDir(dir string) ([]*Scenario, error) {
	return loadFS(os.DirFS(dir), dir)
}

func loadFS(fsys fs.FS, label string) ([]*Scenario, error) {
	files, err := fs.Glob(fsys, "*.scn")
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.scn files in %s", label)
	}
	var all []*Scenario
	seen := map[string]string{}
	for _, f := range files {
		src, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		ss, err := Parse(f, src)
		if err != nil {
			return nil, err
		}
		for _, s := range ss {
			if prev, ok := seen[s.Name]; ok {
				return nil, fmt.Errorf("%s:%d: scenario %s is also defined in %s", f, s.Line, s.Name, prev)
			}
			seen[s.Name] = f
			all = append(all, s)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return all, nil
}

// Status is the outcome of one scenario on one backend.
type Status string

// The statuses of a Result.
const (
	Pass    Status = "pass"    // the log equals glibc's golden log
	Fail    Status = "fail"    // it differs
	Differs Status = "differs" // a deliberate difference: reported, never a pass
	Error   Status = "error"   // the backend could not build or run it
)

// Result is one scenario's outcome on a backend.
type Result struct {
	Scenario *Scenario
	Status   Status
	Got      []string // the backend's log
	Want     []string // the golden log
	Diff     string   // go-cmp diff (-golden +got) when they differ
	Err      error    // when Status is Error
}

// Check runs the scenarios on b, at most parallel at a time (0 = one per
// CPU), and compares each log with golden(name).
func Check(ctx context.Context, b Backend, scs []*Scenario, golden func(string) ([]string, error), parallel int) []Result {
	if parallel <= 0 {
		parallel = runtime.NumCPU()
	}
	res := make([]Result, len(scs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	for i, s := range scs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r := Result{Scenario: s}
			r.Got, r.Err = b.Run(ctx, s)
			if r.Err == nil {
				r.Want, r.Err = golden(s.Name) // Got is kept for the report
			}
			switch {
			case r.Err != nil:
				r.Status = Error
			default:
				r.Diff = cmp.Diff(r.Want, r.Got)
				switch {
				case s.Differs != "":
					r.Status = Differs
				case r.Diff == "":
					r.Status = Pass
				default:
					r.Status = Fail
				}
			}
			res[i] = r
		}()
	}
	wg.Wait()
	return res
}

// WriteTable prints one line per result (scenario, category, backend
// status) and a last line "N passed, M failed" (errors count as failures;
// deliberate differences are listed with their reason and counted
// separately). It returns the counts.
func WriteTable(w io.Writer, backend string, rs []Result) (passed, failed int) {
	width := len("scenario")
	for _, r := range rs {
		width = max(width, len(r.Scenario.Name))
	}
	fmt.Fprintf(w, "%-*s  %-10s  %s\n", width, "scenario", "category", backend)
	differs := 0
	for _, r := range rs {
		note := ""
		switch r.Status {
		case Pass:
			passed++
		case Fail:
			failed++
		case Error:
			failed++
			note = ": " + strings.SplitN(r.Err.Error(), "\n", 2)[0]
		case Differs:
			differs++
			note = " (deliberate: " + r.Scenario.Differs + ")"
		}
		fmt.Fprintf(w, "%-*s  %-10s  %s%s\n", width, r.Scenario.Name, r.Scenario.Category, r.Status, note)
	}
	if differs > 0 {
		fmt.Fprintf(w, "%d deliberate differences (not counted)\n", differs)
	}
	fmt.Fprintf(w, "%d passed, %d failed\n", passed, failed)
	return passed, failed
}

// GoldenDir returns a golden-file reader over a directory (for tests that
// compare with the files on disk rather than the embedded copies).
func GoldenDir(dir string) func(string) ([]string, error) {
	return func(name string) ([]string, error) {
		b, err := os.ReadFile(filepath.Join(dir, name+".log"))
		if err != nil {
			return nil, err
		}
		return splitLog(string(b)), nil
	}
}
