package ldso

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"halite/pthread"
	"halite/sandbox"
	"halite/sfi"
	"halite/validate"
)

// buildModule builds testdata/sandbox/SRC with halite cc (the sfi
// package) into dir as OUT, with extra gcc arguments.
func buildModule(t *testing.T, dir, out string, srcs []string, extra ...string) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed")
	}
	path := filepath.Join(dir, out)
	args := []string{"-O2", "-shared", "-fPIC", "-o", path}
	for _, s := range srcs {
		args = append(args, filepath.Join("testdata", "sandbox", s))
	}
	args = append(args, extra...)
	var stderr bytes.Buffer
	if err := sfi.Run(sfi.Config{Stderr: &stderr, Check: sfi.ValidatorChecker(), TempDir: t.TempDir()}, args); err != nil {
		t.Fatalf("halite cc %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return path
}

// newTestLoader makes a sandbox with pthread and a loader over the host
// FS, searching libDir.
func newTestLoader(t *testing.T, libDir string, trace *bytes.Buffer) *Loader {
	t.Helper()
	s, err := sandbox.New(sandbox.Config{Validate: validate.Options{Profile: validate.Halite}})
	if err != nil {
		t.Skipf("no sandbox on this machine: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sys, err := pthread.Install(ctx, s, pthread.Config{}, pthread.ThreadsConfig{})
	if err != nil {
		cancel()
		s.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); sys.Close(); s.Close() })
	cfg := LoaderConfig{LibraryPath: libDir, Cwd: libDir}
	if trace != nil {
		cfg.Trace = trace
	}
	l, err := NewLoader(s, sys, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustOpen(t *testing.T, l *Loader, name string, flags Flags) *Module {
	t.Helper()
	m, err := l.Open(name, flags)
	if err != nil {
		t.Fatalf("Open(%s): %v", name, err)
	}
	if m == nil {
		t.Fatalf("Open(%s): nil handle", name)
	}
	return m
}

func callSym(t *testing.T, l *Loader, m *Module, name string, args ...uint64) uint64 {
	t.Helper()
	a, err := l.Sym(m, name)
	if err != nil {
		t.Fatalf("Sym(%s): %v", name, err)
	}
	v, err := l.Call(a, args...)
	if err != nil {
		t.Fatalf("call %s: %v", name, err)
	}
	return v
}

// mapped reports how many objects are loaded.
func loadedCount(l *Loader) int {
	objs, _, _ := l.Objects()
	return len(objs)
}

func TestLoadBasic(t *testing.T) {
	dir := t.TempDir()
	buildModule(t, dir, "libbasic_b.so", []string{"basic_b.c"})
	a := buildModule(t, dir, "libbasic_a.so", []string{"basic_a.c"}, "-L"+dir, "-lbasic_b")
	var trace bytes.Buffer
	l := newTestLoader(t, dir, &trace)
	m := mustOpen(t, l, a, RTLD_NOW)
	// add(3, 4) = 3 + 4 + g(10 after the constructor) + 2*3 + tv(8)
	if got := callSym(t, l, m, "add", 3, 4); got != 31 {
		t.Errorf("add(3, 4) = %d, want 31\ntrace:\n%s", got, trace.String())
	}
	// The TLS variable is per thread: a new thread starts again from 7.
	if got := callSym(t, l, m, "add", 3, 4); got != 31 {
		t.Errorf("second add(3, 4) on a new thread = %d, want 31", got)
	}
	if !strings.Contains(trace.String(), "binding file "+a+" [0] to "+filepath.Join(dir, "libbasic_b.so")+" [0]: normal symbol `dep_twice'") {
		t.Errorf("trace lacks the dep_twice binding:\n%s", trace.String())
	}
	objs, _, _ := l.Objects()
	if len(objs) != 2 || objs[0].Name != a || objs[0].TLSModID == 0 {
		t.Errorf("Objects() = %+v", objs)
	}
	addr, _ := l.Sym(m, "add")
	if info, ok := l.Addr(addr + 1); !ok || info.Sname != "add" || info.Fname != a {
		t.Errorf("Addr(add+1) = %+v, %v", info, ok)
	}
	if _, err := l.Sym(m, "nosuch"); err == nil || err.Error() != a+": undefined symbol: nosuch" {
		t.Errorf("Sym(nosuch) error = %v", err)
	}
	if err := l.Close(m); err != nil {
		t.Fatal(err)
	}
	if n := loadedCount(l); n != 0 {
		t.Errorf("%d objects still loaded after the last dlclose", n)
	}
	if err := l.Close(m); err == nil {
		t.Errorf("second Close of a closed handle succeeded")
	}
}

var _ = errors.New
var _ = os.Remove
var _ sync.Mutex
