package conformance

import (
	"context"
	"debug/elf"
	"fmt"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// linkage summarises what of a module's dynamic linkage the loader sees:
// dependencies, search paths, flags, init/fini arrays, TLS, RELR, and the
// dynamic symbols with their versions. Code generation differences (halite
// cc's SFI rewriting, BIND_NOW, static TLS) are left out. It reads the file
// with debug/elf (section headers included), independently of elfload.
func linkage(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	str := func(tag elf.DynTag) {
		v, err := f.DynString(tag)
		if err == nil {
			for _, x := range v {
				out = append(out, fmt.Sprintf("%v %s", tag, x))
			}
		}
	}
	val := func(tag elf.DynTag) uint64 {
		v, err := f.DynValue(tag)
		if err != nil || len(v) == 0 {
			return 0
		}
		return v[0]
	}
	str(elf.DT_NEEDED)
	str(elf.DT_SONAME)
	str(elf.DT_RPATH)
	str(elf.DT_RUNPATH)
	// 35 is DT_RELRSZ (not named in debug/elf).
	const keep = uint64(elf.DF_1_NODELETE | elf.DF_1_NOOPEN | elf.DF_1_NODEFLIB | elf.DF_1_INITFIRST)
	out = append(out, fmt.Sprintf("flags1 %#x", val(elf.DT_FLAGS_1)&keep))
	out = append(out, fmt.Sprintf("init %v fini %v init_array %d fini_array %d relr %v",
		val(elf.DT_INIT) != 0, val(elf.DT_FINI) != 0, val(elf.DT_INIT_ARRAYSZ)/8, val(elf.DT_FINI_ARRAYSZ)/8, val(elf.DynTag(35)) != 0))
	for _, p := range f.Progs {
		if p.Type == elf.PT_TLS {
			out = append(out, fmt.Sprintf("tls memsz %d filesz %d align %d", p.Memsz, p.Filesz, p.Align))
		}
	}
	dyn, err := f.DynamicSymbols()
	if err != nil {
		return nil, err
	}
	var syms []string
	for _, s := range dyn {
		if s.Name == "__tls_get_addr" {
			continue // general-dynamic TLS natively, initial-exec under halite cc
		}
		name := s.Name
		if s.Version != "" {
			sep := "@@"
			if s.VersionIndex.IsHidden() || s.Section == elf.SHN_UNDEF {
				sep = "@"
			}
			name += sep + s.Version
		}
		kind := "def"
		if s.Section == elf.SHN_UNDEF {
			kind = "ref"
		}
		syms = append(syms, fmt.Sprintf("%s %s %v %v %v", kind, name, elf.ST_BIND(s.Info), elf.ST_TYPE(s.Info), elf.ST_VISIBILITY(s.Other)))
	}
	sort.Strings(syms)
	return append(out, syms...), nil
}

// TestHaliteLinkageMatchesNative builds the halite-cc subset of the suite
// both ways and checks that every module has the same dynamic linkage: the
// same DT_NEEDED, soname, rpath/runpath, flags, constructors, TLS, RELR and
// dynamic symbols with versions. Both builds come from the same C and the
// same arguments, so a difference means one toolchain dropped or changed
// something the loader depends on.
func TestHaliteLinkageMatchesNative(t *testing.T) {
	scs, err := LoadDir(scenarioDir)
	if err != nil {
		t.Fatal(err)
	}
	n := nativeBackend(t)
	seen := map[string]bool{}
	dir, err := DefaultCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	hb := &Builder{Toolchain: &HaliteCC{}, CacheDir: dir, Kind: "halite"}
	compared := 0
	for _, s := range scs {
		if seen[s.Category] && !*haliteAll {
			continue
		}
		seen[s.Category] = true
		nd, err := n.Build(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		hd, err := hb.Build(context.Background(), s)
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		for _, m := range s.Modules {
			if m.LinkOnly {
				continue
			}
			a, err := linkage(filepath.Join(nd, m.Path))
			if err != nil {
				t.Fatalf("%s: native %s: %v", s.Name, m.Path, err)
			}
			b, err := linkage(filepath.Join(hd, m.Path))
			if err != nil {
				t.Fatalf("%s: halite %s: %v", s.Name, m.Path, err)
			}
			if d := cmp.Diff(a, b); d != "" {
				t.Errorf("%s: %s: linkage differs (-gcc +halite cc):\n%s", s.Name, m.Path, d)
			}
			compared++
		}
	}
	if compared == 0 {
		t.Fatal("compared no module")
	}
	t.Logf("%d modules have the same linkage in both builds", compared)
}
