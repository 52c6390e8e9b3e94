package ldso

import (
	"testing"
	"time"

	"halite/sandbox"
)

// openWithin opens name on a goroutine and fails the test if the open
// does not return within d (a deadlock in the loader).
func openWithin(t *testing.T, l *Loader, name string, flags Flags, d time.Duration) *Module {
	t.Helper()
	type result struct {
		m   *Module
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, err := l.Open(name, flags)
		done <- result{m, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("Open(%s): %v", name, r.err)
		}
		return r.m
	case <-time.After(d):
		t.Fatalf("Open(%s) did not return within %v (deadlock?)", name, d)
	}
	return nil
}

// readLong reads the long data symbol name of m.
func readLong(t *testing.T, l *Loader, m *Module, name string) uint64 {
	t.Helper()
	a, err := l.Sym(m, name)
	if err != nil {
		t.Fatalf("Sym(%s): %v", name, err)
	}
	var b [8]byte
	if err := l.Sandbox().Read(a, b[:]); err != nil {
		t.Fatal(err)
	}
	return le64(b[:])
}

// TestLoadConstructorDlopensThroughOtherObject: a constructor calls a
// function of another object (its dependency) that calls dlopen. The
// open comes from a thread running constructors, so it is the
// constructor's own recursive open (glibc's dl_load_lock is recursive
// per thread), whatever object's code made the call: it must neither
// wait for the running constructors nor for the outer open.
func TestLoadConstructorDlopensThroughOtherObject(t *testing.T) {
	dir := t.TempDir()
	buildModule(t, dir, "libctor_dep.so", []string{"ctor_dep.c"})
	buildModule(t, dir, "libgap_opener.so", []string{"gap_opener.c"}, "-Wl,-soname,libgap_opener.so")
	p := buildModule(t, dir, "gap_ctor_via.so", []string{"gap_ctor_via.c"}, "-L"+dir, "-lgap_opener")
	l := newTestLoader(t, dir, nil)
	if _, err := InstallAPI(l); err != nil {
		t.Fatal(err)
	}
	m := openWithin(t, l, p, RTLD_NOW, 30*time.Second)
	if got := callSym(t, l, m, "get_via_result"); got != 42 {
		t.Errorf("the constructor's dlopen through libgap_opener.so gave %d, want 42", int64(got))
	}
	if n := loadedCount(l); n != 3 {
		t.Errorf("%d objects loaded, want 3", n)
	}
	// The open from outside the sandbox still works afterwards, and the
	// loader has no constructor thread left.
	openWithin(t, l, "libctor_dep.so", RTLD_NOW|RTLD_NOLOAD, 30*time.Second)
	l.mu.Lock()
	running, threads := l.initRunning, len(l.initThreads)
	l.mu.Unlock()
	if running != 0 || threads != 0 {
		t.Errorf("after the opens: %d opens running constructors, %d constructor threads; want 0, 0", running, threads)
	}
}

// TestLoaderExit: Exit runs the destructors of everything still loaded
// (NODELETE objects included) in glibc's _dl_fini order, once.
func TestLoaderExit(t *testing.T) {
	dir := t.TempDir()
	logp := buildModule(t, dir, "libfini_log.so", []string{"fini_log.c"}, "-Wl,-soname,libfini_log.so")
	f1 := buildModule(t, dir, "libfini1.so", []string{"fini.c"}, "-DTAG=1", "-L"+dir, "-lfini_log", "-Wl,-soname,libfini1.so")
	f3 := buildModule(t, dir, "libfini3.so", []string{"fini.c"}, "-DTAG=3", "-L"+dir, "-lfini_log")
	f2 := buildModule(t, dir, "libfini2.so", []string{"fini.c"}, "-DTAG=2", "-L"+dir, "-Wl,--no-as-needed", "-lfini_log", "-lfini1")
	l := newTestLoader(t, dir, nil)
	lg := mustOpen(t, l, logp, RTLD_NOW)
	mustOpen(t, l, f1, RTLD_NOW)
	mustOpen(t, l, f3, RTLD_NOW|RTLD_NODELETE)
	m2 := mustOpen(t, l, f2, RTLD_NOW)
	if err := l.Exit(); err != nil {
		t.Fatal(err)
	}
	// Load order log, fini1, fini3, fini2; _dl_sort_maps for fini visits
	// them last first, each after its dependencies: fini3, fini2, fini1,
	// log (which has no destructor).
	want := []uint64{101, 103, 102, 3, 2, 1}
	words, err := l.Sym(lg, "log_words")
	if err != nil {
		t.Fatal(err)
	}
	got := make([]uint64, len(want))
	buf := make([]byte, 8*len(want))
	if err := l.Sandbox().Read(words, buf); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i] = le64(buf[8*i:])
	}
	if fmtU(got) != fmtU(want) {
		t.Errorf("constructor/destructor log = %v, want %v", got, want)
	}
	// Nothing runs twice: neither a second Exit nor a Close.
	if err := l.Exit(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(m2); err != nil {
		t.Fatal(err)
	}
	if n := readLong(t, l, lg, "log_n"); n != 6 {
		t.Errorf("log_n = %d after Exit, Exit, Close; want 6", n)
	}
}

// TestLoadDlopenNull: dlopen(NULL) gives the main program's handle, whose
// lookups search the global scope, from the Go side and from a module.
func TestLoadDlopenNull(t *testing.T) {
	dir := t.TempDir()
	dep := buildModule(t, dir, "libctor_dep.so", []string{"ctor_dep.c"})
	p := buildModule(t, dir, "gap_main.so", []string{"gap_main.c"})
	l := newTestLoader(t, dir, nil)
	if _, err := InstallAPI(l); err != nil {
		t.Fatal(err)
	}
	h0 := mustOpen(t, l, "", RTLD_NOW)
	if h0 != l.Main() {
		t.Fatalf("Open(\"\") = %p, want Main() %p", h0, l.Main())
	}
	if _, err := l.Sym(h0, "dep_val"); err == nil {
		t.Errorf("Sym(main, dep_val) found a symbol before any RTLD_GLOBAL open")
	}
	mustOpen(t, l, dep, RTLD_NOW|RTLD_GLOBAL)
	m := mustOpen(t, l, p, RTLD_NOW|RTLD_LOCAL)
	if _, err := l.Sym(h0, "dep_val"); err != nil {
		t.Errorf("Sym(main, dep_val) after the RTLD_GLOBAL open: %v", err)
	}
	if _, err := l.Sym(h0, "main_dep_val"); err == nil {
		t.Errorf("Sym(main, main_dep_val) found a symbol of an RTLD_LOCAL object")
	}
	for _, tc := range []struct {
		fn   string
		want int64
	}{{"main_dep_val", 42}, {"main_sees_self", 0}, {"main_same", 1}} {
		if got := int64(callSym(t, l, m, tc.fn)); got != tc.want {
			t.Errorf("%s() = %d, want %d", tc.fn, got, tc.want)
		}
	}
	if err := l.Close(h0); err != nil {
		t.Errorf("Close(main): %v", err)
	}
	if h := mustOpen(t, l, "", RTLD_LAZY); h != h0 {
		t.Errorf("a second dlopen(NULL) gave another handle")
	}
}

// TestLoadTLSDefaultNextVersion: dlsym(RTLD_DEFAULT), dlsym(RTLD_NEXT)
// and dlvsym of a thread-local variable give the calling thread's copy,
// in the sandbox and through Dlsym from the Go side.
func TestLoadTLSDefaultNextVersion(t *testing.T) {
	dir := t.TempDir()
	tlsp := buildModule(t, dir, "libgap_tls.so", []string{"gap_tls.c"}, "-Wl,-soname,libgap_tls.so")
	p := buildModule(t, dir, "gap_tls_user.so", []string{"gap_tls_user.c"}, "-L"+dir, "-lgap_tls")
	l := newTestLoader(t, dir, nil)
	if _, err := InstallAPI(l); err != nil {
		t.Fatal(err)
	}
	tm := mustOpen(t, l, tlsp, RTLD_NOW|RTLD_GLOBAL)
	m := mustOpen(t, l, p, RTLD_NOW)
	if got := callSym(t, l, m, "tls_lookups"); got != 0 {
		t.Errorf("tls_lookups() = %#b: these lookups (1 RTLD_DEFAULT, 2 RTLD_NEXT, 4 dlvsym) missed the thread's copy", got)
	}
	// From the Go side: no thread, no address.
	if _, err := l.SymDefault("gap_tv", ""); err == nil {
		t.Errorf("SymDefault of a TLS symbol without a thread gave an address")
	}
	// With a thread (kept alive in hold_thread): SymTLS's address.
	entry, err := l.Sym(m, "hold_thread")
	if err != nil {
		t.Fatal(err)
	}
	hold, err := l.Sym(m, "hold")
	if err != nil {
		t.Fatal(err)
	}
	const stackSize = 64 << 10
	stk, err := l.Sandbox().Alloc(stackSize, pageSize, sandbox.ProtRead|sandbox.ProtWrite)
	if err != nil {
		t.Fatal(err)
	}
	th, err := l.sys.Start(entry, 0, stk+stackSize, 0)
	if err != nil {
		t.Fatal(err)
	}
	want, werr := l.SymTLS(tm, "gap_tv", th)
	for _, sc := range []SymScope{ScopeDefault, ScopeHandle} {
		got, gerr := l.Dlsym(SymRequest{Scope: sc, Handle: tm, Name: "gap_tv", Thread: th})
		if werr != nil || gerr != nil || got != want {
			t.Errorf("Dlsym(scope %d, gap_tv, thread) = %#x, %v; want SymTLS's %#x, %v", sc, got, gerr, want, werr)
		}
	}
	if err := l.Sandbox().Write(hold, []byte{1, 0, 0, 0, 0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	if err := th.Join(); err != nil {
		t.Error(err)
	}
}

// TestLoadIteratePhdrSnapshot: a dl_iterate_phdr walk reports the objects
// loaded when it began, each once, and a close from another thread waits
// until the walk ends (glibc's dl_load_write_lock); a walk its callback
// ends early ends too (the close then goes ahead).
func TestLoadIteratePhdrSnapshot(t *testing.T) {
	dir := t.TempDir()
	dep := buildModule(t, dir, "libctor_dep.so", []string{"ctor_dep.c"})
	p := buildModule(t, dir, "gap_walk.so", []string{"gap_walk.c"})
	l := newTestLoader(t, dir, nil)
	if _, err := InstallAPI(l); err != nil {
		t.Fatal(err)
	}
	d := mustOpen(t, l, dep, RTLD_NOW)
	w := mustOpen(t, l, p, RTLD_NOW)
	if got := callSym(t, l, w, "walk_first"); got != 7 {
		t.Fatalf("walk_first() = %d, want the callback's 7", got)
	}
	started, err := l.Sym(w, "walk_started")
	if err != nil {
		t.Fatal(err)
	}
	release, err := l.Sym(w, "walk_release")
	if err != nil {
		t.Fatal(err)
	}
	fn, err := l.Sym(w, "walk")
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		n   uint64
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := l.Call(fn)
		done <- result{n, err}
	}()
	var b [8]byte
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if err := l.Sandbox().Read(started, b[:]); err != nil {
			t.Fatal(err)
		}
		if le64(b[:]) != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the walk did not start")
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- l.Close(d) }()
	select {
	case err := <-closed:
		t.Errorf("Close returned (%v) while another thread's walk was in progress", err)
	case <-time.After(200 * time.Millisecond):
	}
	b[0] = 1
	if err := l.Sandbox().Write(release, b[:]); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.n != 2 {
			t.Errorf("the walk saw %d objects, want the 2 loaded when it began", r.n)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the walk did not end")
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not return after the walk ended")
	}
	if n := loadedCount(l); n != 1 {
		t.Errorf("%d objects loaded after the close, want 1", n)
	}
}
