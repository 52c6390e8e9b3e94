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
func glibcTrace(t *testing.T, argv []string) (map[bindKey]string, [][2]string) {
	dir := t.TempDir()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "LD_DEBUG=bindings,files", "LD_DEBUG_OUTPUT="+filepath.Join(dir, "trace"))
	cmd.Env = append(cmd.Env, "LD_LIBRARY_PATH=")
	if err := cmd.Start(); err != nil {
		t.Skipf("%v", err)
	}
	pid := cmd.Process.Pid
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %v", argv, err)
	}
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
			binds[bindKey{m[1], m[4], m[5]}] = m[2]
		} else if m := reDlopen.FindStringSubmatch(sc.Text()); m != nil {
			opens = append(opens, [2]string{m[1], m[2]})
		}
	}
	return binds, opens
}

// TestBindingsMatchGlibc compares halite's predicted bindings with the
// lookups glibc reports for real programs. glibc reports a lazily bound
// PLT symbol only when it is called, and lookups that are not relocations
// (dlsym, ld.so's own look-ups of libc internals, the vdso); halite
// predicts every relocation. The comparison is on the keys (referencing
// object, symbol, version) both report: the defining object must agree.
// Objects dlopened by the program are replayed with Dlopen from the same
// caller, in the same order, and bound with their own scope.
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
			glibc, opens := glibcTrace(t, argv)
			ns, err := hostNamespace(t, argv[0], "")
			if err != nil {
				t.Fatal(err)
			}
			startup := map[string]bool{}
			for _, o := range ns.Scope {
				startup[o.Path] = true
			}
			ours := map[bindKey]string{}
			record := func(bs []Binding) {
				for _, b := range bs {
					if b.Kind == BoundLookup {
						ours[bindKey{b.From.Path, b.Symbol, b.VersionName()}] = b.Def.Object.Path
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
			type tally struct{ glibc, ours, both, agree int }
			var st, dl tally
			var glibcOnly []string
			for k, to := range glibc {
				var tl *tally
				switch {
				case startup[k.from]:
					tl = &st
				case dlopened[k.from]:
					tl = &dl
				default:
					continue // the vdso, or an object halite did not load
				}
				tl.glibc++
				ours, ok := ours[k]
				if !ok {
					if k.from != to {
						// Only a dlsym on a handle (looked up in the
						// handle's own object) is expected here.
						t.Errorf("glibc lookup %s: %s [%s] -> %s is not predicted", k.from, k.sym, k.ver, to)
					}
					glibcOnly = append(glibcOnly, fmt.Sprintf("%s: %s [%s] -> %s", k.from, k.sym, k.ver, to))
					continue
				}
				tl.both++
				if ours == to {
					tl.agree++
				} else {
					t.Errorf("%s: symbol %s [%s]: glibc binds to %s, halite to %s", k.from, k.sym, k.ver, to, ours)
				}
			}
			for k := range ours {
				if startup[k.from] {
					st.ours++
				} else {
					dl.ours++
				}
			}
			t.Logf("start-up objects (%d): glibc reported %d lookups, halite predicts %d; intersection %d, agreeing %d", len(ns.Scope), st.glibc, st.ours, st.both, st.agree)
			t.Logf("dlopened objects (%d): glibc reported %d lookups, halite predicts %d; intersection %d, agreeing %d", len(dlopened), dl.glibc, dl.ours, dl.both, dl.agree)
			if st.both == 0 || st.agree != st.both || dl.agree != dl.both {
				t.Errorf("no agreement on start-up objects")
			}
			for _, s := range glibcOnly {
				t.Logf("reported by glibc only (a dlsym on the handle, not a relocation): %s", s)
			}
		})
	}
}
