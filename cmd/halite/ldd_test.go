package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"halite/ldso/testobj"
)

var update = flag.Bool("update", false, "rewrite the golden files of the ldd/tree/bind/syms tests")

const goldenDir = "../../ldso/testdata/golden"

// sysValue hides the values of definitions in system libraries, which
// change with every libc update.
var sysValue = regexp.MustCompile(`(=> /(?:lib|usr)[^ ]* value )0x[0-9a-f]+`)

// TestLinkageGolden runs ldd, tree, bind and syms on the C test objects
// and compares their output (build directory written $T, system values
// hidden) with the golden files in ldso/testdata/golden.
func TestLinkageGolden(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	if _, err := os.Stat("/lib64/ld-linux-x86-64.so.2"); err != nil {
		t.Skip("not a glibc x86-64 host")
	}
	dir := t.TempDir()
	if err := testobj.Build("../../ldso/testdata/src", dir); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LD_LIBRARY_PATH", "")
	bin := func(p string) string { return filepath.Join(dir, "bin", p) }
	lib := func(p string) string { return filepath.Join(dir, "lib", p) }
	type tc struct {
		name string
		args []string
		// onlyT keeps only lines that mention the build directory (bind
		// output for libc itself is not ours to pin).
		onlyT bool
		// llp is the LD_LIBRARY_PATH the command sees.
		llp string
	}
	var cases []tc
	for _, p := range testobj.Programs {
		cases = append(cases, tc{"ldd-" + p, []string{"ldd", bin(p)}, false, ""})
	}
	cases = append(cases,
		tc{"ldd-order_runpath-llp", []string{"ldd", "--library-path", filepath.Join(dir, "llp"), bin("order_runpath")}, false, ""},
		tc{"ldd-order_rpath-llp", []string{"ldd", "--library-path", filepath.Join(dir, "llp"), bin("order_rpath")}, false, ""},
		tc{"ldd-order_runpath-env", []string{"ldd", bin("order_runpath")}, false, filepath.Join(dir, "llp")},
		tc{"ldd-order_runpath-flag-overrides-env", []string{"ldd", "--library-path", "", bin("order_runpath")}, false, filepath.Join(dir, "llp")},
		tc{"ldd-json-missing", []string{"ldd", "--json", bin("missing")}, false, ""},
		tc{"tree-rpath_inherit", []string{"tree", bin("rpath_inherit")}, false, ""},
		tc{"tree-runpath_noinherit", []string{"tree", bin("runpath_noinherit")}, false, ""},
		tc{"tree-dedup", []string{"tree", bin("dedup")}, false, ""},
		tc{"tree-soname_reuse", []string{"tree", bin("soname_reuse")}, false, ""},
		tc{"tree-order_runpath-llp", []string{"tree", "--library-path", filepath.Join(dir, "llp"), bin("order_runpath")}, false, ""},
		tc{"tree-dot-cycle", []string{"tree", "--dot", bin("cycle")}, false, ""},
		tc{"bind-ver_old", []string{"bind", bin("ver_old")}, true, ""},
		tc{"bind-ver_new", []string{"bind", bin("ver_new")}, true, ""},
		tc{"bind-ver_missing-unresolved", []string{"bind", "--unresolved", bin("ver_missing")}, false, ""},
		tc{"bind-weak", []string{"bind", bin("weak")}, true, ""},
		tc{"bind-interpose", []string{"bind", bin("interpose")}, true, ""},
		tc{"bind-dlopen-uniq", []string{"bind", "--dlopen", "libuniqx.so", "--dlopen", "libuniqy.so", bin("uniq")}, true, ""},
		tc{"bind-protected", []string{"bind", bin("protected")}, true, ""},
		tc{"bind-missing-unresolved", []string{"bind", "--unresolved", bin("missing")}, false, ""},
		tc{"syms-libver", []string{"syms", lib("libver.so")}, false, ""},
		tc{"syms-undefined-ver_old", []string{"syms", "--undefined", bin("ver_old")}, false, ""},
		tc{"syms-json-defined-libi2", []string{"syms", "--json", "--defined", lib("libi2.so")}, false, ""},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("LD_LIBRARY_PATH", c.llp)
			var out, errb bytes.Buffer
			code := run(c.args, &out, &errb)
			text := out.String()
			if c.onlyT {
				var keep []string
				for _, l := range strings.Split(text, "\n") {
					if strings.Contains(l, dir) {
						keep = append(keep, l)
					}
				}
				text = strings.Join(keep, "\n") + "\n"
			}
			text = sysValue.ReplaceAllString(text, "${1}?")
			got := fmt.Sprintf("exit %d\n%s", code, strings.ReplaceAll(text+errb.String(), dir, "$T"))
			path := filepath.Join(goldenDir, c.name+".txt")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s:\n--- got\n%s--- want\n%s", strings.Join(c.args, " "), path, got, want)
			}
		})
	}
}

func TestLinkageUsage(t *testing.T) {
	for _, args := range [][]string{{"ldd"}, {"ldd", "a", "b"}, {"tree"}, {"bind"}, {"syms"}, {"syms", "--defined", "--undefined", "x"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != exitUsage {
			t.Errorf("%q: exit %d, want %d (%s)", args, code, exitUsage, errb.String())
		}
	}
	for _, args := range [][]string{{"ldd", "/nonexistent/file"}, {"ldd", "/etc/passwd"}, {"tree", "/dev/null"}, {"bind", "/etc/hostname"}, {"syms", "/etc/passwd"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != exitFailure || errb.Len() == 0 || strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("%q: exit %d, stderr %q; want exit 1 and one error line", args, code, errb.String())
		}
	}
}
