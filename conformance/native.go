package conformance

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

//go:embed driver/driver.c
var driverSource []byte

// ModuleCFlags are the toolchain arguments every module is built with (by
// gcc natively, by `halite cc` for the sandbox): a shared object,
// position-independent, freestanding (modules use no libc), no stack
// protector, no loop-to-memcpy conversion (there is no memcpy to call).
var ModuleCFlags = []string{"-shared", "-fPIC", "-O2", "-nostdlib", "-ffreestanding",
	"-fno-tree-loop-distribute-patterns", "-fno-stack-protector", "-fcf-protection=none", "-Wall", "-Wno-unused-function"}

// buildVersion changes whenever the way scenarios are built changes, so
// cached builds from older code are not reused.
const buildVersion = "conformance-build-1"

// DefaultCacheDir is $HALITE_CACHE/conformance, or the user cache directory's
// halite/conformance.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv("HALITE_CACHE"); d != "" {
		return filepath.Join(d, "conformance"), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory (set HALITE_CACHE): %w", err)
	}
	return filepath.Join(d, "halite", "conformance"), nil
}

// Toolchain compiles and links one module from gcc-style arguments (all
// paths absolute). The native backend uses GCC; halite's uses `halite cc`
// (HaliteCC), with exactly the same arguments.
type Toolchain interface {
	// Name and Version identify the toolchain in cache keys.
	Name() string
	Version(ctx context.Context) (string, error)
	// Run compiles and links; dir is a scratch directory it may use.
	Run(ctx context.Context, dir string, args []string) error
}

// GCC is the host's gcc.
type GCC struct{ Path string }

func (g GCC) path() string {
	if g.Path != "" {
		return g.Path
	}
	return "gcc"
}

// Name is "gcc".
func (g GCC) Name() string { return "gcc" }

// Version is the first line of gcc --version.
func (g GCC) Version(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, g.path(), "--version").Output()
	if err != nil {
		return "", fmt.Errorf("running %s --version: %w", g.path(), err)
	}
	return strings.SplitN(string(out), "\n", 2)[0], nil
}

// Run runs gcc with args in dir.
func (g GCC) Run(ctx context.Context, dir string, args []string) error {
	return run(ctx, dir, g.path(), args...)
}

// Builder turns a scenario into a directory of built modules and links,
// cached by a hash of everything that goes into the build.
type Builder struct {
	Toolchain Toolchain
	CacheDir  string // DefaultCacheDir() if empty
	// Kind names the cache subdirectory ("native", "halite").
	Kind string

	once    sync.Once
	version string
	err     error
}

// Native is the reference backend: it builds scenarios with gcc and runs
// them with the native driver through the host's glibc.
type Native struct {
	CacheDir string // where builds go; DefaultCacheDir() if empty
	CC       string // the C compiler, "gcc" if empty

	once      sync.Once
	driver    string
	driverErr error
	ccVersion string
	builder   *Builder
}

// Name is "glibc".
func (n *Native) Name() string { return "glibc" }

func (n *Native) cc() string {
	if n.CC != "" {
		return n.CC
	}
	return "gcc"
}

func (n *Native) cacheDir() (string, error) {
	if n.CacheDir != "" {
		return n.CacheDir, nil
	}
	return DefaultCacheDir()
}

// setup builds the driver once and records the compiler's version (part of
// every cache key).
func (n *Native) setup(ctx context.Context) error {
	n.once.Do(func() {
		out, err := exec.CommandContext(ctx, n.cc(), "--version").Output()
		if err != nil {
			n.driverErr = fmt.Errorf("running %s --version: %w", n.cc(), err)
			return
		}
		n.ccVersion = strings.SplitN(string(out), "\n", 2)[0]
		n.builder = &Builder{Toolchain: GCC{Path: n.cc()}, CacheDir: n.CacheDir, Kind: "native"}
		dir, err := n.cacheDir()
		if err != nil {
			n.driverErr = err
			return
		}
		h := sha256.New()
		fmt.Fprintf(h, "%s\n%s\n", buildVersion, n.ccVersion)
		h.Write(driverSource)
		key := hex.EncodeToString(h.Sum(nil))[:20]
		final := filepath.Join(dir, "driver-"+key)
		n.driver = filepath.Join(final, "driver")
		if _, err := os.Stat(n.driver); err == nil {
			return
		}
		n.driverErr = buildAtomically(final, func(tmp string) error {
			src := filepath.Join(tmp, "driver.c")
			if err := os.WriteFile(src, driverSource, 0o644); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(tmp, "driver.dynlist"), []byte("{ conf_log; };\n"), 0o644); err != nil {
				return err
			}
			return run(ctx, tmp, n.cc(), "-O2", "-Wall", "-pthread", "-o", "driver", "driver.c",
				"-Wl,--dynamic-list=driver.dynlist")
		})
	})
	return n.driverErr
}

// buildAtomically runs build in a fresh temporary directory next to final
// and renames it to final, so a cache entry is either complete or absent.
func buildAtomically(final string, build func(tmp string) error) error {
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(final), ".tmp-"+filepath.Base(final)+"-")
	if err != nil {
		return err
	}
	if err := build(tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Stat(final); serr == nil {
			return nil // built concurrently by someone else
		}
		return err
	}
	return nil
}

// run executes a command in dir and returns its output in the error when it
// fails.
func run(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// step is one command of a scenario build, with the files it needs written
// first. The list of steps is hashed to form the cache key. In argv, "@/"
// stands for the build directory (so the key does not depend on it).
type step struct {
	files map[string]string // relative path -> contents
	argv  []string          // toolchain arguments
	dir   string            // relative directory to create (for a module output)
	link  *Link             // install a link instead of running argv
}

// Build builds s natively (or finds it in the cache) and returns the
// directory the operations must run in.
func (n *Native) Build(ctx context.Context, s *Scenario) (string, error) {
	if err := n.setup(ctx); err != nil {
		return "", err
	}
	return n.builder.Build(ctx, s)
}

// Build builds s with the builder's toolchain (or finds it in the cache) and
// returns the directory holding the installed modules and links, where the
// operations must run.
func (b *Builder) Build(ctx context.Context, s *Scenario) (string, error) {
	b.once.Do(func() { b.version, b.err = b.Toolchain.Version(ctx) })
	if b.err != nil {
		return "", b.err
	}
	steps := plan(s)
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n", buildVersion, b.Toolchain.Name(), b.version)
	for _, st := range steps {
		fmt.Fprintf(h, "step %q %q %v\n", st.dir, st.argv, st.link)
		for _, k := range sortedKeys(st.files) {
			fmt.Fprintf(h, "file %q %d\n%s\n", k, len(st.files[k]), st.files[k])
		}
	}
	dir := b.CacheDir
	if dir == "" {
		var err error
		if dir, err = DefaultCacheDir(); err != nil {
			return "", err
		}
	}
	kind := b.Kind
	if kind == "" {
		kind = b.Toolchain.Name()
	}
	final := filepath.Join(dir, kind, s.Name+"-"+hex.EncodeToString(h.Sum(nil))[:20])
	runDir := filepath.Join(final, "run")
	if _, err := os.Stat(runDir); err == nil {
		return runDir, nil
	}
	err := buildAtomically(final, func(tmp string) error {
		for _, d := range []string{"run", "src", "stub", "linkonly", "scratch"} {
			if err := os.MkdirAll(filepath.Join(tmp, d), 0o755); err != nil {
				return err
			}
		}
		for _, st := range steps {
			for _, k := range sortedKeys(st.files) {
				if err := os.WriteFile(filepath.Join(tmp, k), []byte(st.files[k]), 0o644); err != nil {
					return err
				}
			}
			if st.dir != "" {
				if err := os.MkdirAll(filepath.Join(tmp, st.dir), 0o755); err != nil {
					return err
				}
			}
			if st.link != nil {
				if err := installLink(tmp, st.link); err != nil {
					return fmt.Errorf("scenario %s: %w", s.Name, err)
				}
				continue
			}
			args := make([]string, len(st.argv))
			for i, a := range st.argv {
				args[i] = strings.ReplaceAll(a, "@/", tmp+"/")
			}
			if err := b.Toolchain.Run(ctx, filepath.Join(tmp, "scratch"), args); err != nil {
				return fmt.Errorf("scenario %s: %w", s.Name, err)
			}
		}
		return os.RemoveAll(filepath.Join(tmp, "scratch"))
	})
	if err != nil {
		return "", err
	}
	return runDir, nil
}

// installLink creates a symlink, hard link, copy or text file in tmp/run.
func installLink(tmp string, l *Link) error {
	p := filepath.Join(tmp, "run", l.Path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	switch l.Kind {
	case "hardlink":
		return os.Link(filepath.Join(tmp, "run", l.Target), p)
	case "symlink":
		return os.Symlink(l.Target, p)
	case "copy":
		b, err := os.ReadFile(filepath.Join(tmp, "run", l.Target))
		if err != nil {
			return err
		}
		return os.WriteFile(p, b, 0o755)
	case "file":
		return os.WriteFile(p, []byte(l.Target+"\n"), 0o644)
	}
	return fmt.Errorf("unknown link kind %q", l.Kind)
}

func sortedKeys(m map[string]string) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	for i := 1; i < len(k); i++ {
		for j := i; j > 0 && k[j] < k[j-1]; j-- {
			k[j], k[j-1] = k[j-1], k[j]
		}
	}
	return k
}

// outPath is where module m is built, relative to the build directory.
func outPath(m *Module) string {
	if m.LinkOnly {
		return filepath.Join("linkonly", m.Path)
	}
	return filepath.Join("run", m.Path)
}

// plan orders the module builds (a module is linked against the modules it
// needs when they are built already; a dependency cycle or a missing or
// renamed dependency is linked against a stub with the right soname) and
// lists the commands.
func plan(s *Scenario) []step {
	var steps []step
	built := map[*Module]bool{}
	stubs := map[string]string{} // needed name -> stub path
	remaining := append([]*Module(nil), s.Modules...)
	ready := func(m *Module) bool {
		for _, need := range m.Needs {
			if d := s.LinkTarget(need); d != nil && d != m && !built[d] {
				return false
			}
		}
		return true
	}
	for len(remaining) > 0 {
		idx := -1
		for i, m := range remaining {
			if ready(m) {
				idx = i
				break
			}
		}
		if idx < 0 {
			idx = 0 // a cycle: build the first one against stubs
		}
		m := remaining[idx]
		remaining = append(remaining[:idx], remaining[idx+1:]...)
		src := Generate(s.Name, m)
		base := fmt.Sprintf("src/m%d", len(steps))
		st := step{files: map[string]string{base + ".c": src.C}, dir: filepath.Dir(outPath(m))}
		argv := append(append([]string(nil), ModuleCFlags...), src.CFlags...)
		argv = append(argv, "-o", "@/"+outPath(m), "@/"+base+".c")
		if src.Map != "" {
			st.files[base+".map"] = src.Map
			argv = append(argv, "-Wl,--version-script=@/"+base+".map")
		}
		for _, f := range src.LDFlags {
			argv = append(argv, "-Wl,"+f)
		}
		argv = append(argv, "-Wl,--no-as-needed")
		for _, need := range m.Needs {
			d := s.LinkTarget(need)
			switch {
			case d != nil && d != m && built[d] && d.Soname == need:
				argv = append(argv, "@/"+outPath(d))
			case d != nil && d != m && built[d]:
				argv = append(argv, "-L@/"+filepath.Dir(outPath(d)), "-l:"+need)
			default:
				sp, ok := stubs[need]
				if !ok {
					sp = fmt.Sprintf("stub/s%d.so", len(stubs))
					stubs[need] = sp
					steps = append(steps, step{
						files: map[string]string{"src/empty.c": "/* an empty stub library */\n"},
						argv:  append(append([]string(nil), ModuleCFlags...), "-o", "@/"+sp, "@/src/empty.c", "-Wl,-soname="+need),
					})
				}
				argv = append(argv, "@/"+sp)
			}
		}
		st.argv = argv
		steps = append(steps, st)
		built[m] = true
	}
	for i := range s.Links {
		l := s.Links[i]
		steps = append(steps, step{link: &l})
	}
	return steps
}

// Run builds s and runs its operations with the native driver, returning
// the normalised log.
func (n *Native) Run(ctx context.Context, s *Scenario) ([]string, error) {
	dir, err := n.Build(ctx, s)
	if err != nil {
		return nil, err
	}
	var in bytes.Buffer
	for _, op := range s.Ops {
		th := op.Thread
		if th == "" {
			th = "-"
		}
		if op.Async {
			th = "&" + th
		}
		fields := []string{op.Echo(), th, op.Kind}
		switch op.Kind {
		case "open":
			v := 0
			for _, f := range op.Flags {
				v |= OpenFlags[f]
			}
			fields = append(fields, op.Args[0], op.Args[1], fmt.Sprint(v))
		default:
			fields = append(fields, op.Args...)
		}
		in.WriteString(strings.Join(fields, "\t") + "\n")
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, n.driver)
	cmd.Dir = dir
	cmd.Stdin = &in
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	if s.LibPath != "" {
		cmd.Env = append(cmd.Env, "LD_LIBRARY_PATH="+s.LibPath)
	}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err = cmd.Run()
	lines := Normalize(out.String(), dir, n.driver)
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return nil, fmt.Errorf("scenario %s: running driver: %w", s.Name, err)
		}
		// A crash is a result like any other: it goes into the log.
		lines = append(lines, "driver: "+ee.ProcessState.String())
		if e := strings.TrimSpace(stderr.String()); e != "" {
			lines = append(lines, Normalize(e, dir, n.driver)...)
		}
	}
	return lines, nil
}

// Normalize splits a raw log into lines and makes it independent of where
// the scenario ran: the scenario directory (absolute) disappears from paths
// (".../run/sub/liba.so" becomes "sub/liba.so"), and the runner's main
// program is called "<main>".
func Normalize(raw, dir, mainProgram string) []string {
	raw = strings.ReplaceAll(raw, dir+"/", "")
	raw = strings.ReplaceAll(raw, dir, ".")
	if mainProgram != "" {
		raw = strings.ReplaceAll(raw, mainProgram, "<main>")
	}
	raw = strings.TrimSuffix(raw, "\n")
	if raw == "" {
		return nil
	}
	return strings.Split(raw, "\n")
}
