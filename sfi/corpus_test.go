package sfi

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func needTools(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"gcc", "as", "ld", "ar"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
}

func runCmd(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// harness builds the base-0 harness objects (native) and the support
// library in both forms: native and rewritten.
type harness struct {
	dir                          string
	objs                         []string // harness.o, trampoline.o
	supportNative, supportSandbx string
}

func buildHarness(t testing.TB) *harness {
	t.Helper()
	needTools(t)
	dir := t.TempDir()
	h := &harness{dir: dir}
	hd := filepath.Join("testdata", "corpus", "harness")
	ho := filepath.Join(dir, "harness.o")
	runCmd(t, "gcc", "-O2", "-fno-pie", "-fno-stack-protector", "-ffreestanding", "-fno-builtin", "-falign-functions=32", "-fcf-protection=none", "-c", filepath.Join(hd, "harness.c"), "-o", ho)
	to := filepath.Join(dir, "trampoline.o")
	runCmd(t, "gcc", "-c", filepath.Join(hd, "trampoline.S"), "-o", to)
	h.objs = []string{ho, to}
	sup := filepath.Join(dir, "support.c")
	if err := os.WriteFile(sup, supportSource, 0o644); err != nil {
		t.Fatal(err)
	}
	h.supportNative = filepath.Join(dir, "support-native.o")
	runCmd(t, "gcc", "-O2", "-fno-pie", "-fno-stack-protector", "-ffreestanding", "-fno-builtin", "-fno-tree-loop-distribute-patterns", "-c", sup, "-o", h.supportNative)
	h.supportSandbx = filepath.Join(dir, "support-sfi.o")
	ccRun(t, "-O2", "-ffreestanding", "-fno-builtin", "-fno-tree-loop-distribute-patterns", "-c", sup, "-o", h.supportSandbx)
	return h
}

// ccRun runs halite cc (the library) with the interim checker.
func ccRun(t testing.TB, args ...string) {
	t.Helper()
	var stderr bytes.Buffer
	if err := Run(Config{Stderr: &stderr, Check: testChecker}, args); err != nil {
		t.Fatalf("halite cc %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
}

// testChecker is the validator used by this package's tests.
var testChecker = bothCheckers(ValidatorChecker(), BasicCheck)

// link links a base-0 executable from a program object.
func (h *harness) link(t testing.TB, prog, support, out string) {
	t.Helper()
	args := []string{"-static", "-nostdlib", "-no-pie", "-Wl,-z,noexecstack", "-o", out}
	args = append(args, h.objs...)
	runCmd(t, "gcc", append(args, prog, support)...)
}

func TestCorpus(t *testing.T) {
	h := buildHarness(t)
	progs, err := filepath.Glob(filepath.Join("testdata", "corpus", "*.c"))
	if err != nil || len(progs) == 0 {
		t.Fatalf("no corpus programs: %v", err)
	}
	for _, p := range progs {
		name := strings.TrimSuffix(filepath.Base(p), ".c")
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			inc := "-I" + filepath.Join("testdata", "corpus")
			nobj := filepath.Join(dir, "native.o")
			runCmd(t, "gcc", "-O2", inc, "-fno-pie", "-fno-stack-protector", "-ffreestanding", "-c", p, "-o", nobj)
			nexe := filepath.Join(dir, "native")
			h.link(t, nobj, h.supportNative, nexe)
			want := runCmd(t, nexe)
			if len(want) == 0 {
				t.Fatalf("native build printed nothing")
			}
			t.Logf("%s", want)
			// The sandboxed builds at several optimization levels must all
			// print what the native -O2 build prints.
			for _, opt := range [][]string{{"-O2"}, {"-O0"}, {"-O3", "-g"}, {"-Os"}} {
				sobj := filepath.Join(dir, "sfi"+opt[0]+".o")
				// The harness links statically, where ld must relax TLS
				// sequences in place; halite cc's rewritten general-dynamic
				// sequences are not relaxable, initial-exec ones are (the
				// loader corpus in ldso runs the default model).
				ccRun(t, append(opt, inc, "-ffreestanding", "-ftls-model=initial-exec", "-c", p, "-o", sobj)...)
				sexe := filepath.Join(dir, "sfi"+opt[0])
				h.link(t, sobj, h.supportSandbx, sexe)
				got := runCmd(t, sexe)
				if !bytes.Equal(got, want) {
					t.Fatalf("sandboxed output (%s) differs\n--- native -O2\n%s--- halite cc %s\n%s", opt, want, opt, got)
				}
			}
		})
	}
}
