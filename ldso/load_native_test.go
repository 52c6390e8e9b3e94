package ldso

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A nativeScenario is built twice from testdata/sandbox: with halite cc
// (run through Loader) and with gcc (run through glibc by
// native_driver.c). Both must print the same lines.
type nativeScenario struct {
	name   string
	builds []nativeBuild
	libdir string   // the library path, relative to the build directory
	ops    []string // driver operations; %D is the build directory
}

type nativeBuild struct {
	out   string // relative to the build directory
	srcs  []string
	extra []string // %D is the build directory
}

var nativeScenarios = []nativeScenario{
	{
		name: "interposition",
		builds: []nativeBuild{
			{"libinterpose1.so", []string{"interpose1.c"}, []string{"-Wl,-soname,libinterpose1.so"}},
			{"libinterpose2.so", []string{"interpose2.c"}, []string{"-Wl,-soname,libinterpose2.so"}},
			{"m12.so", []string{"interpose_main.c"}, []string{"-L%D", "-Wl,--no-as-needed", "-linterpose1", "-linterpose2"}},
			{"m21.so", []string{"interpose_main.c"}, []string{"-L%D", "-Wl,--no-as-needed", "-linterpose2", "-linterpose1"}},
		},
		ops: []string{
			"open %D/m12.so 2", "call 0 call_who", "call 0 who",
			"open %D/m21.so 2", "call 1 call_who", "call 1 who",
			"call default who",
			"open %D/libinterpose2.so 258", "call default who",
			"close 0", "close 1", "loaded %D/m12.so", "loaded %D/libinterpose1.so", "loaded %D/libinterpose2.so",
		},
	},
	{
		name: "global-first-and-deepbind",
		builds: []nativeBuild{
			{"libinterpose1.so", []string{"interpose1.c"}, []string{"-Wl,-soname,libinterpose1.so"}},
			{"libinterpose2.so", []string{"interpose2.c"}, []string{"-Wl,-soname,libinterpose2.so"}},
			{"m12.so", []string{"interpose_main.c"}, []string{"-L%D", "-Wl,--no-as-needed", "-linterpose1", "-linterpose2"}},
			{"deep.so", []string{"interpose_main.c"}, []string{"-L%D", "-Wl,--no-as-needed", "-linterpose1", "-linterpose2"}},
		},
		ops: []string{
			"open %D/libinterpose2.so 258", "open %D/m12.so 2", "call 1 call_who",
			"open %D/deep.so 10", "call 2 call_who", "call default who",
		},
	},
	{
		name: "weak-ifunc-relr",
		builds: []nativeBuild{
			{"weak.so", []string{"weak.c"}, nil},
			{"libifunc.so", []string{"ifunc.c"}, []string{"-Wl,-soname,libifunc.so"}},
			{"ifunc_user.so", []string{"ifunc_user.c"}, []string{"-L%D", "-lifunc"}},
			{"relr.so", []string{"relr.c"}, []string{"-Wl,-z,pack-relative-relocs"}},
		},
		ops: []string{
			"open %D/weak.so 2", "call 0 weak_zero",
			"open %D/ifunc_user.so 1", "call 1 call_f", "call 1 f", "call 1 call_fp",
			"open %D/relr.so 2", "call 2 relr_sum",
		},
	},
	{
		name: "versions",
		builds: []nativeBuild{
			{"libver.so", []string{"ver.c"}, []string{"-Wl,--version-script=testdata/sandbox/ver.map", "-Wl,-soname,libver.so"}},
			{"ver_client.so", []string{"ver_client.c"}, []string{"-L%D", "-lver"}},
		},
		libdir: ".",
		ops: []string{
			"open %D/ver_client.so 2", "call 0 call_foo", "call 0 foo",
			"vcall 0 foo V1", "vcall 0 foo V2", "vcall 0 foo V3", "call 0 nosuch",
		},
	},
	{
		name: "rollback",
		builds: []nativeBuild{
			{"good/libprovider.so", []string{"provider.c"}, []string{"-Wl,-soname,libprovider.so", "-Wl,--version-script=testdata/sandbox/provider_v2.map"}},
			{"needs_sym.so", []string{"needs_sym.c"}, []string{"-L%D/good", "-lprovider"}},
			{"nosym/libprovider.so", []string{"provider_empty.c"}, []string{"-Wl,-soname,libprovider.so"}},
			{"nover/libprovider.so", []string{"provider.c"}, []string{"-Wl,-soname,libprovider.so", "-Wl,--version-script=testdata/sandbox/provider_v1.map"}},
		},
		libdir: "nosym",
		ops: []string{
			"open %D/needs_sym.so 2", "loaded %D/nosym/libprovider.so", "loaded %D/needs_sym.so",
			"open %D/nover/libprovider.so 2", "open %D/needs_sym.so 2", "close 0",
			"open %D/missing.so 2",
			"open %D/good/libprovider.so 2", "open %D/needs_sym.so 2", "call 2 use_provided",
		},
	},
	{
		name: "unload-nodelete-noload",
		builds: []nativeBuild{
			{"libbasic_b.so", []string{"basic_b.c"}, []string{"-Wl,-soname,libbasic_b.so"}},
			{"libbasic_a.so", []string{"basic_a.c"}, []string{"-L%D", "-lbasic_b"}},
			{"nodelete.so", []string{"nodelete.c"}, nil},
		},
		libdir: ".",
		ops: []string{
			"open %D/nodelete.so 4098", "open %D/libbasic_a.so 6", "open %D/libbasic_a.so 2", "open %D/libbasic_b.so 2", "open %D/libbasic_a.so 6",
			"call 1 add 3 4", "close 2", "loaded %D/libbasic_b.so", "close 1", "close 1",
			"loaded %D/libbasic_a.so", "loaded %D/libbasic_b.so",
			"close 0", "loaded %D/nodelete.so", "call 0 nd",
		},
	},
	{
		name: "init-fini-order",
		builds: []nativeBuild{
			{"libfini_log.so", []string{"fini_log.c"}, []string{"-Wl,-soname,libfini_log.so"}},
			{"libfini1.so", []string{"fini.c"}, []string{"-DTAG=1", "-L%D", "-lfini_log", "-Wl,-soname,libfini1.so"}},
			{"libfini2.so", []string{"fini.c"}, []string{"-DTAG=2", "-L%D", "-Wl,--no-as-needed", "-lfini_log", "-lfini1"}},
		},
		libdir: ".",
		ops: []string{
			"open %D/libfini_log.so 2", "open %D/libfini2.so 2", "read 0 log_words 2", "close 1", "read 0 log_words 4",
		},
	},
}

// TestLoadMatchesGlibc runs every scenario through glibc and through the
// sandbox loader and compares the outputs line by line.
func TestLoadMatchesGlibc(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed")
	}
	tmp := t.TempDir()
	driver := filepath.Join(tmp, "native_driver")
	if out, err := exec.Command("gcc", "-O2", "-o", driver, "testdata/sandbox/native_driver.c").CombinedOutput(); err != nil {
		t.Fatalf("building the native driver: %v\n%s", err, out)
	}
	for _, sc := range nativeScenarios {
		t.Run(sc.name, func(t *testing.T) {
			ndir, sdir := filepath.Join(t.TempDir(), "native"), filepath.Join(t.TempDir(), "sandbox")
			for _, b := range sc.builds {
				for _, d := range []string{ndir, sdir} {
					if err := os.MkdirAll(filepath.Dir(filepath.Join(d, b.out)), 0o755); err != nil {
						t.Fatal(err)
					}
				}
				var extraN, extraS []string
				for _, e := range b.extra {
					extraN = append(extraN, strings.ReplaceAll(e, "%D", ndir))
					extraS = append(extraS, strings.ReplaceAll(e, "%D", sdir))
				}
				buildModule(t, sdir, b.out, b.srcs, extraS...)
				args := []string{"-O2", "-shared", "-fPIC", "-o", filepath.Join(ndir, b.out)}
				for _, s := range b.srcs {
					args = append(args, filepath.Join("testdata", "sandbox", s))
				}
				if out, err := exec.Command("gcc", append(args, extraN...)...).CombinedOutput(); err != nil {
					t.Fatalf("gcc %v: %v\n%s", args, err, out)
				}
			}
			if sc.libdir == "" {
				sc.libdir = "."
			}
			var nargs []string
			for _, op := range sc.ops {
				nargs = append(nargs, strings.Fields(strings.ReplaceAll(op, "%D", ndir))...)
			}
			cmd := exec.Command(driver, nargs...)
			cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+filepath.Join(ndir, sc.libdir))
			var nout bytes.Buffer
			cmd.Stdout, cmd.Stderr = &nout, &nout
			if err := cmd.Run(); err != nil {
				t.Fatalf("native driver: %v\n%s", err, nout.String())
			}
			// glibc names the main program in an RTLD_DEFAULT miss; the
			// sandbox has no main program and says RTLD_DEFAULT.
			nstr := strings.ReplaceAll(nout.String(), driver+":", "RTLD_DEFAULT:")
			native := strings.Split(strings.TrimRight(strings.ReplaceAll(nstr, ndir, "%D"), "\n"), "\n")

			l := newTestLoader(t, filepath.Join(sdir, sc.libdir), nil)
			var sb []string
			for _, op := range sc.ops {
				sb = append(sb, strings.ReplaceAll(runLoaderOp(l, strings.Fields(strings.ReplaceAll(op, "%D", sdir))), sdir, "%D"))
			}
			for i, op := range sc.ops {
				n := "(missing)"
				if i < len(native) {
					n = native[i]
				}
				if n != sb[i] {
					t.Errorf("%s:\n\tglibc:  %s\n\thalite: %s", op, n, sb[i])
				}
			}
			if len(native) != len(sc.ops) {
				t.Errorf("native driver printed %d lines for %d operations:\n%s", len(native), len(sc.ops), nout.String())
			}
		})
	}
}

// loaderHandles is the Go side of the driver's handle table.
var loaderHandles = map[*Loader][]*Module{}

func runLoaderOp(l *Loader, f []string) string {
	hs := loaderHandles[l]
	handle := func(s string) (*Module, bool) {
		k, err := strconv.Atoi(s)
		if err != nil || k < 0 || k >= len(hs) {
			return nil, false
		}
		return hs[k], true
	}
	switch f[0] {
	case "open":
		fl, _ := strconv.Atoi(f[2])
		m, err := l.Open(f[1], Flags(fl))
		if err != nil {
			return "error: " + err.Error()
		}
		if m == nil {
			return "null"
		}
		for k, x := range hs {
			if x == m {
				return fmt.Sprintf("handle %d", k)
			}
		}
		loaderHandles[l] = append(hs, m)
		return fmt.Sprintf("handle %d", len(hs))
	case "call", "vcall":
		var addr uint64
		var err error
		switch {
		case f[1] == "default":
			addr, err = l.SymDefault(f[2], "")
		case f[0] == "vcall":
			m, _ := handle(f[1])
			addr, err = l.SymVersion(m, f[2], f[3])
		default:
			m, _ := handle(f[1])
			addr, err = l.Sym(m, f[2])
		}
		if err != nil {
			return "error: " + err.Error()
		}
		var args []uint64
		if f[0] == "call" {
			for _, a := range f[3:] {
				v, _ := strconv.ParseInt(a, 0, 64)
				args = append(args, uint64(v))
			}
		}
		v, err := l.Call(addr, args...)
		if err != nil {
			return "call error: " + err.Error()
		}
		return strconv.FormatUint(v, 10)
	case "read":
		m, _ := handle(f[1])
		addr, err := l.Sym(m, f[2])
		if err != nil {
			return "error: " + err.Error()
		}
		n, _ := strconv.Atoi(f[3])
		buf := make([]byte, 8*n)
		if err := l.Sandbox().Read(addr, buf); err != nil {
			return "read error: " + err.Error()
		}
		var out []string
		for i := 0; i < n; i++ {
			out = append(out, strconv.FormatInt(int64(le64(buf[8*i:])), 10))
		}
		return strings.Join(out, " ")
	case "close":
		m, _ := handle(f[1])
		if err := l.Close(m); err != nil {
			return "error: " + err.Error()
		}
		return "closed"
	case "loaded":
		m, err := l.Open(f[1], RTLD_NOW|RTLD_NOLOAD)
		if err != nil || m == nil {
			return "no"
		}
		l.Close(m)
		return "yes"
	}
	return "bad operation " + f[0]
}
