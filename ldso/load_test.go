package ldso

import (
	"bytes"
	"context"
	"debug/elf"
	"flag"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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

func TestLoadInterposition(t *testing.T) {
	dir := t.TempDir()
	i1 := buildModule(t, dir, "libinterpose1.so", []string{"interpose1.c"}, "-Wl,-soname,libinterpose1.so")
	i2 := buildModule(t, dir, "libinterpose2.so", []string{"interpose2.c"}, "-Wl,-soname,libinterpose2.so")
	m12 := buildModule(t, dir, "m12.so", []string{"interpose_main.c"}, "-L"+dir, "-Wl,--no-as-needed", "-linterpose1", "-linterpose2")
	m21 := buildModule(t, dir, "m21.so", []string{"interpose_main.c"}, "-L"+dir, "-Wl,--no-as-needed", "-linterpose2", "-linterpose1")
	for _, tc := range []struct {
		name   string
		global string // opened RTLD_GLOBAL first
		open   string
		want   uint64
	}{
		{"needed-order-1-2", "", m12, 1},
		{"needed-order-2-1", "", m21, 2},
		{"global-first", i2, m12, 2},
		{"global-first-other", i1, m21, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newTestLoader(t, dir, nil)
			if tc.global != "" {
				mustOpen(t, l, tc.global, RTLD_NOW|RTLD_GLOBAL)
			}
			m := mustOpen(t, l, tc.open, RTLD_NOW)
			if got := callSym(t, l, m, "call_who"); got != tc.want {
				t.Errorf("call_who() = %d, want %d", got, tc.want)
			}
			// dlsym(handle) searches the handle's own search list.
			if got := callSym(t, l, m, "who"); tc.global == "" && got != tc.want {
				t.Errorf("dlsym(who)() = %d, want %d", got, tc.want)
			}
		})
	}
	// RTLD_DEEPBIND: the object's own dependencies before the global scope.
	l := newTestLoader(t, dir, nil)
	mustOpen(t, l, i2, RTLD_NOW|RTLD_GLOBAL)
	m := mustOpen(t, l, m12, RTLD_NOW|RTLD_DEEPBIND)
	if got := callSym(t, l, m, "call_who"); got != 1 {
		t.Errorf("DEEPBIND call_who() = %d, want 1", got)
	}
	// RTLD_NEXT: the global scope is now libinterpose2, libinterpose1 (made
	// global after being loaded as a dependency); nothing follows the
	// last, and who1 follows the first.
	m1 := mustOpen(t, l, i1, RTLD_NOW|RTLD_GLOBAL)
	who1, _ := l.Sym(m1, "who1")
	if a, err := l.SymNext(who1, "who"); err == nil {
		t.Errorf("RTLD_NEXT from the last global object found who at %#x", a)
	}
	g2, _ := l.Open(i2, RTLD_NOW|RTLD_NOLOAD)
	who2, _ := l.Sym(g2, "who")
	if _, err := l.SymNext(who2, "who1"); err != nil {
		t.Errorf("RTLD_NEXT from libinterpose2: %v", err)
	}
	if a, err := l.SymDefault("who", ""); err != nil {
		t.Errorf("SymDefault(who): %v", err)
	} else if v, _ := l.Call(a); v != 2 {
		t.Errorf("RTLD_DEFAULT who() = %d, want 2", v)
	}
}

func TestLoadWeakIfuncRelr(t *testing.T) {
	dir := t.TempDir()
	weak := buildModule(t, dir, "weak.so", []string{"weak.c"})
	buildModule(t, dir, "libifunc.so", []string{"ifunc.c"}, "-Wl,-soname,libifunc.so")
	ifunc := buildModule(t, dir, "ifunc_user.so", []string{"ifunc_user.c"}, "-L"+dir, "-lifunc")
	relr := buildModule(t, dir, "relr.so", []string{"relr.c"}, "-Wl,-z,pack-relative-relocs")
	l := newTestLoader(t, dir, nil)
	if got := callSym(t, l, mustOpen(t, l, weak, RTLD_NOW), "weak_zero"); got != 2 {
		t.Errorf("weak_zero() = %d, want 2 (both weak references 0)", got)
	}
	im := mustOpen(t, l, ifunc, RTLD_LAZY)
	if got := callSym(t, l, im, "call_f"); got != 42 {
		t.Errorf("call_f() = %d, want 42 (GLOB_DAT to an IFUNC in another module)", got)
	}
	if got := callSym(t, l, im, "call_fp"); got != 43 {
		t.Errorf("call_fp() = %d, want 43 (IRELATIVE)", got)
	}
	if got := callSym(t, l, im, "f"); got != 42 {
		t.Errorf("dlsym(f)() = %d, want 42 (IFUNC resolved by dlsym)", got)
	}
	rm := mustOpen(t, l, relr, RTLD_NOW)
	if len(rm.Object.Dynamic().RELR) == 0 {
		t.Fatalf("%s has no DT_RELR entries: the test does not test RELR", relr)
	}
	if got := callSym(t, l, rm, "relr_sum"); got != 2*(1+2+3+4+1+2) {
		t.Errorf("relr_sum() = %d, want %d", got, 2*(1+2+3+4+1+2))
	}
}

func TestLoadVersions(t *testing.T) {
	dir := t.TempDir()
	buildModule(t, dir, "libver.so", []string{"ver.c"}, "-Wl,--version-script=testdata/sandbox/ver.map", "-Wl,-soname,libver.so")
	client := buildModule(t, dir, "ver_client.so", []string{"ver_client.c"}, "-L"+dir, "-lver")
	l := newTestLoader(t, dir, nil)
	m := mustOpen(t, l, client, RTLD_NOW)
	if got := callSym(t, l, m, "call_foo"); got != 2 {
		t.Errorf("call_foo() = %d, want 2 (foo@@V2, the default)", got)
	}
	if got := callSym(t, l, m, "foo"); got != 2 {
		t.Errorf("dlsym(foo)() = %d, want 2", got)
	}
	for _, tc := range []struct {
		ver  string
		want uint64
	}{{"V1", 1}, {"V2", 2}} {
		a, err := l.SymVersion(m, "foo", tc.ver)
		if err != nil {
			t.Errorf("dlvsym(foo, %s): %v", tc.ver, err)
			continue
		}
		if v, _ := l.Call(a); v != tc.want {
			t.Errorf("dlvsym(foo, %s)() = %d, want %d", tc.ver, v, tc.want)
		}
	}
	if _, err := l.SymVersion(m, "foo", "V3"); err == nil || !strings.Contains(err.Error(), "undefined symbol: foo, version V3") {
		t.Errorf("dlvsym(foo, V3) error = %v", err)
	}
}

// TestLoadRollback: a failed open (missing dependency, missing symbol,
// missing version) leaves nothing behind, and a later open works.
func TestLoadRollback(t *testing.T) {
	good := t.TempDir()
	provider := buildModule(t, good, "libprovider.so", []string{"provider.c"}, "-Wl,-soname,libprovider.so", "-Wl,--version-script=testdata/sandbox/provider_v2.map")
	needs := buildModule(t, good, "needs_sym.so", []string{"needs_sym.c"}, "-L"+good, "-lprovider")
	noSym, noVer, noDep := t.TempDir(), t.TempDir(), t.TempDir()
	buildModule(t, noSym, "libprovider.so", []string{"provider_empty.c"}, "-Wl,-soname,libprovider.so")
	buildModule(t, noVer, "libprovider.so", []string{"provider.c"}, "-Wl,-soname,libprovider.so", "-Wl,--version-script=testdata/sandbox/provider_v1.map")
	for _, tc := range []struct {
		name, dir, msg string
	}{
		{"missing-dependency", noDep, "libprovider.so: cannot open shared object file: No such file or directory"},
		{"missing-symbol", noSym, needs + ": undefined symbol: provided, version PV2"},
		{"missing-version", noVer, "version `PV2' not found (required by " + needs + ")"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newTestLoader(t, tc.dir, nil)
			tlsBefore := len(l.sys.TLS().Modules())
			// The first free place (first fit): a span the failed open
			// left mapped would move it.
			probe := func() uint64 {
				a, err := l.Sandbox().Alloc(pageSize, pageSize, sandbox.ProtRead)
				if err != nil {
					t.Fatal(err)
				}
				l.Sandbox().Unmap(a, pageSize)
				return a
			}
			free := probe()
			for round := 0; round < 2; round++ {
				m, err := l.Open(needs, RTLD_NOW)
				if err == nil || m != nil {
					t.Fatalf("Open succeeded, want %q", tc.msg)
				}
				if !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("error %q does not contain %q", err, tc.msg)
				}
				if n := loadedCount(l); n != 0 {
					t.Errorf("%d objects loaded after a failed open", n)
				}
				if len(l.ns.Objects) != 1 {
					t.Errorf("namespace keeps %d objects after a failed open", len(l.ns.Objects))
				}
				if n := len(l.sys.TLS().Modules()); n != tlsBefore {
					t.Errorf("%d TLS modules after a failed open, want %d", n, tlsBefore)
				}
				if a := probe(); a != free {
					t.Errorf("first free page %#x after a failed open, %#x before: something stayed mapped", a, free)
				}
			}
			// A later open works: the right provider first, then the client
			// finds it by soname.
			mustOpen(t, l, provider, RTLD_NOW)
			m := mustOpen(t, l, needs, RTLD_NOW)
			if got := callSym(t, l, m, "use_provided"); got != 42 {
				t.Errorf("use_provided() = %d, want 42", got)
			}
		})
	}
}

func TestLoadUnload(t *testing.T) {
	dir := t.TempDir()
	b := buildModule(t, dir, "libbasic_b.so", []string{"basic_b.c"})
	a := buildModule(t, dir, "libbasic_a.so", []string{"basic_a.c"}, "-L"+dir, "-lbasic_b")
	nd := buildModule(t, dir, "nodelete.so", []string{"nodelete.c"})
	l := newTestLoader(t, dir, nil)

	// NOLOAD: absent gives nil without an error.
	if m, err := l.Open(a, RTLD_NOW|RTLD_NOLOAD); m != nil || err != nil {
		t.Fatalf("NOLOAD of an absent object = %v, %v", m, err)
	}
	ma := mustOpen(t, l, a, RTLD_NOW)
	mb := mustOpen(t, l, b, RTLD_NOW)
	if again, err := l.Open(a, RTLD_NOW|RTLD_NOLOAD); err != nil || again != ma {
		t.Fatalf("NOLOAD of a loaded object = %v, %v", again, err)
	}
	l.Close(ma) // the NOLOAD reference
	// b has its own handle; closing it must not unload it (a needs it).
	if err := l.Close(mb); err != nil {
		t.Fatal(err)
	}
	if n := loadedCount(l); n != 2 {
		t.Fatalf("%d objects after closing the dependency's handle, want 2", n)
	}
	if got := callSym(t, l, ma, "add", 1, 1); got != 1+1+10+2+8 {
		t.Errorf("add after closing the dependency's handle = %d", got)
	}
	if err := l.Close(ma); err != nil {
		t.Fatal(err)
	}
	if n := loadedCount(l); n != 0 {
		t.Fatalf("%d objects after the last close, want 0", n)
	}
	// NODELETE stays.
	mn := mustOpen(t, l, nd, RTLD_NOW|RTLD_NODELETE)
	if err := l.Close(mn); err != nil {
		t.Fatal(err)
	}
	if m, _ := l.Open(nd, RTLD_NOW|RTLD_NOLOAD); m != mn {
		t.Errorf("a NODELETE object was unloaded")
	}
	// Reopening after an unload maps a fresh copy whose constructor runs again.
	ma2 := mustOpen(t, l, a, RTLD_NOW)
	if got := callSym(t, l, ma2, "add", 1, 1); got != 1+1+10+2+8 {
		t.Errorf("add after reload = %d", got)
	}
	_, adds, subs := l.Objects()
	if adds != 5 || subs != 2 {
		t.Errorf("adds, subs = %d, %d; want 5, 2", adds, subs)
	}
}

func TestLoadInitFiniOrder(t *testing.T) {
	dir := t.TempDir()
	logp := buildModule(t, dir, "libfini_log.so", []string{"fini_log.c"}, "-Wl,-soname,libfini_log.so")
	buildModule(t, dir, "libfini1.so", []string{"fini.c"}, "-DTAG=1", "-L"+dir, "-lfini_log", "-Wl,-soname,libfini1.so")
	// fini2 lists fini_log before fini1: constructors still run
	// dependencies first whatever the DT_NEEDED order.
	f2 := buildModule(t, dir, "libfini2.so", []string{"fini.c"}, "-DTAG=2", "-L"+dir, "-Wl,--no-as-needed", "-lfini_log", "-lfini1")
	l := newTestLoader(t, dir, nil)
	lg := mustOpen(t, l, logp, RTLD_NOW)
	m := mustOpen(t, l, f2, RTLD_NOW)
	if err := l.Close(m); err != nil {
		t.Fatal(err)
	}
	words, err := l.Sym(lg, "log_words")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4*8)
	if err := l.Sandbox().Read(words, buf); err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for i := 0; i < 4; i++ {
		got = append(got, le64(buf[8*i:]))
	}
	want := []uint64{101, 102, 2, 1}
	if fmtU(got) != fmtU(want) {
		t.Errorf("constructor/destructor log = %v, want %v", got, want)
	}
}

func fmtU(v []uint64) string {
	var b strings.Builder
	for _, x := range v {
		b.WriteString(" ")
		b.WriteString(strings.TrimSpace(strings.Repeat(" ", 0)))
		b.WriteString(string(rune('0' + x%10)))
		b.WriteString(string(rune('0' + x/10%10)))
		b.WriteString(string(rune('0' + x/100%10)))
	}
	return b.String()
}

func TestLoadDedup(t *testing.T) {
	dir := t.TempDir()
	p := buildModule(t, dir, "libnd.so", []string{"nodelete.c"})
	link := filepath.Join(dir, "symlink.so")
	hard := filepath.Join(dir, "hardlink.so")
	if err := os.Symlink(p, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(p, hard); err != nil {
		t.Skipf("no hard links here: %v", err)
	}
	cwd, _ := os.Getwd()
	rel, err := filepath.Rel(cwd, p)
	if err != nil {
		t.Fatal(err)
	}
	l := newTestLoader(t, dir, nil)
	first := mustOpen(t, l, p, RTLD_NOW)
	for _, name := range []string{link, hard, rel} {
		if m := mustOpen(t, l, name, RTLD_NOW); m != first {
			t.Errorf("Open(%s) gave another handle", name)
		}
	}
	if n := loadedCount(l); n != 1 {
		t.Errorf("%d objects for one file, want 1", n)
	}
	for i := 0; i < 4; i++ {
		if err := l.Close(first); err != nil {
			t.Fatal(err)
		}
		if want := 1; i == 3 {
			want = 0
			if n := loadedCount(l); n != want {
				t.Errorf("after %d closes: %d objects, want %d", i+1, n, want)
			}
		} else if n := loadedCount(l); n != want {
			t.Errorf("after %d closes: %d objects, want %d", i+1, n, want)
		}
	}
}

func TestLoadRefusesInvalidCode(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed")
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.so")
	out, err := exec.Command("gcc", "-shared", "-fPIC", "-nostdlib", "-O2", "-o", bad, "testdata/sandbox/bad_syscall.c").CombinedOutput()
	if err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	good := buildModule(t, dir, "good.so", []string{"nodelete.c"})
	l := newTestLoader(t, dir, nil)
	// Where the first free span is: no thread runs before the refusal,
	// so unmapped code is not retired and the place is reused.
	g0 := mustOpen(t, l, good, RTLD_NOW)
	firstFree := g0.Start
	if err := l.Close(g0); err != nil {
		t.Fatal(err)
	}
	m, err := l.Open(bad, RTLD_NOW)
	if err == nil || m != nil {
		t.Fatal("a module with a raw syscall was loaded")
	}
	if !strings.Contains(err.Error(), "validation failed") || !strings.Contains(err.Error(), "syscall") {
		t.Errorf("error does not carry the validator's diagnostics: %v", err)
	}
	if n := loadedCount(l); n != 0 {
		t.Errorf("%d objects loaded after the refusal", n)
	}
	g := mustOpen(t, l, good, RTLD_NOW)
	if g.Start != firstFree {
		t.Errorf("after the refusal the next object is at %#x, not %#x: the refused object left memory mapped", g.Start, firstFree)
	}
	if got := callSym(t, l, g, "nd"); got != 7 {
		t.Errorf("nd() = %d after a refused open", got)
	}
}

func TestLoadTLSWhileThreadsRun(t *testing.T) {
	dir := t.TempDir()
	spin := buildModule(t, dir, "spin.so", []string{"spin.c"})
	tls := buildModule(t, dir, "tls.so", []string{"tlsgd.c"})
	l := newTestLoader(t, dir, nil)
	sm := mustOpen(t, l, spin, RTLD_NOW)
	spinAddr, _ := l.Sym(sm, "spin")
	stop, _ := l.Sym(sm, "stop_spinning")
	spinning, _ := l.Sym(sm, "spinning")
	done := make(chan uint64, 1)
	go func() {
		v, err := l.Call(spinAddr)
		if err != nil {
			t.Error(err)
		}
		done <- v
	}()
	for {
		v, err := l.Sandbox().LoadUint32(spinning)
		if err != nil {
			t.Fatal(err)
		}
		if v != 0 {
			break
		}
	}
	tm := mustOpen(t, l, tls, RTLD_NOW)
	if got := callSym(t, l, tm, "bump"); got != 101 {
		t.Errorf("bump() = %d, want 101", got)
	}
	if err := l.Sandbox().StoreUint32(stop, 1); err != nil {
		t.Fatal(err)
	}
	if v := <-done; v != 5 {
		t.Errorf("spin() = %d", v)
	}
}

func TestLoadConcurrentOpens(t *testing.T) {
	dir := t.TempDir()
	buildModule(t, dir, "libbasic_b.so", []string{"basic_b.c"})
	a := buildModule(t, dir, "libbasic_a.so", []string{"basic_a.c"}, "-L"+dir, "-lbasic_b")
	nd := buildModule(t, dir, "nd.so", []string{"nodelete.c"})
	l := newTestLoader(t, dir, nil)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			name := a
			if g%2 == 1 {
				name = nd
			}
			for i := 0; i < 3; i++ {
				m, err := l.Open(name, RTLD_NOW)
				if err != nil {
					t.Error(err)
					return
				}
				if err := l.Close(m); err != nil {
					t.Error(err)
				}
			}
		}(g)
	}
	wg.Wait()
	if n := loadedCount(l); n != 0 {
		t.Errorf("%d objects after balanced concurrent opens and closes", n)
	}
}

// TestTrampolineMatchesSource rebuilds testdata/sandbox/trampoline.c and
// compares its .text with the embedded trampolineCode.
func TestTrampolineMatchesSource(t *testing.T) {
	dir := t.TempDir()
	p := buildModule(t, dir, "tramp.so", []string{"trampoline.c"})
	f, err := elf.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sec := f.Section(".text")
	if sec == nil {
		t.Fatal("no .text")
	}
	text, err := sec.Data()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(text, trampolineCode) {
		return
	}
	if *updateTrampoline {
		if err := rewriteTrampoline("load_call.go", text); err != nil {
			t.Fatal(err)
		}
		t.Logf("load_call.go: trampolineCode regenerated (%d bytes)", len(text))
		return
	}
	t.Errorf("halite cc builds trampoline.c into\n% x\nbut trampolineCode is\n% x\n(if halite cc changed: go test ./ldso -run TestTrampolineMatchesSource -args -update-trampoline)", text, trampolineCode)
}

var updateTrampoline = flag.Bool("update-trampoline", false, "rewrite trampolineCode in load_call.go from halite cc's build of testdata/sandbox/trampoline.c")

// rewriteTrampoline replaces the body of the trampolineCode literal in the
// Go file at path with code.
func rewriteTrampoline(path string, code []byte) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	const open = "var trampolineCode = []byte{\n"
	i := bytes.Index(src, []byte(open))
	if i < 0 {
		return fmt.Errorf("%s: no %q", path, open)
	}
	i += len(open)
	j := bytes.Index(src[i:], []byte("\n}\n"))
	if j < 0 {
		return fmt.Errorf("%s: trampolineCode literal not closed", path)
	}
	var body bytes.Buffer
	for k, c := range code {
		if k%12 == 0 {
			if k > 0 {
				body.WriteByte('\n')
			}
			body.WriteByte('\t')
		} else {
			body.WriteByte(' ')
		}
		fmt.Fprintf(&body, "%#02x,", c)
	}
	out := append(append(append([]byte{}, src[:i]...), body.Bytes()...), src[i+j:]...)
	if out, err = format.Source(out); err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}

// TestLoadConstructorDlopens: a constructor calls dlopen through the
// in-sandbox API while its own open is in progress (constructors run
// outside the loader's lock), and the object it opens is initialised.
func TestLoadConstructorDlopens(t *testing.T) {
	dir := t.TempDir()
	buildModule(t, dir, "libctor_dep.so", []string{"ctor_dep.c"})
	p := buildModule(t, dir, "ctor_dlopen.so", []string{"ctor_dlopen.c"})
	l := newTestLoader(t, dir, nil)
	if _, err := InstallAPI(l); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var m *Module
	var err error
	go func() {
		defer close(done)
		m, err = l.Open(p, RTLD_NOW)
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("Open of a module whose constructor calls dlopen did not return (deadlock?)")
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := callSym(t, l, m, "get_ctor_result"); got != 42 {
		t.Errorf("the constructor's dlopen/dlsym/call gave %d, want 42", int64(got))
	}
	if n := loadedCount(l); n != 2 {
		t.Errorf("%d objects loaded, want 2", n)
	}
}

// TestLoadDestructorDlcloses: destructors run outside the loader's lock,
// so one may dlclose what its constructor opened.
func TestLoadDestructorDlcloses(t *testing.T) {
	dir := t.TempDir()
	buildModule(t, dir, "libctor_dep.so", []string{"ctor_dep.c"})
	p := buildModule(t, dir, "dtor_dlclose.so", []string{"dtor_dlclose.c"})
	l := newTestLoader(t, dir, nil)
	if _, err := InstallAPI(l); err != nil {
		t.Fatal(err)
	}
	m := mustOpen(t, l, p, RTLD_NOW)
	if got := callSym(t, l, m, "have_dep"); got != 1 {
		t.Fatalf("have_dep() = %d", got)
	}
	if n := loadedCount(l); n != 2 {
		t.Fatalf("%d objects loaded, want 2", n)
	}
	done := make(chan error, 1)
	go func() { done <- l.Close(m) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Close of a module whose destructor calls dlclose did not return (deadlock?)")
	}
	if n := loadedCount(l); n != 0 {
		t.Errorf("%d objects loaded after the close, want 0 (the destructor's dlclose unloads the dependency)", n)
	}
}
