package ldso

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"halite/sfi"
)

// corpusDir is halite cc's correctness corpus (owned by the sfi package):
// libc-free programs defining halite_main and printing through the h_*
// functions of harness/harness.h.
var corpusDir = filepath.Join("..", "sfi", "testdata", "corpus")

// corpusKnownBad lists corpus programs whose sandboxed run does not yet
// match the native one, with the reason. The test fails when one of them
// starts to match, so that the list only shrinks. (bigframe, with its 3 MiB
// frame, was here until Loader.Call's stack became glibc's 8 MiB.)
var corpusKnownBad = map[string]string{}

// corpusRun runs a command and returns its stdout.
func corpusRun(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// corpusNative builds the native base-0 harness objects exactly as the sfi
// package's corpus test does (harness.c, trampoline.S and sfi's support
// library for memcpy and friends, all with gcc) and returns a function
// that builds and runs one corpus program natively with gcc -O2.
func corpusNative(t *testing.T) func(prog, dir string) ([]byte, error) {
	t.Helper()
	dir := t.TempDir()
	hd := filepath.Join(corpusDir, "harness")
	ho := filepath.Join(dir, "harness.o")
	to := filepath.Join(dir, "trampoline.o")
	so := filepath.Join(dir, "support.o")
	for _, c := range [][]string{
		{"-O2", "-fno-pie", "-fno-stack-protector", "-ffreestanding", "-fno-builtin", "-falign-functions=32", "-fcf-protection=none", "-c", filepath.Join(hd, "harness.c"), "-o", ho},
		{"-c", filepath.Join(hd, "trampoline.S"), "-o", to},
		{"-O2", "-fno-pie", "-fno-stack-protector", "-ffreestanding", "-fno-builtin", "-fno-tree-loop-distribute-patterns", "-c", filepath.Join("..", "sfi", "support", "support.c"), "-o", so},
	} {
		if _, err := corpusRun("gcc", c...); err != nil {
			t.Fatal(err)
		}
	}
	return func(prog, dir string) ([]byte, error) {
		obj := filepath.Join(dir, "native.o")
		if _, err := corpusRun("gcc", "-O2", "-I"+corpusDir, "-fno-pie", "-fno-stack-protector", "-ffreestanding", "-c", prog, "-o", obj); err != nil {
			return nil, err
		}
		exe := filepath.Join(dir, "native")
		if _, err := corpusRun("gcc", "-static", "-nostdlib", "-no-pie", "-Wl,-z,noexecstack", "-o", exe, ho, to, obj, so); err != nil {
			return nil, err
		}
		return corpusRun(exe)
	}
}

// corpusSandboxed builds prog with halite cc -O2 -shared together with
// testdata/corpus/hsandbox.c (the h_* functions over halite_syscall's
// write), loads it into a fresh sandbox (pthread, libhalite.so) through
// the Loader, calls halite_main and then hs_flush on sandbox threads and
// returns what the module wrote to stdout.
func corpusSandboxed(t *testing.T, prog, dir string) ([]byte, error) {
	so := filepath.Join(dir, "prog.so")
	args := []string{"-O2", "-shared", "-fPIC", "-ffreestanding", "-I" + corpusDir, "-o", so,
		prog, filepath.Join("testdata", "corpus", "hsandbox.c")}
	var stderr bytes.Buffer
	if err := sfi.Run(sfi.Config{Stderr: &stderr, Check: sfi.ValidatorChecker(), TempDir: t.TempDir()}, args); err != nil {
		return nil, fmt.Errorf("halite cc %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var out syncBuffer
	l, _ := newAPILoader(t, dir, &out)
	m, err := l.Open(so, RTLD_NOW)
	if err != nil {
		return nil, fmt.Errorf("Open(%s): %w", so, err)
	}
	for _, sym := range []string{"halite_main", "hs_flush"} {
		a, err := l.Sym(m, sym)
		if err != nil {
			return nil, fmt.Errorf("Sym(%s): %w", sym, err)
		}
		v, err := l.Call(a)
		if err != nil {
			return []byte(out.String()), fmt.Errorf("calling %s: %w", sym, err)
		}
		if sym == "hs_flush" && v != 0 {
			return []byte(out.String()), fmt.Errorf("hs_flush: write returned %d", int64(v))
		}
	}
	if err := l.Close(m); err != nil {
		return []byte(out.String()), fmt.Errorf("Close: %w", err)
	}
	return []byte(out.String()), nil
}

// TestLoadCorpus runs every program of halite cc's correctness corpus
// natively (gcc -O2, sfi's base-0 harness) and in the sandbox (halite cc
// -O2 -shared, loaded by the Loader) and requires identical output.
func TestLoadCorpus(t *testing.T) {
	for _, tool := range []string{"gcc", "as", "ld"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	progs, err := filepath.Glob(filepath.Join(corpusDir, "*.c"))
	if err != nil || len(progs) == 0 {
		t.Fatalf("no corpus programs in %s: %v", corpusDir, err)
	}
	native := corpusNative(t)
	seen := map[string]bool{}
	for _, p := range progs {
		name := strings.TrimSuffix(filepath.Base(p), ".c")
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			want, err := native(p, dir)
			if err != nil {
				t.Fatalf("native: %v", err)
			}
			if len(want) == 0 {
				t.Fatal("native build printed nothing")
			}
			got, err := corpusSandboxed(t, p, dir)
			if err == nil && !bytes.Equal(got, want) {
				err = errors.New("output differs")
			}
			reason, known := corpusKnownBad[name]
			switch {
			case err == nil && known:
				t.Fatalf("matches native now: remove it from corpusKnownBad (%s)", reason)
			case err != nil && known:
				t.Skipf("known mismatch (%s): %v", reason, err)
			case err != nil:
				t.Fatalf("sandboxed run: %v\n--- native (gcc -O2)\n%s--- sandbox (halite cc -O2 -shared)\n%s", err, want, got)
			}
		})
	}
	for name := range corpusKnownBad {
		if !seen[name] {
			t.Errorf("corpusKnownBad lists %s, which is not in the corpus", name)
		}
	}
}
