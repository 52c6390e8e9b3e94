package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"halite/elfload"
	"halite/ldso"
	"halite/pthread"
	"halite/sandbox"
	"halite/sandbox/vfs"
	"halite/sandbox/vfs/ldsofs"
	"halite/sfi"
	"halite/validate"
)

func init() {
	var cacheDir string
	register(&command{
		name:    "demo",
		summary: "build a small extension module and its library with halite cc, load them into a sandbox and show what happened",
		usage:   "[--cache DIR]",
		setup: func(fs *flag.FlagSet) {
			cacheDir = ""
			fs.StringVar(&cacheDir, "cache", "", "build directory (default $HALITE_CACHE/demo, else the user cache dir's halite/demo)")
		},
		run: func(e *env, args []string) int {
			if len(args) > 0 {
				return e.usageError("unexpected argument %q", args[0])
			}
			return runDemo(e.stdout, e.stderr, cacheDir)
		},
	})
}

// demoCacheDir is where halite demo builds: $HALITE_CACHE/demo, or the
// user cache directory's halite/demo.
func demoCacheDir() (string, error) {
	if d := os.Getenv("HALITE_CACHE"); d != "" {
		return filepath.Join(d, "demo"), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory (set HALITE_CACHE): %w", err)
	}
	return filepath.Join(d, "halite", "demo"), nil
}

// lockedWriter serialises writes from sandbox threads.
type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// demoFlags are the compile flags of the demo's libc-free modules.
var demoFlags = []string{"-O2", "-shared", "-fPIC", "-nostdlib", "-ffreestanding", "-fno-builtin", "-fno-tree-loop-distribute-patterns"}

// runDemo builds ldso's demo sources (libgreet.so and ext.so, which needs
// it) with halite cc into the cache directory, loads ext.so into a fresh
// sandbox and reports validation, load order, bindings, TLS and the
// module's own output.
func runDemo(stdout, stderr io.Writer, dir string) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "halite demo: "+format+"\n", args...)
		return exitFailure
	}
	if dir == "" {
		d, err := demoCacheDir()
		if err != nil {
			return fail("%v", err)
		}
		dir = d
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail("%v", err)
	}
	srcs := ldso.DemoSources()
	names := make([]string, 0, len(srcs))
	for n, b := range srcs {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			return fail("%v", err)
		}
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) != 2 || names[0] != "ext.c" || names[1] != "libgreet.c" {
		return fail("embedded demo sources are %v, want ext.c and libgreet.c", names)
	}

	fmt.Fprintf(stdout, "== building with halite cc in %s\n", dir)
	lib := filepath.Join(dir, "libgreet.so")
	ext := filepath.Join(dir, "ext.so")
	for _, b := range []struct {
		out  string
		args []string
		note string
	}{
		{lib, []string{filepath.Join(dir, "libgreet.c"), "-Wl,-soname,libgreet.so"}, "a library: TLS variable greet_count, a constructor"},
		{ext, []string{filepath.Join(dir, "ext.c"), "-L" + dir, "-lgreet"}, "the extension module: DT_NEEDED libgreet.so"},
	} {
		args := append(append(append([]string{}, demoFlags...), "-o", b.out), b.args...)
		var cerr bytes.Buffer
		tmp, err := os.MkdirTemp("", "halite-demo-")
		if err != nil {
			return fail("%v", err)
		}
		err = sfi.Run(sfi.Config{Stdout: io.Discard, Stderr: &cerr, Check: ccChecker(), TempDir: tmp}, args)
		os.RemoveAll(tmp)
		if err != nil {
			return fail("halite cc %s: %v\n%s", strings.Join(args, " "), err, cerr.String())
		}
		fmt.Fprintf(stdout, "   %-12s %s\n", filepath.Base(b.out), b.note)
	}

	fmt.Fprintln(stdout, "\n== validation (halite profile, every executable segment)")
	for _, path := range []string{lib, ext} {
		f, err := elfload.Open(path)
		if err != nil {
			return fail("%v", err)
		}
		vs, err := validate.ELF(f.Plan, validate.Options{Profile: validate.Halite, Features: validate.HostFeatures()})
		f.Close()
		if err != nil {
			return fail("%s: %v", path, err)
		}
		for _, v := range vs {
			status := "valid"
			if !v.Verdict.Valid() {
				status = fmt.Sprintf("INVALID (%d violations)", len(v.Verdict.Violations))
			}
			fmt.Fprintf(stdout, "   %-15s segment %d %s at %#x: %d bytes, %d instructions, %d bundles: %s\n",
				filepath.Base(path), v.Index, v.Segment.Prot, v.Segment.Vaddr, len(v.Code), v.Verdict.Instructions, v.Verdict.Bundles, status)
		}
	}

	for _, rt := range []*pthread.RuntimeObject{ldso.APIRuntime(), pthread.Runtime()} {
		v := validate.Code(rt.Code, 0, validate.Options{Profile: validate.Halite, Features: validate.HostFeatures()})
		status := "valid"
		if !v.Valid() {
			status = fmt.Sprintf("INVALID (%d violations)", len(v.Violations))
		}
		fmt.Fprintf(stdout, "   %-15s runtime object (SFI assembly): %d bytes, %d instructions, %d bundles: %s\n",
			rt.Name, len(rt.Code), v.Instructions, v.Bundles, status)
	}

	out := &lockedWriter{}
	var trace bytes.Buffer
	s, err := sandbox.New(sandbox.Config{Stdout: out, Stderr: out,
		Validate: validate.Options{Profile: validate.Halite, Features: validate.HostFeatures()}})
	if err != nil {
		return fail("%v", err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sys, err := pthread.Install(ctx, s, pthread.Config{}, pthread.ThreadsConfig{})
	if err != nil {
		return fail("%v", err)
	}
	defer sys.Close()
	// The sandbox sees the cache directory, read-only, at /demo; the loader
	// finds the modules through the same VFS.
	if err := os.WriteFile(filepath.Join(dir, "message.txt"), []byte("a file on the host, mounted read-only at /demo\n"), 0o644); err != nil {
		return fail("%v", err)
	}
	v, err := vfs.New(vfs.Config{Mounts: []vfs.Mount{{Host: dir, Guest: demoGuestDir}}, Cwd: demoGuestDir})
	if err != nil {
		return fail("%v", err)
	}
	defer v.Close()
	vfs.Install(s, v)
	l, err := ldso.NewLoader(s, sys, ldso.LoaderConfig{FS: ldsofs.New(v), LibraryPath: demoGuestDir, Cwd: demoGuestDir, Trace: &trace})
	if err != nil {
		return fail("%v", err)
	}
	api, err := ldso.InstallAPI(l)
	if err != nil {
		return fail("%v", err)
	}
	h, err := l.Open(demoGuestDir+"/ext.so", ldso.RTLD_NOW)
	if err != nil {
		return fail("%v", err)
	}
	rt, rtAddr := api.RuntimeObject()
	fmt.Fprintf(stdout, "\n== load order (dlopen(\"%s/ext.so\", RTLD_NOW) in a sandbox at %#x; %s mounted read-only at %s)\n", demoGuestDir, s.Base(), dir, demoGuestDir)
	objs, _, _ := l.Objects()
	for i, o := range objs {
		tls := "no TLS"
		if o.TLSModID != 0 {
			tls = fmt.Sprintf("TLS module %d", o.TLSModID)
			if o.TLS != nil {
				tls += fmt.Sprintf(" (%d bytes, %d initialised)", o.TLS.Memsz, o.TLS.Filesz)
			}
		}
		fmt.Fprintf(stdout, "   %d. %-12s base %#x  %s\n", i+1, filepath.Base(o.Name), o.Addr, tls)
	}
	fmt.Fprintf(stdout, "   runtime objects: %s at %#x (%d bytes), %s\n", rt.Name, rtAddr, len(rt.Code), pthread.RuntimeObjectName)

	fmt.Fprintln(stdout, "\n== bindings (symbol references between objects)")
	for _, line := range strings.Split(trace.String(), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "binding file ") {
			continue
		}
		fmt.Fprintf(stdout, "   %s\n", shortenPaths(line, demoGuestDir))
	}

	addr, err := l.Sym(h, "ext_main")
	if err != nil {
		return fail("%v", err)
	}
	ret, err := l.Call(addr)
	if err != nil {
		return fail("calling ext_main: %v", err)
	}
	fmt.Fprintln(stdout, "\n== the modules' output (constructor during dlopen, then ext_main() on a sandbox thread; written with halite_syscall(1, 1, buf, n))")
	for _, line := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		fmt.Fprintf(stdout, "   | %s\n", shortenPaths(line, demoGuestDir))
	}
	fmt.Fprintf(stdout, "\n== ext_main() returned %d (greet_next() twice on a fresh thread: TLS greet_count starts at 40 per thread)\n", ret)
	if err := l.Close(h); err != nil {
		return fail("%v", err)
	}
	objs, adds, subs := l.Objects()
	fmt.Fprintf(stdout, "== dlclose: %d objects loaded (%d loaded, %d unloaded in all)\n", len(objs), adds, subs)
	return exitOK
}

// demoGuestDir is where the demo's build directory appears in the sandbox.
const demoGuestDir = "/demo"

// shortenPaths writes paths in dir as their base names.
func shortenPaths(s, dir string) string {
	return strings.ReplaceAll(s, dir+string(filepath.Separator), "")
}
