package sfi

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestHaliteHeaderOnIncludePath: a source including <halite.h> compiles
// without any -I, and HaliteHeader is include/halite.h.
func TestHaliteHeaderOnIncludePath(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed")
	}
	want, err := os.ReadFile(filepath.Join("include", "halite.h"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, HaliteHeader) {
		t.Fatal("HaliteHeader differs from include/halite.h")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "m.c")
	code := "#include <halite.h>\nlong hello(void) { return halite_syscall(1, 1, (long)\"hi\\n\", 3, 0, 0, 0) + (long)dlopen(\"x\", RTLD_NOW); }\n"
	if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	obj := filepath.Join(dir, "m.o")
	if err := Run(Config{Stderr: &stderr, Check: ValidatorChecker(), TempDir: t.TempDir()}, []string{"-O2", "-c", "-o", obj, src}); err != nil {
		t.Fatalf("halite cc -c m.c: %v\n%s", err, stderr.String())
	}
	if _, err := os.Stat(obj); err != nil {
		t.Fatal(err)
	}
}
