package sandbox

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"halite/validate"
)

// testObj is an assembled testdata file: the raw .text and its symbols.
type testObj struct {
	code []byte
	syms map[string]uint64
}

var objs = map[string]*testObj{}

// TestMain assembles testdata/*.s once (GNU as, then the .text bytes).
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "halite-sandbox-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, name := range []string{"calls", "smuggle"} {
		o, err := assemble(dir, name)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
		objs[name] = o
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func assemble(dir, name string) (*testObj, error) {
	src := filepath.Join("testdata", name+".s")
	obj := filepath.Join(dir, name+".o")
	bin := filepath.Join(dir, name+".bin")
	if out, err := exec.Command("as", "--64", "-o", obj, src).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("as %s: %v\n%s", src, err, out)
	}
	if out, err := exec.Command("objcopy", "-O", "binary", "-j", ".text", obj, bin).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("objcopy %s: %v\n%s", obj, err, out)
	}
	code, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	f, err := elf.Open(obj)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, err
	}
	o := &testObj{code: code, syms: map[string]uint64{}}
	for _, s := range syms {
		if elf.ST_BIND(s.Info) == elf.STB_GLOBAL {
			o.syms[s.Name] = s.Value
		}
	}
	return o, nil
}

// codeOff is where tests map their code (offset from B).
const codeOff = 0x100000

// testSandbox is a sandbox with testdata/calls.s mapped (validated by the
// real validator, halite profile) at B+codeOff.
type testSandbox struct {
	*Sandbox
	t   testing.TB
	obj *testObj
}

func newTestSandbox(t testing.TB, cfg Config, obj string) *testSandbox {
	t.Helper()
	cfg.Validate = haliteOpts()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		checkNoWX(t)
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	o := objs[obj]
	if err := s.MapCode(s.Base()+codeOff, o.code); err != nil {
		t.Fatal(err)
	}
	return &testSandbox{Sandbox: s, t: t, obj: o}
}

func (ts *testSandbox) sym(name string) uint64 {
	off, ok := ts.obj.syms[name]
	if !ok {
		ts.t.Fatalf("no symbol %q in test code", name)
	}
	return ts.Base() + codeOff + off
}

// checkNoWX fails the test if any mapping of the process is both writable
// and executable.
func checkNoWX(t testing.TB) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && strings.Contains(f[1], "w") && strings.Contains(f[1], "x") {
			t.Errorf("writable+executable mapping: %s", sc.Text())
		}
	}
}

func countMaps(t testing.TB) int {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

func countTasks(t testing.TB) int {
	e, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	return len(e)
}

// haliteOpts validates with the halite profile (the test code reads %fs:0).
func haliteOpts() validate.Options {
	return validate.Options{Profile: validate.Halite, Features: validate.HostFeatures()}
}
