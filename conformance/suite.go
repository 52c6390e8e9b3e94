package conformance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Backend builds and runs scenarios. A backend owns everything about how a
// scenario's C sources become loadable modules and how its operations are
// carried out; it returns the normalised log (see the language description
// in LANGUAGE.md for what each operation must print).
type Backend interface {
	// Name labels the backend in reports ("glibc", "halite").
	Name() string
	// Run builds s (using a cache as it likes) and runs its operations,
	// returning the log lines, normalised with Normalize. A crash of the
	// code under test is a log line, not an error; errors are for failures
	// of the backend itself (a build that failed, a missing tool).
	Run(ctx context.Context, s *Scenario) ([]string, error)
}

// LoadDir parses every *.scn file in dir, returning the scenarios sorted by
// name. Names are unique across files.
func LoadDir(dir string) ([]*Scenario, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.scn"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.scn files in %s", dir)
	}
	var all []*Scenario
	seen := map[string]string{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		ss, err := Parse(filepath.Base(f), src)
		if err != nil {
			return nil, err
		}
		for _, s := range ss {
			if prev, ok := seen[s.Name]; ok {
				return nil, fmt.Errorf("%s:%d: scenario %s is also defined in %s", filepath.Base(f), s.Line, s.Name, prev)
			}
			seen[s.Name] = filepath.Base(f)
			all = append(all, s)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return all, nil
}
