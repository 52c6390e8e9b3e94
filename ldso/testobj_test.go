package ldso

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"halite/ldso/testobj"
)

var (
	objOnce sync.Once
	objDir  string
	objErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if objDir != "" {
		os.RemoveAll(objDir)
	}
	os.Exit(code)
}

// testObjects builds the C test objects once per test binary.
func testObjects(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	objOnce.Do(func() {
		objDir, objErr = os.MkdirTemp("", "ldso-testobj-")
		if objErr == nil {
			objErr = testobj.Build("testdata/src", objDir)
		}
	})
	if objErr != nil {
		t.Fatal(objErr)
	}
	return objDir
}

// loadTest loads bin/prog of the test objects, with dir as the current
// directory (paths are relative, as a user would type them).
func loadTest(t *testing.T, prog, libraryPath string) *Namespace {
	t.Helper()
	dir := testObjects(t)
	cache, err := ReadCache("/etc/ld.so.cache")
	if err != nil {
		t.Fatal(err)
	}
	ns := NewNamespace(Config{Cwd: dir, LibraryPath: libraryPath, Cache: cache, Interp: "/lib64/ld-linux-x86-64.so.2"})
	if _, err := ns.LoadMain(filepath.Join(dir, "bin", prog)); err != nil {
		t.Fatal(err)
	}
	return ns
}

func objectNamed(ns *Namespace, name string) *Object {
	for _, o := range ns.Objects {
		if o.Name == name {
			return o
		}
	}
	return nil
}

func TestSearchRules(t *testing.T) {
	type check func(t *testing.T, ns *Namespace)
	missing := func(name string) check {
		return func(t *testing.T, ns *Namespace) {
			if o := objectNamed(ns, name); o == nil || !o.Missing {
				t.Errorf("%s: %+v, want a not-found placeholder", name, o)
			}
		}
	}
	found := func(name string, via Via, dirSuffix string) check {
		return func(t *testing.T, ns *Namespace) {
			o := objectNamed(ns, name)
			if o == nil || o.Missing || o.Via != via || !strings.HasSuffix(o.Dir, dirSuffix) {
				t.Errorf("%s: %+v, want found via %v in .../%s", name, o, via, dirSuffix)
			}
		}
	}
	llp := ""
	tests := []struct {
		prog, libraryPath string
		checks            []check
	}{
		{"rpath_inherit", "", []check{found("libmid.so", ViaRPATH, "/mid/"), found("libleaf.so", ViaRPATH, "/deep/"),
			func(t *testing.T, ns *Namespace) {
				leaf := objectNamed(ns, "libleaf.so")
				if leaf.Loader != objectNamed(ns, "libmid.so") || !strings.Contains(leaf.Path, "/bin/../deep/") {
					t.Errorf("libleaf: loader %v path %s", leaf.Loader.Path, leaf.Path)
				}
			}}},
		{"runpath_noinherit", "", []check{found("libmid.so", ViaRUNPATH, "/mid/"), missing("libleaf.so")}},
		{"order_rpath", "LLP", []check{found("libpick.so", ViaRPATH, "/rp/")}},
		{"order_runpath", "LLP", []check{found("libpick.so", ViaLibraryPath, "/llp/")}},
		{"order_runpath", "", []check{found("libpick.so", ViaRUNPATH, "/rp/")}},
		{"soname_reuse", "", []check{func(t *testing.T, ns *Namespace) {
			user := objectNamed(ns, "libsonuser.so")
			if len(user.Needed) == 0 || user.Needed[0].Via != ViaSoname || user.Needed[0].To != objectNamed(ns, "libsonreal.so") {
				t.Errorf("libsonuser needs %+v, want libsonreal.so by soname", user.Needed)
			}
			for _, o := range ns.Objects {
				if strings.HasSuffix(o.Path, "/libsonamed.so.1") {
					t.Errorf("the decoy %s was loaded", o.Path)
				}
			}
		}}},
		{"dedup", "", []check{func(t *testing.T, ns *Namespace) {
			d := objectNamed(ns, "libdup.so")
			if d == nil || len(ns.Objects) != 4 {
				t.Fatalf("objects %d, libdup %v", len(ns.Objects), d)
			}
			want := []string{"libdupsym.so", "libduphard.so"}
			if strings.Join(d.Aliases, ",") != strings.Join(want, ",") {
				t.Errorf("aliases %q, want %q", d.Aliases, want)
			}
			for _, e := range ns.Main.Needed[1:3] {
				if e.Via != ViaFileID || e.To != d || e.Found != ViaRUNPATH {
					t.Errorf("edge %s: %+v", e.Name, e)
				}
			}
		}}},
		{"missing", "", []check{missing("libnothere.so")}},
		{"cycle", "", []check{func(t *testing.T, ns *Namespace) {
			a, b := objectNamed(ns, "libcyca.so"), objectNamed(ns, "libcycb.so")
			if a == nil || b == nil || a.Needed[0].To != b || a.Needed[0].Via != ViaLoadedName {
				t.Errorf("cycle not closed: %+v %+v", a, b)
			}
		}}},
	}
	for _, tc := range tests {
		t.Run(tc.prog+"/"+tc.libraryPath, func(t *testing.T) {
			lp := tc.libraryPath
			if lp == "LLP" {
				lp = filepath.Join(testObjects(t), "llp")
			}
			_ = llp
			ns := loadTest(t, tc.prog, lp)
			for _, c := range tc.checks {
				c(t, ns)
			}
		})
	}
}

// bindingOf returns the binding of symbol name referenced from o.
func bindingOf(t *testing.T, bs []Binding, from *Object, name string, typ elf.R_X86_64) Binding {
	t.Helper()
	for _, b := range bs {
		if b.From == from && b.Symbol == name && (typ == 0 || b.Reloc.Type == typ) {
			return b
		}
	}
	t.Fatalf("no binding of %s from %s", name, from.Path)
	return Binding{}
}

func TestBindRules(t *testing.T) {
	t.Run("versions", func(t *testing.T) {
		ns := loadTest(t, "ver_old", "")
		bs := ns.Bind()
		lib := objectNamed(ns, "libver.so")
		foo := bindingOf(t, bs, ns.Main, "foo", 0)
		v1 := lib.Dynamic().Symbols
		if foo.Kind != BoundLookup || foo.Def.Object != lib || foo.VersionName() != "VER_1" || lib.Dynamic().Versym[foo.Def.Index] != 0x8002 || v1.At(foo.Def.Index).Name != "foo" {
			t.Errorf("ver_old foo: %+v, want the hidden foo@VER_1", foo)
		}
		ns = loadTest(t, "ver_new", "")
		bs = ns.Bind()
		lib = objectNamed(ns, "libver.so")
		foo = bindingOf(t, bs, ns.Main, "foo", 0)
		if foo.Kind != BoundLookup || foo.VersionName() != "VER_2" || lib.Dynamic().Versym[foo.Def.Index] != 3 {
			t.Errorf("ver_new foo: %+v, want foo@@VER_2", foo)
		}
		if errs := ns.CheckVersions(); len(errs) != 0 {
			t.Errorf("ver_new: %v", errs)
		}
		// The version-name symbols ld writes are SHN_ABS with value 0:
		// they still match (glibc's check_match exempts SHN_ABS).
		abs, ok := Lookup([]*Object{lib}, "VER_2", nil, ClassNormal, nil)
		if !ok || abs.Symbol.Section != elf.SHN_ABS {
			t.Errorf("VER_2: %+v, %v; want the SHN_ABS symbol", abs, ok)
		}
		b := Binding{Def: abs}
		b.setValue()
		if !b.Absolute {
			t.Error("an SHN_ABS definition should be marked absolute (not rebased)")
		}
		ns = loadTest(t, "ver_missing", "")
		errs := ns.CheckVersions()
		if len(errs) != 1 || errs[0].Version != "VER_3" || errs[0].Object != ns.Main || !strings.Contains(errs[0].Error(), "version `VER_3' not found (required by ") {
			t.Errorf("ver_missing: %v", errs)
		}
		baz := bindingOf(t, ns.Bind(), ns.Main, "baz", 0)
		if baz.Kind != Unresolved || !strings.Contains(baz.Reason, "baz, version VER_3") {
			t.Errorf("baz: %+v", baz)
		}
	})
	t.Run("weak", func(t *testing.T) {
		ns := loadTest(t, "weak", "")
		b := bindingOf(t, ns.Bind(), ns.Main, "nowhere", 0)
		if b.Kind != BoundWeakZero || b.Value != 0 {
			t.Errorf("nowhere: %+v", b)
		}
	})
	t.Run("interpose+copy", func(t *testing.T) {
		ns := loadTest(t, "interpose", "")
		bs := ns.Bind()
		i1, i2 := objectNamed(ns, "libi1.so"), objectNamed(ns, "libi2.so")
		if b := bindingOf(t, bs, i2, "which", 0); b.Def.Object != i1 {
			t.Errorf("libi2's which -> %s, want libi1 (first in scope)", b.Def.Object.Path)
		}
		if b := bindingOf(t, bs, ns.Main, "shared_data", elf.R_X86_64_COPY); b.Def.Object != i2 {
			t.Errorf("COPY shared_data -> %+v, want libi2 (the executable skipped)", b.Def.Object)
		}
		if b := bindingOf(t, bs, i2, "shared_data", 0); b.Def.Object != ns.Main {
			t.Errorf("libi2's shared_data -> %s, want the executable's copy", b.Def.Object.Path)
		}
	})
}

// TestTestObjectsMatchGlibc compares halite with glibc on the test
// objects: ldd output (with and without a library path), and, for the
// programs that run, every binding LD_BIND_NOW=1 LD_DEBUG=bindings
// reports (these are our own programs, so running them is fine).
func TestTestObjectsMatchGlibc(t *testing.T) {
	dir := testObjects(t)
	for _, prog := range testobj.Programs {
		for _, lp := range []string{"", filepath.Join(dir, "llp")} {
			path := filepath.Join(dir, "bin", prog)
			ns := loadTest(t, prog, lp)
			cmd := exec.Command("ldd", path)
			cmd.Env = []string{"PATH=/usr/bin:/bin", "LD_LIBRARY_PATH=" + lp}
			out, _ := cmd.CombinedOutput()
			var want []string
			for _, l := range strings.Split(string(out), "\n") {
				l = strings.TrimSpace(loadAddr.ReplaceAllString(l, ""))
				if l != "" && !strings.HasPrefix(l, "linux-vdso.so.1") && !strings.Contains(l, "version `") {
					want = append(want, l)
				}
			}
			if got := haliteLddLines(ns); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("%s (LD_LIBRARY_PATH=%q):\nglibc:\n\t%s\nhalite:\n\t%s", prog, lp, strings.Join(want, "\n\t"), strings.Join(got, "\n\t"))
			}
		}
	}
	for _, prog := range []string{"rpath_inherit", "order_rpath", "soname_reuse", "dedup", "ver_old", "ver_new", "weak", "interpose", "cycle", "uniq", "protected"} {
		t.Run("bind/"+prog, func(t *testing.T) {
			ns := loadTest(t, prog, "")
			st, dl, only := compareWithGlibc(t, []string{filepath.Join(dir, "bin", prog)}, []string{"LD_BIND_NOW=1"}, ns)
			if st.glibc+dl.glibc != st.both+dl.both+len(only) {
				t.Errorf("with LD_BIND_NOW every glibc lookup should be predicted or explained: %+v %+v %q", st, dl, only)
			}
			if prog == "uniq" && dl.both == 0 {
				t.Error("uniq: no dlopened object compared")
			}
		})
	}
}

// TestHashLookup looks every defined symbol up through each hash-table
// style (GNU with a forced collision, SysV, both, and no table at all),
// and checks the hash functions against the tables the linker wrote.
func TestHashLookup(t *testing.T) {
	dir := testObjects(t)
	for _, style := range []string{"gnu", "sysv", "both", "none"} {
		t.Run(style, func(t *testing.T) {
			file := style
			if style == "none" {
				file = "gnu"
			}
			ns := NewNamespace(Config{Cwd: dir, Interp: ""})
			o, err := ns.LoadMain(filepath.Join(dir, "lib", "libhash_"+file+".so"))
			if err != nil {
				t.Fatal(err)
			}
			d := o.Dynamic()
			switch style {
			case "gnu":
				if d.GNUHash == nil || d.SysVHash != nil {
					t.Fatal("want only DT_GNU_HASH")
				}
			case "sysv":
				if d.GNUHash != nil || d.SysVHash == nil {
					t.Fatal("want only DT_HASH")
				}
			case "none":
				d.GNUHash, d.SysVHash = nil, nil // the linear-scan fallback
			}
			if GNUHash("fAb") != GNUHash("fBA") {
				t.Fatal("fAb and fBA should collide")
			}
			n := 0
			for i := 1; i < d.Symbols.Len(); i++ {
				s := d.Symbols.At(i)
				if s.Section == elf.SHN_UNDEF {
					continue
				}
				if g := d.GNUHash; g != nil && i >= int(g.SymOffset) && g.Chains[i-int(g.SymOffset)]|1 != GNUHash(s.Name)|1 {
					t.Errorf("%s: GNU chain value %#x, GNUHash %#x", s.Name, g.Chains[i-int(g.SymOffset)], GNUHash(s.Name))
				}
				def, ok := Lookup([]*Object{o}, s.Name, nil, ClassNormal, nil)
				if !ok || def.Index != i {
					t.Errorf("Lookup(%s) = %d, %v; want index %d", s.Name, def.Index, ok, i)
				}
				n++
			}
			if n < 10 {
				t.Errorf("only %d defined symbols", n)
			}
			for _, miss := range []string{"fAc", "gamma", "", "data_d"} {
				if def, ok := Lookup([]*Object{o}, miss, nil, ClassNormal, nil); ok {
					t.Errorf("Lookup(%q) found %s", miss, def.Symbol.Name)
				}
			}
		})
	}
}

func TestHashFunctions(t *testing.T) {
	tests := []struct {
		name      string
		gnu, sysv uint32
	}{
		{"", 0x1505, 0},
		{"printf", 0x156b2bb8, 0x077905a6},
		{"exit", 0x7c967e3f, 0x0006cf04},
		{"syscall", 0xbac212a0, 0x0b09985c},
	}
	for _, tc := range tests {
		if g := GNUHash(tc.name); g != tc.gnu {
			t.Errorf("GNUHash(%q) = %#x, want %#x", tc.name, g, tc.gnu)
		}
		if s := SysVHash(tc.name); s != tc.sysv {
			t.Errorf("SysVHash(%q) = %#x, want %#x", tc.name, s, tc.sysv)
		}
	}
}

// TestPreload preloads libi2.so before interpose's own libraries: its
// which() now comes first in the scope. A preload that is not found is
// ignored with an error, as glibc does. Compared with glibc running the
// program under LD_PRELOAD.
func TestPreload(t *testing.T) {
	dir := testObjects(t)
	i2 := filepath.Join(dir, "lib", "libi2.so")
	cache, err := ReadCache("/etc/ld.so.cache")
	if err != nil {
		t.Fatal(err)
	}
	ns := NewNamespace(Config{Cwd: dir, Cache: cache, Interp: "/lib64/ld-linux-x86-64.so.2", Preload: []string{i2, "libnothere.so"}})
	prog := filepath.Join(dir, "bin", "interpose")
	if _, err := ns.LoadMain(prog); err != nil {
		t.Fatal(err)
	}
	if len(ns.Preloaded) != 1 || ns.Scope[1] != ns.Preloaded[0] || ns.Preloaded[0].Path != i2 {
		t.Fatalf("preloaded %v, scope %v", ns.Preloaded, ns.Scope)
	}
	if len(ns.PreloadErrors) != 1 || !strings.Contains(ns.PreloadErrors[0].Error(), "libnothere.so") {
		t.Errorf("preload errors %v", ns.PreloadErrors)
	}
	// libi2.so is also a DT_NEEDED entry: same (dev, ino), no second object.
	if o := objectNamed(ns, "libi2.so"); o != nil {
		t.Errorf("libi2.so loaded twice: %s", o.Path)
	}
	b := bindingOf(t, ns.Bind(), ns.Preloaded[0], "which", 0)
	if b.Def.Object != ns.Preloaded[0] {
		t.Errorf("which -> %s, want the preloaded libi2", b.Def.Object.Path)
	}
	ns.unique = nil
	st, _, only := compareWithGlibc(t, []string{prog}, []string{"LD_BIND_NOW=1", "LD_PRELOAD=" + i2 + " libnothere.so"}, ns)
	if st.glibc != st.both+len(only) {
		t.Errorf("not every glibc lookup predicted: %+v %q", st, only)
	}
}
