package ldso

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// bindKey identifies a symbol lookup as LD_DEBUG=bindings reports it.
type bindKey struct{ from, sym, ver string }

var (
	reBinding = regexp.MustCompile("binding file (.+) \\[0\\] to (.+) \\[0\\]: (normal|protected) symbol `([^']+)'(?: \\[([^]]+)\\])?")
	reDlopen  = regexp.MustCompile(`file=(.+) \[0\];  dynamically loaded by (.+) \[0\]`)
)

// glibcTrace runs argv with LD_DEBUG=bindings,files and returns what
// glibc bound (key -> defining file) and the dlopen calls, in order.
func glibcTrace(t *testing.T, argv, env []string) (map[bindKey]string, [][2]string) {
	dir := t.TempDir()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "LD_DEBUG=bindings,files", "LD_DEBUG_OUTPUT="+filepath.Join(dir, "trace"))
	cmd.Env = append(append(cmd.Env, "LD_LIBRARY_PATH="), env...)
	if err := cmd.Start(); err != nil {
		t.Skipf("%v", err)
	}
	pid := cmd.Process.Pid
	cmd.Wait() // an exit status is the program's answer, not a failure

	f, err := os.Open(filepath.Join(dir, fmt.Sprintf("trace.%d", pid)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	binds := map[bindKey]string{}
	var opens [][2]string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if m := reBinding.FindStringSubmatch(sc.Text()); m != nil {
			binds[bindKey{m[1], m[4], m[5]}] = m[2] + " (" + m[3] + ")"
		} else if m := reDlopen.FindStringSubmatch(sc.Text()); m != nil {
			opens = append(opens, [2]string{m[1], m[2]})
		}
	}
	return binds, opens
}

// tally counts the comparison for one group of objects.
type tally struct{ glibc, ours, both, agree int }

// compareWithGlibc runs argv with LD_DEBUG=bindings,files (plus env),
// predicts the bindings of ns (already loaded from argv[0]) — start-up
// objects with Bind, then each dlopen glibc reports replayed with Dlopen
// from the same caller and bound with the global scope followed by the
// object's local scope — and compares on the keys (referencing object,
// symbol, version) both report. Every disagreement, and every glibc
// lookup halite does not predict other than a dlsym on a handle or
// ld.so's own malloc look-ups, is a test error.
func compareWithGlibc(t *testing.T, argv, env []string, ns *Namespace) (st, dl tally, glibcOnly []string) {
	t.Helper()
	glibc, opens := glibcTrace(t, argv, env)
	startup := map[string]bool{}
	for _, o := range ns.Scope {
		startup[o.Path] = true
	}
	ours := map[bindKey]string{}
	record := func(bs []Binding) {
		for _, b := range bs {
			if b.Kind == BoundLookup {
				kind := "normal"
				if b.Protected {
					kind = "protected"
				}
				ours[bindKey{b.From.Path, b.Symbol, b.VersionName()}] = b.Def.Object.Path + " (" + kind + ")"
			}
		}
	}
	record(ns.Bind())
	dlopened := map[string]bool{}
	for _, op := range opens {
		var caller *Object
		for _, o := range ns.Objects {
			if o.Path == op[1] {
				caller = o
			}
		}
		if caller == nil {
			t.Logf("dlopen of %s by %s: caller not an object halite knows; skipped", op[0], op[1])
			continue
		}
		_, local, loaded, err := ns.Dlopen(op[0], caller)
		if err != nil {
			t.Errorf("Dlopen(%s): %v", op[0], err)
			continue
		}
		for _, o := range loaded {
			dlopened[o.Path] = true
		}
		record(ns.BindObjects(loaded, append(append([]*Object{}, ns.Scope...), local...)))
	}
	for k, to := range glibc {
		from := k.from
		if from == argv[0] {
			from = ns.Main.Path
		}
		var tl *tally
		switch {
		case startup[from]:
			tl = &st
		case dlopened[from]:
			tl = &dl
		default:
			continue // the vdso, or an object halite did not load
		}
		tl.glibc++
		got, ok := ours[bindKey{from, k.sym, k.ver}]
		if !ok {
			switch {
			case from+" (normal)" == to:
				glibcOnly = append(glibcOnly, fmt.Sprintf("%s: %s [%s] (a dlsym on the handle)", from, k.sym, k.ver))
			case from == ns.Main.Path && rtldMalloc[k.sym]:
				glibcOnly = append(glibcOnly, fmt.Sprintf("%s: %s [%s] (ld.so's own look-up of libc's malloc)", from, k.sym, k.ver))
			default:
				t.Errorf("glibc lookup %s: %s [%s] -> %s is not predicted", from, k.sym, k.ver, to)
			}
			continue
		}
		tl.both++
		if got == to {
			tl.agree++
		} else {
			t.Errorf("%s: symbol %s [%s]: glibc binds to %s, halite to %s", from, k.sym, k.ver, to, got)
		}
	}
	for k := range ours {
		if startup[k.from] {
			st.ours++
		} else {
			dl.ours++
		}
	}
	if st.both == 0 {
		t.Errorf("no lookup in common on start-up objects")
	}
	return st, dl, glibcOnly
}

// rtldMalloc are the functions ld.so looks up itself, in the main
// program's name, once libc is relocated (__rtld_malloc_init_real).
var rtldMalloc = map[string]bool{"malloc": true, "calloc": true, "realloc": true, "free": true}

// TestBindingsMatchGlibc compares halite's predicted bindings with the
// lookups glibc reports for real programs. glibc reports a lazily bound
// PLT symbol only when it is called, and lookups that are not relocations
// (dlsym, ld.so's own look-ups); halite predicts every relocation. The
// defining object must agree on every key both report.
func TestBindingsMatchGlibc(t *testing.T) {
	progs := [][]string{
		{"/usr/bin/python3", "-c", "import sqlite3, ctypes, decimal"},
		{"/usr/bin/curl", "--version"},
		{"/usr/bin/git", "--version"},
	}
	for _, argv := range progs {
		t.Run(filepath.Base(argv[0]), func(t *testing.T) {
			if _, err := os.Stat(argv[0]); err != nil {
				t.Skip(err)
			}
			ns, err := hostNamespace(t, argv[0], "")
			if err != nil {
				t.Fatal(err)
			}
			st, dl, only := compareWithGlibc(t, argv, nil, ns)
			t.Logf("start-up objects (%d): glibc reported %d lookups, halite predicts %d; intersection %d, agreeing %d", len(ns.Scope), st.glibc, st.ours, st.both, st.agree)
			t.Logf("dlopened objects: glibc reported %d lookups, halite predicts %d; intersection %d, agreeing %d", dl.glibc, dl.ours, dl.both, dl.agree)
			for _, s := range only {
				t.Logf("reported by glibc only: %s", s)
			}
		})
	}
}
