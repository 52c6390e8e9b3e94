package conformance

import (
	"context"
	"flag"
	"runtime"
	"sync"
	"testing"
)

var haliteAll = flag.Bool("halitecc-all", false, "build every scenario with halite cc (default: the first scenario of each category)")

// TestHaliteCCBuilds builds scenarios with `halite cc` (package sfi, checked
// by the validator): the generated C and link arguments must be acceptable
// to the sandbox toolchain, which is the build half of the halite backend.
// By default it builds the first scenario of each category (a cold build of
// the whole suite costs about 25 s of CPU); -halitecc-all builds them all.
func TestHaliteCCBuilds(t *testing.T) {
	scs, err := LoadDir(scenarioDir)
	if err != nil {
		t.Fatal(err)
	}
	nativeBackend(t) // skips without gcc
	if !*haliteAll {
		seen := map[string]bool{}
		var sub []*Scenario
		for _, s := range scs {
			if !seen[s.Category] {
				seen[s.Category] = true
				sub = append(sub, s)
			}
		}
		scs = sub
	}
	dir, err := DefaultCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	b := &Builder{Toolchain: &HaliteCC{}, CacheDir: dir, Kind: "halite"}
	errs := make([]error, len(scs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for i, s := range scs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			_, errs[i] = b.Build(context.Background(), s)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("%s: %v", scs[i].Name, err)
		}
	}
	t.Logf("%d scenarios built with halite cc", len(scs))
}
