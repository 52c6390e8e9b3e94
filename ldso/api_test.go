package ldso

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"halite/pthread"
	"halite/sandbox"
	"halite/sandbox/vfs"
	"halite/sfi"
	"halite/validate"
)

// buildAPIModule builds testdata/api/SRC with halite cc into dir/OUT
// (halite cc puts halite.h on the include path).
func buildAPIModule(t *testing.T, dir, out, src string, extra ...string) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed")
	}
	path := filepath.Join(dir, out)
	args := append([]string{"-O2", "-shared", "-fPIC", "-nostdlib", "-ffreestanding", "-fno-builtin", "-fno-tree-loop-distribute-patterns",
		"-o", path, filepath.Join("testdata", "api", src)}, extra...)
	var stderr bytes.Buffer
	if err := sfi.Run(sfi.Config{Stderr: &stderr, Check: sfi.ValidatorChecker(), TempDir: t.TempDir()}, args); err != nil {
		t.Fatalf("halite cc %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return path
}

// syncBuffer is a bytes.Buffer safe for the sandbox's writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// newAPILoader makes a sandbox with pthread, a VFS mounting dir at /m
// (read-only), a loader over the host FS and the dl* API.
func newAPILoader(t testing.TB, dir string, stdout *syncBuffer) (*Loader, *API) {
	t.Helper()
	s, err := sandbox.New(sandbox.Config{Stdout: stdout, Validate: validate.Options{Profile: validate.Halite, Features: validate.HostFeatures()}})
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
	v, err := vfs.New(vfs.Config{Mounts: []vfs.Mount{{Host: dir, Guest: "/m"}}})
	if err != nil {
		t.Fatal(err)
	}
	vfs.Install(s, v)
	t.Cleanup(func() { cancel(); sys.Close(); s.Close(); v.Close() })
	l, err := NewLoader(s, sys, LoaderConfig{LibraryPath: dir, Cwd: dir})
	if err != nil {
		t.Fatal(err)
	}
	api, err := InstallAPI(l)
	if err != nil {
		t.Fatal(err)
	}
	return l, api
}

// guestString writes strings into a fresh guest page and returns their addresses.
func guestStrings(t *testing.T, s *sandbox.Sandbox, strs ...string) []uint64 {
	t.Helper()
	p, err := s.Alloc(pageSize, pageSize, sandbox.ProtRead|sandbox.ProtWrite)
	if err != nil {
		t.Fatal(err)
	}
	var out []uint64
	at := p
	for _, x := range strs {
		if err := s.Write(at, append([]byte(x), 0)); err != nil {
			t.Fatal(err)
		}
		out = append(out, at)
		at += uint64(len(x)) + 1
	}
	return out
}

// TestAPI: a libc-free module writes to stdout, reads a file from the
// VFS, dlopens another module, dlsyms and calls into it, uses dladdr and
// dl_iterate_phdr, dlcloses it and reads dlerror after failures.
func TestAPI(t *testing.T) {
	dir := t.TempDir()
	dep := buildAPIModule(t, dir, "dep.so", "dep.c")
	user := buildAPIModule(t, dir, "libuser.so", "user.c")
	if err := os.WriteFile(filepath.Join(dir, "greeting.txt"), []byte("read through the VFS\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	l, _ := newAPILoader(t, dir, &out)
	m := mustOpen(t, l, user, RTLD_NOW)
	args := guestStrings(t, l.Sandbox(), "/m/greeting.txt", dep)
	got := callSym(t, l, m, "run", args...)
	want := strings.Join([]string{
		"hello from the sandbox",
		"file: read through the VFS",
		"dep_mul(6, 7) = 143", // 42 + calls (101 on this fresh thread)
		"dladdr: dep_mul",
		"objects: 2",
		"dlerror: " + dep + ": undefined symbol: no_such_symbol",
		"dlerror: /no/such/lib.so: cannot open shared object file: No such file or directory",
		"dlerror: shared object not open",
		"",
	}, "\n")
	if out.String() != want {
		t.Errorf("module output:\n%s\nwant:\n%s", out.String(), want)
	}
	if got != 0 {
		t.Errorf("run returned %d failed checks", got)
	}
	if n := loadedCount(l); n != 1 {
		t.Errorf("%d objects loaded after the module's dlclose, want 1", n)
	}
}

// TestAPIBadPointers: bad guest pointers and handles are errors for the
// caller (dlerror), never a fault.
func TestAPIBadPointers(t *testing.T) {
	dir := t.TempDir()
	user := buildAPIModule(t, dir, "libuser.so", "user.c")
	var out syncBuffer
	l, _ := newAPILoader(t, dir, &out)
	m := mustOpen(t, l, user, RTLD_NOW)
	if got := callSym(t, l, m, "bad_pointers"); got != 0 {
		t.Errorf("bad_pointers: %d calls did not fail\n%s", got, out.String())
	}
	want := "dlerror: dlopen: cannot read the name at 0x10: "
	if !strings.HasPrefix(out.String(), want) || !strings.Contains(out.String(), "dlclose of a junk handle failed\n") {
		t.Errorf("output:\n%s\nwant a line starting %q and the dlclose line", out.String(), want)
	}
}

// TestAPICallerObject: dlopen from sandboxed code searches the calling
// object's RUNPATH ($ORIGIN), also from a constructor; dlerror is per
// thread; dlsym(RTLD_NEXT) finds the definition after the caller's object
// (in its dependency).
func TestAPICallerObject(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	buildAPIModule(t, sub, "libsub.so", "dep.c")
	origin := buildAPIModule(t, dir, "origin.so", "origin.c", "-Wl,-rpath,$ORIGIN/sub")
	buildAPIModule(t, dir, "libnext2.so", "next2.c")
	n1 := buildAPIModule(t, dir, "next1.so", "next1.c", "-L"+dir, "-Wl,--no-as-needed", "-lnext2", "-Wl,-rpath,$ORIGIN")
	var out syncBuffer
	l, _ := newAPILoader(t, t.TempDir(), &out) // libsub.so is on no library path
	m := mustOpen(t, l, origin, RTLD_NOW)
	if got := callSym(t, l, m, "ctor_result"); got != 107 { // 2*3 + 101
		t.Errorf("ctor_result() = %d, want 107 (the constructor's dlopen through $ORIGIN/sub)", int64(got))
	}
	if n := loadedCount(l); n != 2 {
		t.Errorf("%d objects loaded, want origin.so and libsub.so", n)
	}
	for i := 0; i < 2; i++ { // each call runs on a fresh thread with a fresh block
		if got := callSym(t, l, m, "tls_via_dlsym"); got != 79 {
			t.Errorf("tls_via_dlsym() = %d, want 79", int64(got))
		}
	}
	if got := callSym(t, l, m, "make_error"); got != 1 {
		t.Fatalf("make_error() = %d", got)
	}
	// Each loader call runs on a fresh thread: the error stayed with the
	// thread that made it.
	if got := callSym(t, l, m, "has_error"); got != 0 {
		t.Errorf("a new thread sees another thread's dlerror")
	}
	// glibc: RTLD_NEXT searches the scope of the object the caller was
	// loaded with, after the caller: next1.so's dependency libnext2.so.
	h1 := mustOpen(t, l, n1, RTLD_NOW|RTLD_GLOBAL)
	if got := callSym(t, l, h1, "next_which"); got != 2 {
		t.Errorf("next_which() = %d, want 2 (libnext2.so's which)", int64(got))
	}
	if got := callSym(t, l, h1, "which"); got != 1 {
		t.Errorf("which() = %d, want 1", got)
	}
}

// TestAPIConcurrent: sandbox threads dlopen, dlsym, call and dlclose the
// same module at once; every step succeeds and nothing stays loaded.
func TestAPIConcurrent(t *testing.T) {
	dir := t.TempDir()
	dep := buildAPIModule(t, dir, "dep.so", "dep.c")
	user := buildAPIModule(t, dir, "libuser.so", "user.c")
	var out syncBuffer
	l, _ := newAPILoader(t, dir, &out)
	m := mustOpen(t, l, user, RTLD_NOW)
	args := guestStrings(t, l.Sandbox(), dep)
	addr, err := l.Sym(m, "cycle")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := l.Call(addr, args[0], 25)
			if err == nil && v != 0 {
				err = fmt.Errorf("cycle: %d failed steps", v)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := loadedCount(l); n != 1 {
		t.Errorf("%d objects loaded after the cycles, want 1", n)
	}
}
