package testobj

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestBuild(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	out := t.TempDir()
	if d := os.Getenv("TESTOBJ_KEEP"); d != "" {
		out = d
	}
	if err := Build("../testdata/src", out); err != nil {
		t.Fatal(err)
	}
	for _, p := range Programs {
		if _, err := os.Stat(filepath.Join(out, "bin", p)); err != nil {
			t.Error(err)
		}
	}
}
