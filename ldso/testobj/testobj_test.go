package testobj

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The objects themselves are built and checked by the ldso and halite CLI
// tests; here only the error path and the source list are checked.

func TestBuildNamesFailingStep(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	err := Build(t.TempDir()+"/no-such-src", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "gcc -shared -fPIC -o deep/libleaf.so") {
		t.Errorf("err = %v, want the failing gcc command", err)
	}
}

func TestSourcesPresent(t *testing.T) {
	srcs, _ := filepath.Glob("../testdata/src/*.c")
	if len(srcs) < 20 {
		t.Fatalf("only %d C sources in ../testdata/src", len(srcs))
	}
	for _, s := range srcs {
		b, err := os.ReadFile(s)
		if err != nil || !strings.Contains(string(b), "(") {
			t.Errorf("%s: %v", s, err)
		}
	}
}
