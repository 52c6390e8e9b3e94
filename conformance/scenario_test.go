package conformance

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseExample(t *testing.T) {
	src := `# a comment
scenario demo
category load
doc First line
doc second line.
libpath lib:other
module sub/liba.so
  soname liba.so.1
  needs libb.so
  rpath $ORIGIN/lib
  z nodelete relr
  version V1
  version V2 : V1
  ctor hello
  ctor open ./x.so NOW|GLOBAL
  dtor bye
  init i
  fini f
  func foo@V1 = 1
  func foo@@V2 = call bar@V1 + 3
  func w weak = weakcall nothere
  func p protected = ifunc 5
  func sel = ifunc-select choose 1 2
  data d unique = 7
  tls t = 9 align 64 ie
  table tab = 1 2 3
  abs av = 0x10
  ptr fp = foo
  funcs g 3
  tls big = 0 size 64
module linkonly/libb.so link-only
  func bar = 1
symlink l.so sub/liba.so
hardlink h.so sub/liba.so
copy c.so sub/liba.so
file text.so not an ELF file
run
thread t1
open h ./sub/liba.so NOW|DEEPBIND
sym s h foo
vsym v h foo V1
on t1 call s
read s
write s 4
same s v
loaded ./l.so
close h
echo done
join t1
`
	got, err := Parse("x.scn", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d scenarios", len(got))
	}
	s := got[0]
	if s.Doc != "First line second line." || s.LibPath != "lib:other" || len(s.Modules) != 2 || len(s.Links) != 4 || len(s.Ops) != 12 {
		t.Fatalf("unexpected parse: %+v", s)
	}
	if src := Generate(s.Name, s.Modules[0]); !strings.Contains(src.C, ".symver conf_v_foo_V2, foo@@V2, remove") || src.Map != "V1 { };\nV2 { } V1;\n" {
		t.Errorf("generated source lacks the default version binding or the version script:\n%s\n%s", src.C, src.Map)
	}
	m := s.Modules[0]
	want := &Module{
		Path: "sub/liba.so", Soname: "liba.so.1", Needs: []string{"libb.so"}, Rpath: []string{"$ORIGIN/lib"},
		Z: []string{"nodelete", "relr"}, Versions: []Version{{Name: "V1"}, {Name: "V2", Parents: []string{"V1"}}},
		Ctors: []Action{{Log: "hello"}, {Log: "open ./x.so NOW|GLOBAL", Open: "./x.so", Flags: Flags{"NOW", "GLOBAL"}}},
		Dtors: []Action{{Log: "bye"}}, Init: &Action{Log: "i"}, Fini: &Action{Log: "f"},
		Funcs: []Func{
			{Name: "foo", Version: "V1", Expr: Expr{Kind: "const", N: 1}, Line: 19},
			{Name: "foo", Version: "V2", Default: true, Expr: Expr{Kind: "call", Sym: "bar", Ver: "V1", N: 3}, Line: 20},
			{Name: "w", Attr: "weak", Expr: Expr{Kind: "weakcall", Sym: "nothere"}, Line: 21},
			{Name: "p", Attr: "protected", Expr: Expr{Kind: "ifunc", N: 5}, Line: 22},
			{Name: "sel", Expr: Expr{Kind: "ifunc-select", Sym: "choose", N: 1, N2: 2}, Line: 23},
		},
		Data:   []Data{{Name: "d", Attr: "unique", N: 7}},
		TLS:    []TLSVar{{Name: "t", N: 9, Align: 64, IE: true}, {Name: "big", Size: 64}},
		Tables: []Table{{Name: "tab", Vals: []int64{1, 2, 3}}},
		Abs:    []Data{{Name: "av", N: 16}},
		Ptrs:   []Ptr{{Name: "fp", Sym: "foo"}},
		Many:   []Many{{Prefix: "g", Count: 3}},
		Line:   7,
	}
	if d := cmp.Diff(want, m); d != "" {
		t.Errorf("module (-want +got):\n%s", d)
	}
	var echoes []string
	for _, op := range s.Ops {
		echoes = append(echoes, op.Echo())
	}
	wantEchoes := []string{"thread t1", "open h ./sub/liba.so NOW|DEEPBIND", "sym s h foo", "vsym v h foo V1",
		"[t1] call s", "read s", "write s 4", "same s v", "loaded ./l.so", "close h", "echo done", "join t1"}
	if d := cmp.Diff(wantEchoes, echoes); d != "" {
		t.Errorf("echoes (-want +got):\n%s", d)
	}
}

func TestParseErrors(t *testing.T) {
	const head = "scenario s\ncategory c\n"
	tests := []struct {
		name, src string
		line      int
		msg       string
	}{
		{"before scenario", "module a.so\n", 1, `"module" before the first "scenario" line`},
		{"bad scenario name", "scenario a b\n", 1, "scenario name"},
		{"duplicate scenario", head + "run\necho x\nscenario s\n", 5, "already defined"},
		{"no category", "scenario s\nrun\necho x\n", 1, "no category"},
		{"no ops", head + "module a.so\n", 1, "no operations"},
		{"unknown directive", head + "frobnicate\n", 3, "unknown directive"},
		{"module directive outside module", head + "func f = 1\n", 3, "unknown directive"},
		{"absolute module path", head + "module /a.so\n", 3, "must be relative"},
		{"dotdot module path", head + "module ../a.so\n", 3, "must not contain"},
		{"bad z", head + "module a.so\nz frob\n", 4, "unknown link option"},
		{"undeclared version", head + "module a.so\nfunc f@V1 = 1\n", 4, "version V1 is not declared"},
		{"unknown parent", head + "module a.so\nversion V2 : V1\n", 4, "parent V1"},
		{"two defaults", head + "module a.so\nversion A\nversion B\nfunc f@@A = 1\nfunc f@@B = 2\n", 7, "two default versions"},
		{"duplicate func", head + "module a.so\nfunc f = 1\nfunc f = 2\n", 5, "defined twice"},
		{"reserved name", head + "module a.so\nfunc conf_x = 1\n", 4, "reserved"},
		{"bad number", head + "module a.so\nfunc f = 1x\n", 4, `number "1x"`},
		{"bad expr", head + "module a.so\nfunc f = call\n", 4, "want: call SYM"},
		{"bad addend", head + "module a.so\nfunc f = call g - 1\n", 4, "want: call SYM"},
		{"tls align", head + "module a.so\ntls t = 1 align 3\n", 4, "power of two"},
		{"quote in log", head + "module a.so\nctor say \"hi\"\n", 4, "without quotes"},
		{"bad flag", head + "run\nopen h ./a.so NOW|FAST\n", 4, "unknown dlopen flag"},
		{"undefined handle", head + "run\nsym s h f\n", 4, "h is not defined"},
		{"wrong kind", head + "run\nopen h ./a.so NOW\ncall h\n", 5, "h is a handle, want a symbol"},
		{"arity", head + "run\nclose\n", 4, "close takes 1 arguments"},
		{"unknown op", head + "run\nfly away\n", 4, "unknown operation"},
		{"on unknown thread", head + "run\non t1 echo x\n", 4, "not running"},
		{"join twice", head + "run\nthread t\njoin t\njoin t\n", 6, "not running"},
		{"unjoined", head + "run\nthread t\n", 1, "threads still running"},
		{"thread on thread", head + "run\nthread t\non t thread u\n", 5, "cannot run on another thread"},
		{"rpath and runpath", head + "module a.so\nrpath x\nrunpath y\nrun\necho x\n", 3, "both rpath and runpath"},
		{"link over module", head + "module a.so\nsymlink a.so b.so\nrun\necho x\n", 1, "overwrite a module"},
		{"empty file", "", 0, "no scenario"},
		{"wait without start", head + "run\nthread t\nwait t\n", 5, "no started operation"},
		{"start twice", head + "run\nthread t\nstart t echo x\n", 5, "cannot run on another thread"},
		{"busy thread", head + "run\nthread t\nstart t loaded ./a.so\non t loaded ./a.so\n", 6, "still running an operation"},
		{"join busy", head + "run\nthread t\nstart t loaded ./a.so\njoin t\n", 6, "still running an operation"},
		{"sleep range", head + "run\nsleep 5000\n", 4, "want 1 to 2000"},
		{"ctor set usage", head + "module a.so\nctor set\n", 4, "want: set VAR"},
		{"ctor call usage", head + "module a.so\nctor call f g\n", 4, "want: call VAR"},
		{"main usage", head + "module a.so\nfunc f = main\n", 4, "want: main SYM [+ N]"},
		{"funcs count", head + "module a.so\nfuncs f 0\n", 4, "want 1 to 4096"},
		{"funcs twice", head + "module a.so\nfuncs f 2\nfuncs f 3\n", 5, "defined twice"},
		{"abs value", head + "module a.so\nabs x = y\n", 4, `number "y"`},
		{"ptr target", head + "module a.so\nptr p = 1x\n", 4, "want a C identifier"},
		{"tls size", head + "module a.so\ntls t = 1 size 12\n", 4, "multiple of 8"},
		{"abs clash", head + "module a.so\nfunc x = 1\nabs x = 2\n", 5, "defined twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.scn", []byte(tc.src))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a *ParseError", err)
			}
			if pe.Line != tc.line || !strings.Contains(pe.Msg, tc.msg) {
				t.Errorf("got %q, want line %d containing %q", err, tc.line, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "t.scn:") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestParseTooLarge(t *testing.T) {
	if _, err := Parse("big.scn", make([]byte, MaxFileSize+1)); err == nil {
		t.Fatal("no error for an oversized file")
	}
}

// requiredCategories are the categories issue 9 asks the suite to cover.
var requiredCategories = []string{"load", "noload", "nodelete", "paths", "rpath", "scope", "deepbind",
	"next", "interpose", "weak", "unique", "versions", "ifunc", "relr", "init", "unload", "tls", "dedup",
	"rollback", "errors", "reloc", "concurrency"}

// TestSuiteShape checks the suite itself: every scenario parses, has a
// golden file and a known category; there are no orphan golden files; every
// required category is covered; at least 60 scenarios are not deliberate
// differences.
func TestSuiteShape(t *testing.T) {
	scs, err := LoadDir(scenarioDir)
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]int{}
	for _, c := range requiredCategories {
		known[c] = 0
	}
	counted := 0
	names := map[string]bool{}
	for _, s := range scs {
		names[s.Name] = true
		if _, ok := known[s.Category]; !ok {
			t.Errorf("%s: unknown category %q (add it to requiredCategories if it is new)", s.Name, s.Category)
		}
		known[s.Category]++
		if s.Differs == "" {
			counted++
		}
		if s.Doc == "" {
			t.Errorf("%s: no doc line", s.Name)
		}
		if _, err := os.Stat(filepath.Join(goldenDir, s.Name+".log")); err != nil {
			t.Errorf("%s: no golden file: %v", s.Name, err)
		}
	}
	for c, n := range known {
		if n == 0 {
			t.Errorf("category %s has no scenario", c)
		}
	}
	if counted < 60 {
		t.Errorf("%d scenarios count as passes, want at least 60", counted)
	}
	goldens, _ := filepath.Glob(filepath.Join(goldenDir, "*.log"))
	for _, g := range goldens {
		if n := strings.TrimSuffix(filepath.Base(g), ".log"); !names[n] {
			t.Errorf("golden file %s has no scenario", g)
		}
	}
	var cats []string
	for c, n := range known {
		cats = append(cats, c+"="+itoa(n))
	}
	sort.Strings(cats)
	t.Logf("%d scenarios (%d counted): %s", len(scs), counted, strings.Join(cats, " "))
}

func itoa(n int) string {
	var b []byte
	if n == 0 {
		return "0"
	}
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestNormalize(t *testing.T) {
	raw := "open h ./x: error: /c/run/sub/liba.so: undefined symbol: f\nsym s default g: error: /c/drv/driver: undefined symbol: g\nopen h /c/run: x\n"
	got := Normalize(raw, "/c/run", "/c/drv/driver")
	want := []string{"open h ./x: error: sub/liba.so: undefined symbol: f", "sym s default g: error: <main>: undefined symbol: g", "open h .: x"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// FuzzParse checks that the parser never panics and that what it accepts
// can be turned into sources.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(scenarioDir, "*.scn"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("scenario s\ncategory c\nmodule a.so\nfunc f@@V = 1\nrun\necho x\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		scs, err := Parse("fuzz.scn", src)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			return
		}
		for _, s := range scs {
			for _, m := range s.Modules {
				_ = Generate(s.Name, m)
			}
			for _, op := range s.Ops {
				_ = op.Echo()
			}
		}
	})
}
