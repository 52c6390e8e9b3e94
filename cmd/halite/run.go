package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"halite/ldso"
	"halite/pthread"
	"halite/sandbox"
	"halite/sandbox/vfs"
	"halite/sandbox/vfs/ldsofs"
	"halite/validate"
)

// mountList collects repeated --mount flags.
type mountList []string

func (m *mountList) String() string     { return strings.Join(*m, ",") }
func (m *mountList) Set(s string) error { *m = append(*m, s); return nil }

func init() {
	var (
		mounts  mountList
		libPath string
		trace   bool
	)
	register(&command{
		name:    "run",
		summary: "load a module and its dependencies into a fresh sandbox and call a function",
		usage:   "[--mount HOST:GUEST[:rw]]... [--library-path P] [--trace] FILE.so [--call SYMBOL [INT ARGS...]]",
		setup: func(fs *flag.FlagSet) {
			mounts, libPath, trace = nil, "", false
			fs.Var(&mounts, "mount", "mount the host directory HOST at the guest path GUEST (read-only unless :rw); with mounts, FILE.so and the library path are guest paths")
			fs.StringVar(&libPath, "library-path", "", "colon-separated directories searched for dependencies (like LD_LIBRARY_PATH)")
			fs.BoolVar(&trace, "trace", false, "print the loader's decisions (files searched and found, bindings) on stderr, like LD_DEBUG=files,bindings")
		},
		run: func(e *env, args []string) int {
			return runRun(e, args, runOptions{mounts: mounts, libPath: libPath, trace: trace})
		},
	})
}

type runOptions struct {
	mounts  []string
	libPath string
	trace   bool
}

// parseRunArgs splits FILE.so [--call SYMBOL [ARGS...]].
func parseRunArgs(args []string) (file, sym string, vals []uint64, explicit bool, err error) {
	if len(args) == 0 {
		return "", "", nil, false, errors.New("no module given")
	}
	file, rest := args[0], args[1:]
	if len(rest) == 0 {
		return file, "main", nil, false, nil
	}
	if rest[0] != "--call" && rest[0] != "-call" {
		return "", "", nil, false, fmt.Errorf("unexpected argument %q after the module (want --call SYMBOL [INT ARGS...])", rest[0])
	}
	if len(rest) < 2 || rest[1] == "" {
		return "", "", nil, false, errors.New("--call needs a symbol name")
	}
	sym, rest = rest[1], rest[2:]
	if len(rest) > 6 {
		return "", "", nil, false, fmt.Errorf("--call %s: %d arguments (at most 6)", sym, len(rest))
	}
	for _, a := range rest {
		v, perr := parseIntArg(a)
		if perr != nil {
			return "", "", nil, false, perr
		}
		vals = append(vals, v)
	}
	return file, sym, vals, true, nil
}

// parseIntArg accepts decimal, 0x hex, 0 octal and negative integers (as
// their 64-bit two's complement).
func parseIntArg(s string) (uint64, error) {
	if v, err := strconv.ParseUint(s, 0, 64); err == nil {
		return v, nil
	}
	v, err := strconv.ParseInt(s, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("argument %q is not a 64-bit integer", s)
	}
	return uint64(v), nil
}

func runRun(e *env, args []string, opt runOptions) int {
	file, sym, vals, explicit, err := parseRunArgs(args)
	if err != nil {
		return e.usageError("%v", err)
	}
	fail := func(err error) int {
		fmt.Fprintf(e.stderr, "halite run: %s\n", oneLine(err.Error()))
		return exitFailure
	}
	var loaderPtr atomic.Pointer[ldso.Loader] // for fault reports
	s, err := sandbox.New(sandbox.Config{
		Stdout:   e.stdout,
		Stderr:   e.stderr,
		Validate: validate.Options{Profile: validate.Halite},
		Resolve: func(addr uint64) (string, uint64, bool) {
			if l := loaderPtr.Load(); l != nil {
				return l.Resolve(addr)
			}
			return "", 0, false
		},
	})
	if err != nil {
		return fail(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sys, err := pthread.Install(ctx, s, pthread.Config{}, pthread.ThreadsConfig{})
	if err != nil {
		return fail(err)
	}
	defer sys.Close()
	cfg := ldso.LoaderConfig{LibraryPath: opt.libPath}
	if opt.trace {
		cfg.Trace = e.stderr
	}
	if len(opt.mounts) > 0 {
		var ms []vfs.Mount
		for _, m := range opt.mounts {
			mt, err := vfs.ParseMount(m)
			if err != nil {
				return e.usageError("%v", err)
			}
			ms = append(ms, mt)
		}
		v, err := vfs.New(vfs.Config{Mounts: ms})
		if err != nil {
			return fail(err)
		}
		defer v.Close()
		vfs.Install(s, v)
		cfg.FS = ldsofs.New(v)
		cfg.Cwd = "/"
	} else {
		cfg.Cwd, _ = os.Getwd()
	}
	loader, err := ldso.NewLoader(s, sys, cfg)
	if err != nil {
		return fail(err)
	}
	loaderPtr.Store(loader)
	// libhalite.so: dlopen, dlsym, ..., halite_syscall for the modules.
	if _, err := ldso.InstallAPI(loader); err != nil {
		return fail(err)
	}
	if !strings.Contains(file, "/") {
		file = "./" + file // a file, not a library name to search for
	}
	h, err := loader.Open(file, ldso.RTLD_NOW)
	if err != nil {
		return fail(err)
	}
	addr, err := loader.Sym(h, sym)
	if err != nil {
		if !explicit {
			if opt.trace {
				fmt.Fprintf(e.stderr, "     %s exports no main; loaded only\n", file)
			}
			return exitOK
		}
		return fail(err)
	}
	if !explicit {
		vals = []uint64{0, 0} // main(argc = 0, argv = NULL)
	}
	v, err := loader.Call(addr, vals...)
	if err != nil {
		var ee *sandbox.ExitError
		if errors.As(err, &ee) {
			fmt.Fprintf(e.stderr, "halite run: %s called exit_group(%d)\n", sym, ee.Code)
			return ee.Code & 0xff
		}
		return fail(fmt.Errorf("calling %s: %w", sym, err))
	}
	if err := loader.Exit(); err != nil { // exit(): every loaded object's destructors (_dl_fini)
		fmt.Fprintf(e.stderr, "halite run: %s\n", oneLine(err.Error()))
	}
	fmt.Fprintln(e.stdout, v)
	return exitOK
}

// oneLine folds a multi-line message into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}
