package pthread

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var harness struct {
	once sync.Once
	dir  string
	err  error
}

var tmp struct {
	once sync.Once
	dir  string
	err  error
}

// testDir is a temporary directory shared by the package's tests, removed
// by TestMain.
func testDir(tb testing.TB) string {
	tb.Helper()
	tmp.once.Do(func() { tmp.dir, tmp.err = os.MkdirTemp("", "halite-pthread-test") })
	if tmp.err != nil {
		tb.Fatal(tmp.err)
	}
	return tmp.dir
}

// buildHarness compiles testdata/tlsharness into a temporary directory
// shared by the package's tests and writes the runtime object's code there.
func buildHarness(tb testing.TB) (bin, code string) {
	tb.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		tb.Skip("gcc not installed (scripts/setup installs it)")
	}
	harness.once.Do(func() {
		dir := testDir(tb)
		harness.dir = dir
		out, err := exec.Command("gcc", "-O2", "-o", filepath.Join(dir, "harness"),
			"testdata/tlsharness/main.c", "testdata/tlsharness/call.S").CombinedOutput()
		if err != nil {
			harness.err = &exec.Error{Name: "gcc: " + string(out), Err: err}
			return
		}
		harness.err = os.WriteFile(filepath.Join(dir, "code.bin"), Runtime().Code, 0o644)
	})
	if harness.err != nil {
		tb.Fatal(harness.err)
	}
	return filepath.Join(harness.dir, "harness"), filepath.Join(harness.dir, "code.bin")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if tmp.dir != "" {
		os.RemoveAll(tmp.dir)
	}
	os.Exit(code)
}

// descArgs are the harness arguments locating the TLSDESC resolvers.
func descArgs() []string {
	rt := Runtime()
	r, _ := rt.Lookup("_dl_tlsdesc_return")
	d, _ := rt.Lookup("_dl_tlsdesc_dynamic")
	return []string{strconv.FormatUint(r.Offset, 10), strconv.FormatUint(d.Offset, 10)}
}

// TestTLSGetAddrNative runs the runtime object's __tls_get_addr natively
// (%r15 = a 4 GiB-aligned base, %fs = a fake TCB, called through an SFI
// call/return) on a hand-made DTV: hits, offsets, ids without a block or
// beyond the DTV's capacity, and the registers it must preserve; and the
// same for the two TLSDESC resolvers.
func TestTLSGetAddrNative(t *testing.T) {
	bin, code := buildHarness(t)
	out, err := exec.Command(bin, append([]string{code, "0"}, descArgs()...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("harness: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 11 {
		t.Fatalf("harness printed %d lines, want 11:\n%s", len(lines), out)
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 5 || f[0] != "case" || f[2][4:] != f[3][5:] || f[4] != "regs=ok" {
			t.Errorf("harness: %s", l)
		}
	}
}

// BenchmarkTLSGetAddrNative times the runtime object's __tls_get_addr fast
// path, called with an SFI call/return outside a sandbox, beside a plain
// SFI load called the same way. (The same instructions run inside a
// sandbox; the in-sandbox benchmark needs the sandbox runtime.)
func BenchmarkTLSGetAddrNative(b *testing.B) {
	bin, code := buildHarness(b)
	out, err := exec.Command(bin, append([]string{code, strconv.Itoa(max(b.N, 1000))}, descArgs()...)...).CombinedOutput()
	if err != nil {
		b.Fatalf("harness: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(l, "bench ") {
			continue
		}
		for _, kv := range strings.Fields(l)[1:] {
			k, v, _ := strings.Cut(kv, "=")
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatalf("harness: %s", l)
			}
			b.ReportMetric(x, strings.TrimSuffix(k, "_ns")+"-ns/op")
		}
		b.ReportMetric(0, "ns/op")
		return
	}
	b.Fatalf("harness printed no bench line:\n%s", out)
}
