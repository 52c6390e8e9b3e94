// Package testobj builds the test objects of ldso/testdata/src with gcc:
// small executables and libraries that exercise the loader's search,
// dedup and binding rules. Tests of ldso and of the halite CLI share it.
// It only builds; it never runs what it builds.
package testobj

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Programs are the executables Build creates in OUT/bin, each
// demonstrating one rule.
var Programs = []string{
	"rpath_inherit",     // DT_RPATH of the executable is used for a dependency's dependency
	"runpath_noinherit", // DT_RUNPATH is not: libleaf.so is not found
	"order_rpath",       // RPATH comes before the library path
	"order_runpath",     // the library path comes before RUNPATH
	"soname_reuse",      // a DT_NEEDED name matching a loaded object's soname is not searched
	"dedup",             // three names (file, symlink, hard link), one object by (dev, ino)
	"ver_old",           // foo@VER_1 (hidden in the run-time library) and bar@VER_1
	"ver_new",           // foo@VER_2 (the default foo@@VER_2)
	"ver_missing",       // baz@VER_3: version VER_3 not found
	"weak",              // weak undefined nowhere() binds to 0
	"interpose",         // libi1's which() interposes libi2's; copy relocation of shared_data
	"missing",           // libnothere.so not found
	"cycle",             // libcyca.so and libcycb.so need each other
	"nodeflib",          // DF_1_NODEFLIB: libc.so.6 not taken from the cache or default dirs
	"uniq",              // dlopens libuniqx.so and libuniqy.so: one STB_GNU_UNIQUE u for both
	"protected",         // libprot's protected pdata/pfun bind to itself, not to libinter's
}

// Build compiles the sources in src (ldso/testdata/src) into out, which
// must exist and be empty. It needs gcc.
func Build(src, out string) error {
	src, err := filepath.Abs(src)
	if err != nil {
		return err
	}
	for _, d := range []string{"bin", "deep", "mid", "rp", "llp", "lib", "stub", "stub3"} {
		if err := os.Mkdir(filepath.Join(out, d), 0o755); err != nil {
			return err
		}
	}
	s := func(name string) string { return filepath.Join(src, name) }
	const (
		rpath   = "-Wl,--disable-new-dtags"
		runpath = "-Wl,--enable-new-dtags"
		libRun  = "-Wl,-rpath,$ORIGIN/../lib"
	)
	steps := [][]string{
		// RPATH vs RUNPATH, $ORIGIN.
		{"gcc", "-shared", "-fPIC", "-o", "deep/libleaf.so", s("leaf.c")},
		{"gcc", "-shared", "-fPIC", "-o", "mid/libmid.so", s("mid.c"), "-Ldeep", "-lleaf"},
		{"gcc", "-o", "bin/rpath_inherit", s("callmid.c"), "-Lmid", "-lmid", "-Wl,-rpath-link,deep", rpath, "-Wl,-rpath,$ORIGIN/../mid:$ORIGIN/../deep"},
		{"gcc", "-o", "bin/runpath_noinherit", s("callmid.c"), "-Lmid", "-lmid", "-Wl,-rpath-link,deep", runpath, "-Wl,-rpath,$ORIGIN/../mid:$ORIGIN/../deep"},
		// Precedence against the library path.
		{"gcc", "-shared", "-fPIC", "-DPICK=1", "-o", "rp/libpick.so", s("pick.c")},
		{"gcc", "-shared", "-fPIC", "-DPICK=2", "-o", "llp/libpick.so", s("pick.c")},
		{"gcc", "-o", "bin/order_rpath", s("callpick.c"), "-Lrp", "-lpick", rpath, "-Wl,-rpath,$ORIGIN/../rp"},
		{"gcc", "-o", "bin/order_runpath", s("callpick.c"), "-Lrp", "-lpick", runpath, "-Wl,-rpath,$ORIGIN/../rp"},
		// Soname reuse: link against stubs, then install the real files.
		{"gcc", "-shared", "-fPIC", "-o", "stub/libsonreal.so", s("sonreal.c")},
		{"gcc", "-shared", "-fPIC", "-Wl,-soname,libsonamed.so.1", "-o", "stub/libsonamed.so.1", s("sonreal.c")},
		{"gcc", "-shared", "-fPIC", "-o", "lib/libsonuser.so", s("sonuser.c"), "stub/libsonamed.so.1"},
		{"gcc", "-o", "bin/soname_reuse", s("soname_main.c"), "-Lstub", "-Llib", "-lsonreal", "-lsonuser", "-Wl,-rpath-link,stub", runpath, libRun},
		{"gcc", "-shared", "-fPIC", "-Wl,-soname,libsonamed.so.1", "-o", "lib/libsonreal.so", s("sonreal.c")},
		{"gcc", "-shared", "-fPIC", "-o", "lib/libsonamed.so.1", s("other.c")},
		// Dedup by (dev, ino).
		{"gcc", "-shared", "-fPIC", "-o", "lib/libdup.so", s("dup.c")},
		{"ln", "-s", "libdup.so", "lib/libdupsym.so"},
		{"ln", "lib/libdup.so", "lib/libduphard.so"},
		{"gcc", "-o", "bin/dedup", s("dedup_main.c"), "-Llib", "-Wl,--no-as-needed", "-ldup", "-ldupsym", "-lduphard", runpath, libRun},
		// Symbol versions.
		{"gcc", "-shared", "-fPIC", "-Wl,--version-script=" + s("ver1.map"), "-o", "stub/libver.so", s("ver1.c")},
		{"gcc", "-o", "bin/ver_old", s("ver_main.c"), "-Lstub", "-lver", runpath, libRun},
		{"gcc", "-shared", "-fPIC", "-Wl,--version-script=" + s("ver3.map"), "-o", "stub3/libver.so", s("ver3.c")},
		{"gcc", "-o", "bin/ver_missing", s("ver_missing.c"), "-Lstub3", "-lver", runpath, libRun},
		{"gcc", "-shared", "-fPIC", "-Wl,--version-script=" + s("ver2.map"), "-o", "lib/libver.so", s("ver2.c")},
		{"gcc", "-o", "bin/ver_new", s("ver_main.c"), "-Llib", "-lver", runpath, libRun},
		// Weak undefined.
		{"gcc", "-o", "bin/weak", s("weak_main.c")},
		// Interposition and a copy relocation.
		{"gcc", "-shared", "-fPIC", "-o", "lib/libi1.so", s("i1.c")},
		{"gcc", "-shared", "-fPIC", "-o", "lib/libi2.so", s("i2.c")},
		{"gcc", "-no-pie", "-fno-pic", "-o", "bin/interpose", s("interpose_main.c"), "-Llib", "-Wl,--no-as-needed", "-li1", "-li2", runpath, libRun},
		// A missing dependency.
		{"gcc", "-shared", "-fPIC", "-o", "stub/libnothere.so", s("nothere.c")},
		{"gcc", "-o", "bin/missing", s("missing_main.c"), "-Lstub", "-lnothere", runpath, libRun},
		// A dependency cycle (RPATH, so that the libraries find each other).
		{"gcc", "-shared", "-fPIC", "-o", "stub/libcycb.so", s("nothere.c")},
		{"gcc", "-shared", "-fPIC", "-o", "lib/libcyca.so", s("leaf.c"), "-Lstub", "-Wl,--no-as-needed", "-lcycb"},
		{"gcc", "-shared", "-fPIC", "-o", "lib/libcycb.so", s("mid.c"), "-Llib", "-lcyca"},
		{"gcc", "-o", "bin/cycle", s("callmid.c"), "-Llib", "-lcycb", rpath, libRun},
		// DF_1_NODEFLIB.
		{"gcc", "-o", "bin/nodeflib", s("weak_main.c"), "-Wl,-z,nodefaultlib"},
		// STB_GNU_UNIQUE across two RTLD_LOCAL dlopens.
		{"gcc", "-shared", "-fPIC", "-o", "lib/libuniqx.so", s("uniq.c")},
		{"gcc", "-shared", "-fPIC", "-o", "lib/libuniqy.so", s("uniq.c")},
		{"gcc", "-o", "bin/uniq", s("uniq_main.c"), runpath, libRun},
		// Protected visibility.
		{"gcc", "-shared", "-fPIC", "-o", "lib/libprot.so", s("prot.c")},
		{"gcc", "-shared", "-fPIC", "-o", "lib/libinter.so", s("inter.c")},
		{"gcc", "-o", "bin/protected", s("prot_main.c"), "-Llib", "-Wl,--no-as-needed", "-linter", "-lprot", runpath, libRun},
		// Hash table styles.
		{"gcc", "-shared", "-fPIC", "-Wl,--hash-style=gnu", "-o", "lib/libhash_gnu.so", s("hash.c")},
		{"gcc", "-shared", "-fPIC", "-Wl,--hash-style=sysv", "-o", "lib/libhash_sysv.so", s("hash.c")},
		{"gcc", "-shared", "-fPIC", "-Wl,--hash-style=both", "-o", "lib/libhash_both.so", s("hash.c")},
	}
	for _, st := range steps {
		cmd := exec.Command(st[0], st[1:]...)
		cmd.Dir = out
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(st, " "), err, b)
		}
	}
	return nil
}
