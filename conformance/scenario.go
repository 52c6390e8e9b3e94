package conformance

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Limits that bound what a scenario file may ask for (hostile input is
// normal input: the parser never allocates without bound).
const (
	MaxFileSize      = 1 << 20 // bytes in one .scn file
	MaxScenarios     = 1000    // per file
	MaxModules       = 64      // per scenario
	MaxItems         = 256     // exports, ctors, needs... per module
	MaxOps           = 2000    // per scenario
	MaxThreads       = 16      // per scenario
	MaxNames         = 500     // handles, symbols and threads per scenario (the driver holds 512)
	maxTokenLen      = 256
	maxTableElements = 64
)

// Scenario is one parsed scenario: the files it builds and installs, and the
// operations the runner performs on them.
type Scenario struct {
	Name     string
	Category string
	Doc      string
	// Differs is non-empty for a deliberate difference between glibc and
	// halite: the reason. Such a scenario is reported, never counted as a pass.
	Differs string
	// LibPath is the library search path from the environment
	// (LD_LIBRARY_PATH for glibc), relative to the scenario directory.
	LibPath string
	Modules []*Module
	Links   []Link
	Ops     []Op
	Line    int // where "scenario" was written
}

// Module is one shared object of a scenario.
type Module struct {
	Path     string // relative to the scenario directory, e.g. "sub/liba.so"
	LinkOnly bool   // built for linking others against, never installed
	Soname   string
	Needs    []string // DT_NEEDED, in order
	Rpath    []string // DT_RPATH entries (one directive each)
	Runpath  []string // DT_RUNPATH entries
	Z        []string // link options, see zOptions
	Versions []Version
	Ctors    []Action // one constructor function each, in order
	Dtors    []Action
	Init     *Action // DT_INIT
	Fini     *Action // DT_FINI
	Funcs    []Func
	Data     []Data
	TLS      []TLSVar
	Tables   []Table
	Abs      []Data  // SHN_ABS symbols (Attr unused)
	Ptrs     []Ptr   // function pointers initialised with a symbol's address
	Many     []Many  // generated families of functions
	Notes    []int64 // sizes of extra PT_NOTE descriptors (big notes)
	Line     int
}

// Ptr is "long (*NAME)(void) = SYM;": an R_X86_64_64 relocation against SYM.
type Ptr struct {
	Name string
	Sym  string
}

// Many is a family of COUNT functions PREFIX0 ... PREFIX<COUNT-1>, the i-th
// returning i: enough symbols to make hash chains collide.
type Many struct {
	Prefix string
	Count  int
}

// Version is a version node of a module's version script.
type Version struct {
	Name    string
	Parents []string
}

// Action is what a constructor, destructor, DT_INIT or DT_FINI function does:
// log a line, or dlopen a path and log the outcome.
type Action struct {
	Log   string // the text passed to conf_log
	Open  string // if non-empty: dlopen this path from the module
	Flags Flags  // dlopen flags for Open
	Set   string // if non-empty: store 1 into this data symbol (no log)
	Wait  string // if non-empty: spin until this data symbol is non-zero (no log)
	Call  string // if non-empty: call this function (long SYM(void), no log)
}

// Func is an exported function returning long.
type Func struct {
	Name    string
	Version string // "" or the version node
	Default bool   // @@ (default) rather than @ (hidden)
	Attr    string // "", weak, protected, hidden
	Expr    Expr
	Line    int
}

// Expr is the body of a function.
type Expr struct {
	Kind string // const, call, weakcall, next, default, main, tls, tlsinc, tlsalign, counter, read, addr, callptr, ifunc, ifunc-select, tablesum, open
	N    int64  // constant, addend, alignment
	N2   int64  // second constant of ifunc-select
	Sym  string // symbol, variable, table or path
	Ver  string // version of a versioned call reference (call foo@V1)
	Flag Flags  // open flags
}

// Data is an exported long variable.
type Data struct {
	Name string
	Attr string // "", weak, protected, unique
	N    int64
}

// TLSVar is a thread-local long variable.
type TLSVar struct {
	Name  string
	N     int64
	Align int64 // 0 = natural
	IE    bool  // initial-exec model
	Size  int64 // bytes (a long array); 0 = one long
}

// Table is an array of pointers to hidden constants (RELATIVE relocations).
type Table struct {
	Name string
	Vals []int64
}

// Link is a file the scenario directory gets besides its modules: a
// symlink, a hard link or a copy of Target, or a text file.
type Link struct {
	Kind   string // symlink, hardlink, copy, file
	Path   string
	Target string // the link target, copied file, or the text of a file
}

// Flags is a set of dlopen flags, kept symbolic.
type Flags []string

// String writes the flags joined with "|" (the form the log uses).
func (f Flags) String() string { return strings.Join(f, "|") }

// Op is one operation of a scenario's run.
type Op struct {
	Kind   string   // open, sym, vsym, call, read, write, close, same, loaded, thread, join, echo
	Thread string   // "" = main thread, else the thread that performs it
	Async  bool     // started with "start": its line is printed by "wait"
	Args   []string // kind-specific, see the language description
	Flags  Flags    // open
	Line   int
}

// Echo is the log prefix an operation prints before its result; both
// backends use it, so a log line is Echo() + ": " + result.
func (o Op) Echo() string {
	var b strings.Builder
	if o.Thread != "" {
		b.WriteString("[" + o.Thread + "] ")
	}
	b.WriteString(o.Kind)
	for _, a := range o.Args {
		b.WriteString(" " + a)
	}
	if o.Kind == "open" {
		b.WriteString(" " + o.Flags.String())
	}
	return b.String()
}

// ParseError is a syntax or consistency error in a scenario file.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// OpenFlags are the dlopen flags the language knows, with glibc's x86-64
// values (the same numbers halite's dlopen uses).
var OpenFlags = map[string]int{
	"LAZY": 0x1, "NOW": 0x2, "NOLOAD": 0x4, "DEEPBIND": 0x8,
	"GLOBAL": 0x100, "LOCAL": 0x0, "NODELETE": 0x1000,
}

var (
	identRe   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	versionRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*$`)
	pathRe    = regexp.MustCompile(`^[A-Za-z0-9_.+/${}-]+$`)
	handleRe  = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	logRe     = regexp.MustCompile(`^[ -~]*$`) // printable ASCII without quotes issues
	// zOptions are the module link options: nodelete (DF_1_NODELETE),
	// nodlopen (DF_1_NOOPEN), nodeflib, now, lazy, initfirst, relr (DT_RELR),
	// norelro, bigpage (2 MiB p_align), hash-sysv / hash-gnu / hash-both
	// (--hash-style), tlsdesc (compile with -mtls-dialect=gnu2).
	zOptions = map[string]bool{"nodelete": true, "nodlopen": true, "nodeflib": true, "now": true, "lazy": true,
		"relr": true, "initfirst": true, "norelro": true, "bigpage": true, "hash-sysv": true, "hash-gnu": true,
		"hash-both": true, "tlsdesc": true}
)

type parser struct {
	file string
	line int
	out  []*Scenario
	cur  *Scenario
	mod  *Module
	run  bool
	// per scenario
	names   map[string]string // op-level names (handles, symbols, threads) -> kind
	threads map[string]bool   // started and not joined
	busy    map[string]bool   // threads with an operation started and not waited for
}

func (p *parser) errf(format string, args ...any) error {
	return &ParseError{File: p.file, Line: p.line, Msg: fmt.Sprintf(format, args...)}
}

// Parse parses the scenarios of one .scn file. name is used in errors.
func Parse(name string, src []byte) ([]*Scenario, error) {
	if len(src) > MaxFileSize {
		return nil, &ParseError{File: name, Line: 0, Msg: fmt.Sprintf("file is %d bytes, more than the limit of %d", len(src), MaxFileSize)}
	}
	p := &parser{file: name}
	for i, raw := range strings.Split(string(src), "\n") {
		p.line = i + 1
		line := strings.TrimSpace(strings.TrimSuffix(raw, "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := p.parseLine(line); err != nil {
			return nil, err
		}
	}
	if err := p.finish(); err != nil {
		return nil, err
	}
	if len(p.out) == 0 {
		return nil, &ParseError{File: name, Line: 0, Msg: "no scenario in file"}
	}
	return p.out, nil
}

func (p *parser) parseLine(line string) error {
	kw, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	if kw == "scenario" {
		if err := p.finish(); err != nil {
			return err
		}
		if !pathRe.MatchString(rest) || strings.Contains(rest, "/") || len(rest) > maxTokenLen {
			return p.errf("scenario name %q: want letters, digits, '-', '_', '.'", rest)
		}
		for _, s := range p.out {
			if s.Name == rest {
				return p.errf("scenario %q already defined at line %d", rest, s.Line)
			}
		}
		if len(p.out) >= MaxScenarios {
			return p.errf("more than %d scenarios in one file", MaxScenarios)
		}
		p.cur = &Scenario{Name: rest, Line: p.line}
		p.mod, p.run = nil, false
		p.names = map[string]string{}
		p.threads = map[string]bool{}
		p.busy = map[string]bool{}
		return nil
	}
	if p.cur == nil {
		return p.errf("%q before the first \"scenario\" line", kw)
	}
	if p.run {
		return p.parseOp(kw, rest, "")
	}
	switch kw {
	case "category", "doc", "differs":
		if rest == "" {
			return p.errf("%s needs text", kw)
		}
		switch kw {
		case "category":
			if !identRe.MatchString(strings.ReplaceAll(rest, "-", "_")) {
				return p.errf("category %q: want one word", rest)
			}
			p.cur.Category = rest
		case "doc":
			if p.cur.Doc != "" {
				p.cur.Doc += " "
			}
			p.cur.Doc += rest
		case "differs":
			p.cur.Differs = rest
		}
		return nil
	case "libpath":
		for _, d := range strings.Split(rest, ":") {
			if err := p.checkPath(d); err != nil {
				return err
			}
		}
		p.cur.LibPath = rest
		return nil
	case "module":
		f := strings.Fields(rest)
		if len(f) < 1 || len(f) > 2 || (len(f) == 2 && f[1] != "link-only") {
			return p.errf("want: module PATH [link-only]")
		}
		if err := p.checkRelPath(f[0]); err != nil {
			return err
		}
		if len(p.cur.Modules) >= MaxModules {
			return p.errf("more than %d modules", MaxModules)
		}
		m := &Module{Path: f[0], LinkOnly: len(f) == 2, Line: p.line}
		for _, o := range p.cur.Modules {
			if o.Path == m.Path && o.LinkOnly == m.LinkOnly {
				return p.errf("module %s already defined at line %d", m.Path, o.Line)
			}
		}
		p.cur.Modules = append(p.cur.Modules, m)
		p.mod = m
		return nil
	case "symlink", "hardlink", "copy", "file":
		if kw == "file" {
			name, text, _ := strings.Cut(rest, " ")
			if err := p.checkRelPath(name); err != nil {
				return err
			}
			if len(text) > maxTokenLen || !logRe.MatchString(text) {
				return p.errf("file text must be printable ASCII, at most %d bytes", maxTokenLen)
			}
			p.cur.Links = append(p.cur.Links, Link{Kind: kw, Path: name, Target: text})
			p.mod = nil
			return nil
		}
		f := strings.Fields(rest)
		if len(f) != 2 {
			return p.errf("want: %s PATH TARGET", kw)
		}
		if err := p.checkRelPath(f[0]); err != nil {
			return err
		}
		if err := p.checkPath(f[1]); err != nil {
			return err
		}
		if kw != "symlink" {
			if err := p.checkRelPath(f[1]); err != nil {
				return err
			}
		}
		p.cur.Links = append(p.cur.Links, Link{Kind: kw, Path: f[0], Target: f[1]})
		p.mod = nil
		return nil
	case "run":
		if rest != "" {
			return p.errf("run takes no arguments")
		}
		p.run = true
		p.mod = nil
		return nil
	}
	if p.mod == nil {
		return p.errf("unknown directive %q (module directives need a preceding \"module\" line; operations need \"run\")", kw)
	}
	return p.parseModuleLine(kw, rest)
}

func (p *parser) checkPath(s string) error {
	if s == "" || len(s) > maxTokenLen || !pathRe.MatchString(s) {
		return p.errf("path %q: want letters, digits and . _ - + / $ { }", s)
	}
	return nil
}

// checkRelPath accepts a path that stays inside the scenario directory.
func (p *parser) checkRelPath(s string) error {
	if err := p.checkPath(s); err != nil {
		return err
	}
	if strings.HasPrefix(s, "/") || strings.Contains(s, "$") || strings.Contains(s, "{") {
		return p.errf("path %q must be relative, without $ or braces", s)
	}
	for _, c := range strings.Split(s, "/") {
		if c == ".." || c == "." || c == "" {
			return p.errf("path %q must not contain empty, '.' or '..' components", s)
		}
	}
	return nil
}

func (p *parser) parseModuleLine(kw, rest string) error {
	m := p.mod
	count := len(m.Needs) + len(m.Rpath) + len(m.Runpath) + len(m.Z) + len(m.Versions) + len(m.Ctors) + len(m.Dtors) + len(m.Funcs) + len(m.Data) + len(m.TLS) + len(m.Tables) + len(m.Abs) + len(m.Ptrs) + len(m.Many) + len(m.Notes)
	if count >= MaxItems {
		return p.errf("module %s has more than %d items", m.Path, MaxItems)
	}
	switch kw {
	case "soname":
		if err := p.checkPath(rest); err != nil {
			return err
		}
		m.Soname = rest
	case "needs":
		if err := p.checkPath(rest); err != nil {
			return err
		}
		m.Needs = append(m.Needs, rest)
	case "rpath", "runpath":
		if err := p.checkPath(rest); err != nil {
			return err
		}
		if kw == "rpath" {
			m.Rpath = append(m.Rpath, rest)
		} else {
			m.Runpath = append(m.Runpath, rest)
		}
	case "z":
		for _, z := range strings.Fields(rest) {
			if !zOptions[z] {
				return p.errf("unknown link option %q (want nodelete, nodlopen, nodeflib, now, lazy, relr, initfirst, norelro, bigpage, hash-sysv, hash-gnu, hash-both, tlsdesc)", z)
			}
			m.Z = append(m.Z, z)
		}
	case "version":
		name, parents, _ := strings.Cut(rest, ":")
		name = strings.TrimSpace(name)
		if !versionRe.MatchString(name) {
			return p.errf("version name %q", name)
		}
		v := Version{Name: name}
		for _, par := range strings.Fields(parents) {
			if !p.moduleHasVersion(par) {
				return p.errf("version %s: parent %s is not defined earlier in module %s", name, par, m.Path)
			}
			v.Parents = append(v.Parents, par)
		}
		if p.moduleHasVersion(name) {
			return p.errf("version %s defined twice", name)
		}
		m.Versions = append(m.Versions, v)
	case "ctor", "dtor", "init", "fini":
		a, err := p.parseAction(rest)
		if err != nil {
			return err
		}
		switch kw {
		case "ctor":
			m.Ctors = append(m.Ctors, a)
		case "dtor":
			m.Dtors = append(m.Dtors, a)
		case "init", "fini":
			if (kw == "init" && m.Init != nil) || (kw == "fini" && m.Fini != nil) {
				return p.errf("module %s has two %s lines", m.Path, kw)
			}
			if kw == "init" {
				m.Init = &a
			} else {
				m.Fini = &a
			}
		}
	case "func":
		return p.parseFunc(rest)
	case "data":
		lhs, rhs, ok := strings.Cut(rest, "=")
		f := strings.Fields(lhs)
		if !ok || len(f) < 1 || len(f) > 2 {
			return p.errf("want: data NAME [weak|protected|unique] = N")
		}
		if err := p.checkNewName(f[0]); err != nil {
			return err
		}
		d := Data{Name: f[0]}
		if len(f) == 2 {
			if f[1] != "weak" && f[1] != "protected" && f[1] != "unique" {
				return p.errf("data attribute %q (want weak, protected or unique)", f[1])
			}
			d.Attr = f[1]
		}
		n, err := p.number(strings.TrimSpace(rhs))
		if err != nil {
			return err
		}
		d.N = n
		m.Data = append(m.Data, d)
	case "tls":
		lhs, rhs, ok := strings.Cut(rest, "=")
		if !ok {
			return p.errf("want: tls NAME = N [align A] [ie]")
		}
		name := strings.TrimSpace(lhs)
		if err := p.checkNewName(name); err != nil {
			return err
		}
		f := strings.Fields(rhs)
		if len(f) == 0 {
			return p.errf("tls %s: missing initial value", name)
		}
		n, err := p.number(f[0])
		if err != nil {
			return err
		}
		v := TLSVar{Name: name, N: n}
		for i := 1; i < len(f); i++ {
			switch f[i] {
			case "ie":
				v.IE = true
			case "size":
				if i+1 >= len(f) {
					return p.errf("size needs a value")
				}
				n, err := p.number(f[i+1])
				if err != nil {
					return err
				}
				if n < 8 || n > 1<<20 || n%8 != 0 {
					return p.errf("size %d: want a multiple of 8 in [8, 1 MiB]", n)
				}
				v.Size = n
				i++
			case "align":
				if i+1 >= len(f) {
					return p.errf("align needs a value")
				}
				a, err := p.number(f[i+1])
				if err != nil {
					return err
				}
				if a < 8 || a > 4096 || a&(a-1) != 0 {
					return p.errf("alignment %d: want a power of two in [8, 4096]", a)
				}
				v.Align = a
				i++
			default:
				return p.errf("tls option %q (want align N, size N or ie)", f[i])
			}
		}
		m.TLS = append(m.TLS, v)
	case "abs", "ptr":
		lhs, rhs, ok := strings.Cut(rest, "=")
		name, val := strings.TrimSpace(lhs), strings.TrimSpace(rhs)
		if !ok {
			return p.errf("want: %s NAME = %s", kw, map[string]string{"abs": "N", "ptr": "SYM"}[kw])
		}
		if err := p.checkNewName(name); err != nil {
			return err
		}
		if kw == "abs" {
			n, err := p.number(val)
			if err != nil {
				return err
			}
			m.Abs = append(m.Abs, Data{Name: name, N: n})
		} else {
			if !identRe.MatchString(val) || len(val) > maxTokenLen {
				return p.errf("symbol %q: want a C identifier", val)
			}
			m.Ptrs = append(m.Ptrs, Ptr{Name: name, Sym: val})
		}
	case "note":
		n, err := p.number(rest)
		if err != nil {
			return err
		}
		if n < 0 || n > 1<<20 || n%4 != 0 {
			return p.errf("note size %d: want a multiple of 4 up to 1 MiB", n)
		}
		m.Notes = append(m.Notes, n)
	case "funcs":
		f := strings.Fields(rest)
		if len(f) != 2 || !identRe.MatchString(f[0]) || len(f[0]) > 64 {
			return p.errf("want: funcs PREFIX COUNT")
		}
		n, err := p.number(f[1])
		if err != nil {
			return err
		}
		if n < 1 || n > 4096 {
			return p.errf("funcs count %d: want 1 to 4096", n)
		}
		for _, o := range m.Many {
			if o.Prefix == f[0] {
				return p.errf("funcs %s defined twice", f[0])
			}
		}
		m.Many = append(m.Many, Many{Prefix: f[0], Count: int(n)})
	case "table":
		lhs, rhs, ok := strings.Cut(rest, "=")
		name := strings.TrimSpace(lhs)
		if !ok {
			return p.errf("want: table NAME = N N ...")
		}
		if err := p.checkNewName(name); err != nil {
			return err
		}
		t := Table{Name: name}
		f := strings.Fields(rhs)
		if len(f) == 0 || len(f) > maxTableElements {
			return p.errf("table %s: want 1 to %d values", name, maxTableElements)
		}
		for _, s := range f {
			n, err := p.number(s)
			if err != nil {
				return err
			}
			t.Vals = append(t.Vals, n)
		}
		m.Tables = append(m.Tables, t)
	default:
		return p.errf("unknown module directive %q", kw)
	}
	return nil
}

func (p *parser) moduleHasVersion(v string) bool {
	for _, x := range p.mod.Versions {
		if x.Name == v {
			return true
		}
	}
	return false
}

// checkNewName checks a C identifier that the current module defines.
func (p *parser) checkNewName(name string) error {
	if !identRe.MatchString(name) || len(name) > maxTokenLen {
		return p.errf("name %q: want a C identifier", name)
	}
	if strings.HasPrefix(name, "conf_") || strings.HasPrefix(name, "dl") {
		return p.errf("name %q: the prefixes conf_ and dl are reserved", name)
	}
	m := p.mod
	for _, f := range m.Funcs {
		if f.Name == name && f.Version == "" {
			return p.errf("%s defined twice in module %s", name, m.Path)
		}
	}
	var names []string
	for _, d := range m.Data {
		names = append(names, d.Name)
	}
	for _, d := range m.Abs {
		names = append(names, d.Name)
	}
	for _, d := range m.TLS {
		names = append(names, d.Name)
	}
	for _, d := range m.Tables {
		names = append(names, d.Name)
	}
	for _, d := range m.Ptrs {
		names = append(names, d.Name)
	}
	for _, n := range names {
		if n == name {
			return p.errf("%s defined twice in module %s", name, m.Path)
		}
	}
	return nil
}

func (p *parser) number(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 0, 64)
	if err != nil {
		return 0, p.errf("number %q: %v", s, err.(*strconv.NumError).Err)
	}
	return n, nil
}

func (p *parser) parseFlags(s string) (Flags, error) {
	var f Flags
	for _, x := range strings.Split(s, "|") {
		if _, ok := OpenFlags[x]; !ok {
			return nil, p.errf("unknown dlopen flag %q (want NOW, LAZY, GLOBAL, LOCAL, NOLOAD, NODELETE, DEEPBIND joined by |)", x)
		}
		f = append(f, x)
	}
	return f, nil
}

// parseAction parses "open PATH FLAGS" or a log text.
func (p *parser) parseAction(rest string) (Action, error) {
	if rest == "" {
		return Action{}, p.errf("constructor/destructor needs a log text or \"open PATH FLAGS\"")
	}
	if len(rest) > maxTokenLen || !logRe.MatchString(rest) || strings.ContainsAny(rest, "\"\\") {
		return Action{}, p.errf("log text must be printable ASCII without quotes or backslashes, at most %d bytes", maxTokenLen)
	}
	f := strings.Fields(rest)
	if f[0] == "set" || f[0] == "wait" || f[0] == "call" {
		if len(f) != 2 || !identRe.MatchString(f[1]) {
			return Action{}, p.errf("want: %s VAR", f[0])
		}
		switch f[0] {
		case "set":
			return Action{Set: f[1]}, nil
		case "call":
			return Action{Call: f[1]}, nil
		}
		return Action{Wait: f[1]}, nil
	}
	if f[0] == "open" {
		if len(f) != 3 {
			return Action{}, p.errf("want: open PATH FLAGS")
		}
		if err := p.checkPath(f[1]); err != nil {
			return Action{}, err
		}
		fl, err := p.parseFlags(f[2])
		if err != nil {
			return Action{}, err
		}
		return Action{Log: rest, Open: f[1], Flags: fl}, nil
	}
	return Action{Log: rest}, nil
}

// parseSymRef parses SYM or SYM@VER (a reference).
func (p *parser) parseSymRef(s string) (string, string, error) {
	name, ver, hasVer := strings.Cut(s, "@")
	if !identRe.MatchString(name) || len(name) > maxTokenLen {
		return "", "", p.errf("symbol %q: want a C identifier", name)
	}
	if hasVer && !versionRe.MatchString(ver) {
		return "", "", p.errf("version %q", ver)
	}
	return name, ver, nil
}

func (p *parser) parseFunc(rest string) error {
	m := p.mod
	lhs, rhs, ok := strings.Cut(rest, "=")
	if !ok {
		return p.errf("want: func NAME[@V|@@V] [weak|protected|hidden] = EXPR")
	}
	lf := strings.Fields(lhs)
	if len(lf) < 1 || len(lf) > 2 {
		return p.errf("want: func NAME[@V|@@V] [weak|protected|hidden] = EXPR")
	}
	fn := Func{Line: p.line}
	name := lf[0]
	if i := strings.Index(name, "@"); i >= 0 {
		ver := name[i+1:]
		name = name[:i]
		if strings.HasPrefix(ver, "@") {
			fn.Default = true
			ver = ver[1:]
		}
		if !p.moduleHasVersion(ver) {
			return p.errf("func %s: version %s is not declared in module %s", name, ver, m.Path)
		}
		fn.Version = ver
		for _, f := range m.Funcs {
			if f.Name == name && f.Version == ver {
				return p.errf("%s@%s defined twice", name, ver)
			}
			if f.Name == name && f.Default && fn.Default {
				return p.errf("%s has two default versions", name)
			}
		}
	}
	if fn.Version == "" {
		if err := p.checkNewName(name); err != nil {
			return err
		}
	} else if !identRe.MatchString(name) {
		return p.errf("name %q: want a C identifier", name)
	}
	fn.Name = name
	if len(lf) == 2 {
		switch lf[1] {
		case "weak", "protected", "hidden":
			fn.Attr = lf[1]
		default:
			return p.errf("func attribute %q (want weak, protected or hidden)", lf[1])
		}
	}
	e, err := p.parseExpr(strings.Fields(rhs))
	if err != nil {
		return err
	}
	if e.Kind == "ifunc" || e.Kind == "ifunc-select" {
		if fn.Version != "" {
			return p.errf("versioned IFUNC is not supported")
		}
	}
	fn.Expr = e
	m.Funcs = append(m.Funcs, fn)
	return nil
}

func (p *parser) parseExpr(f []string) (Expr, error) {
	if len(f) == 0 {
		return Expr{}, p.errf("missing function body")
	}
	want := func(n int, usage string) error {
		if len(f) != n {
			return p.errf("want: %s", usage)
		}
		return nil
	}
	addend := func(i int, usage string) (int64, error) {
		if len(f) == i {
			return 0, nil
		}
		if len(f) != i+2 || f[i] != "+" {
			return 0, p.errf("want: %s", usage)
		}
		return p.number(f[i+1])
	}
	var e Expr
	var err error
	switch f[0] {
	case "call", "next", "default", "main":
		e.Kind = f[0]
		u := f[0] + " SYM [+ N]"
		if len(f) < 2 {
			return e, p.errf("want: %s", u)
		}
		if e.Sym, e.Ver, err = p.parseSymRef(f[1]); err != nil {
			return e, err
		}
		if e.Ver != "" && f[0] != "call" {
			return e, p.errf("only call takes a versioned reference")
		}
		e.N, err = addend(2, u)
	case "weakcall", "tls", "tlsinc", "read", "tablesum", "addr", "callptr":
		e.Kind = f[0]
		if err = want(2, f[0]+" NAME"); err != nil {
			return e, err
		}
		if !identRe.MatchString(f[1]) || len(f[1]) > maxTokenLen {
			return e, p.errf("name %q: want a C identifier", f[1])
		}
		e.Sym = f[1]
	case "tlsalign":
		e.Kind = f[0]
		if err = want(3, "tlsalign VAR ALIGN"); err != nil {
			return e, err
		}
		if !identRe.MatchString(f[1]) {
			return e, p.errf("name %q: want a C identifier", f[1])
		}
		e.Sym = f[1]
		if e.N, err = p.number(f[2]); err != nil {
			return e, err
		}
		if e.N <= 0 || e.N > 4096 || e.N&(e.N-1) != 0 {
			return e, p.errf("alignment %d: want a power of two up to 4096", e.N)
		}
	case "counter":
		e.Kind = f[0]
		err = want(1, "counter")
	case "ifunc":
		e.Kind = f[0]
		if err = want(2, "ifunc N"); err != nil {
			return e, err
		}
		e.N, err = p.number(f[1])
	case "ifunc-select":
		e.Kind = f[0]
		if err = want(4, "ifunc-select SYM N1 N2"); err != nil {
			return e, err
		}
		if e.Sym, e.Ver, err = p.parseSymRef(f[1]); err != nil {
			return e, err
		}
		if e.Ver != "" {
			return e, p.errf("ifunc-select takes an unversioned symbol")
		}
		if e.N, err = p.number(f[2]); err != nil {
			return e, err
		}
		e.N2, err = p.number(f[3])
	case "open":
		e.Kind = f[0]
		if err = want(3, "open PATH FLAGS"); err != nil {
			return e, err
		}
		if err = p.checkPath(f[1]); err != nil {
			return e, err
		}
		e.Sym = f[1]
		e.Flag, err = p.parseFlags(f[2])
	default:
		e.Kind = "const"
		if err = want(1, "N | call SYM[@V] [+ N] | weakcall SYM | next SYM [+ N] | default SYM [+ N] | main SYM [+ N] | tls VAR | tlsinc VAR | tlsalign VAR A | counter | read VAR | addr SYM | callptr PTR | ifunc N | ifunc-select SYM N1 N2 | tablesum T | open PATH FLAGS"); err != nil {
			return e, err
		}
		e.N, err = p.number(f[0])
	}
	return e, err
}

// opArity is the number of arguments of each operation (after the kind).
var opArity = map[string]int{
	"open": 3, "sym": 3, "vsym": 4, "call": 1, "read": 1, "write": 2, "close": 1,
	"same": 2, "loaded": 1, "thread": 1, "join": 1, "wait": 1, "pending": 1,
	"sleep": 1, "until": 1,
}

func (p *parser) parseOp(kw, rest, thread string) error {
	if len(p.cur.Ops) >= MaxOps {
		return p.errf("more than %d operations", MaxOps)
	}
	f := strings.Fields(rest)
	op := Op{Kind: kw, Thread: thread, Line: p.line}
	switch kw {
	case "on", "start":
		if thread != "" {
			return p.errf("nested %q", kw)
		}
		if len(f) < 2 {
			return p.errf("want: %s THREAD OPERATION ...", kw)
		}
		if !p.threads[f[0]] {
			return p.errf("thread %q is not running (start it with \"thread %s\")", f[0], f[0])
		}
		if p.busy[f[0]] {
			return p.errf("thread %s is still running an operation (\"wait %s\" first)", f[0], f[0])
		}
		k, r, _ := strings.Cut(strings.TrimSpace(rest[len(f[0]):]), " ")
		switch k {
		case "thread", "join", "on", "start", "wait", "pending", "until", "sleep", "echo":
			return p.errf("%q cannot run on another thread", k)
		}
		if err := p.parseOp(k, strings.TrimSpace(r), f[0]); err != nil {
			return err
		}
		if kw == "start" {
			p.cur.Ops[len(p.cur.Ops)-1].Async = true
			p.busy[f[0]] = true
		}
		return nil
	case "echo":
		if rest == "" || len(rest) > maxTokenLen || !logRe.MatchString(rest) {
			return p.errf("echo needs printable text")
		}
		op.Args = []string{rest}
		p.cur.Ops = append(p.cur.Ops, op)
		return nil
	}
	n, ok := opArity[kw]
	if !ok {
		return p.errf("unknown operation %q (want open, sym, vsym, call, read, write, close, same, loaded, thread, join, on, start, wait, pending, sleep, until, echo)", kw)
	}
	if len(f) != n {
		return p.errf("%s takes %d arguments, got %d", kw, n, len(f))
	}
	defName := func(name, kind string) error {
		if !handleRe.MatchString(name) || len(name) > 32 {
			return p.errf("name %q: want lower-case letters, digits, '_'", name)
		}
		k, ok := p.names[name]
		if ok && k != kind {
			return p.errf("%s is a %s, not a %s", name, k, kind)
		}
		if !ok && len(p.names) >= MaxNames {
			return p.errf("more than %d names (handles, symbols, threads)", MaxNames)
		}
		p.names[name] = kind
		return nil
	}
	useName := func(name string, kinds ...string) error {
		k, ok := p.names[name]
		if !ok {
			return p.errf("%s is not defined yet", name)
		}
		for _, want := range kinds {
			if k == want {
				return nil
			}
		}
		return p.errf("%s is a %s, want a %s", name, k, strings.Join(kinds, " or "))
	}
	switch kw {
	case "open":
		if err := defName(f[0], "handle"); err != nil {
			return err
		}
		if f[1] != "NULL" {
			if err := p.checkPath(f[1]); err != nil {
				return err
			}
		}
		fl, err := p.parseFlags(f[2])
		if err != nil {
			return err
		}
		op.Args, op.Flags = f[:2], fl
	case "sym", "vsym":
		if f[1] != "default" && f[1] != "next" {
			if err := useName(f[1], "handle"); err != nil {
				return err
			}
		}
		if !identRe.MatchString(f[2]) || len(f[2]) > maxTokenLen {
			return p.errf("symbol %q: want a C identifier", f[2])
		}
		if kw == "vsym" && !versionRe.MatchString(f[3]) {
			return p.errf("version %q", f[3])
		}
		if err := defName(f[0], "symbol"); err != nil {
			return err
		}
		op.Args = f
	case "call", "read":
		if err := useName(f[0], "symbol"); err != nil {
			return err
		}
		op.Args = f
	case "write":
		if err := useName(f[0], "symbol"); err != nil {
			return err
		}
		if _, err := p.number(f[1]); err != nil {
			return err
		}
		op.Args = f
	case "close":
		if err := useName(f[0], "handle"); err != nil {
			return err
		}
		op.Args = f
	case "same":
		for _, x := range f {
			if err := useName(x, "handle", "symbol"); err != nil {
				return err
			}
		}
		op.Args = f
	case "loaded":
		if err := p.checkPath(f[0]); err != nil {
			return err
		}
		op.Args = f
	case "wait", "pending":
		if !p.threads[f[0]] {
			return p.errf("thread %s is not running", f[0])
		}
		if kw == "wait" {
			if !p.busy[f[0]] {
				return p.errf("thread %s has no started operation to wait for", f[0])
			}
			delete(p.busy, f[0])
		}
		op.Args = f
	case "sleep":
		n, err := p.number(f[0])
		if err != nil {
			return err
		}
		if n < 1 || n > 2000 {
			return p.errf("sleep %d: want 1 to 2000 milliseconds", n)
		}
		op.Args = f
	case "until":
		if err := useName(f[0], "symbol"); err != nil {
			return err
		}
		op.Args = f
	case "thread", "join":
		if !handleRe.MatchString(f[0]) {
			return p.errf("thread name %q", f[0])
		}
		if kw == "thread" {
			if p.threads[f[0]] {
				return p.errf("thread %s is already running", f[0])
			}
			if len(p.threads) >= MaxThreads {
				return p.errf("more than %d threads running", MaxThreads)
			}
			if err := defName(f[0], "thread"); err != nil {
				return err
			}
			p.threads[f[0]] = true
		} else {
			if !p.threads[f[0]] {
				return p.errf("thread %s is not running", f[0])
			}
			if p.busy[f[0]] {
				return p.errf("thread %s is still running an operation (\"wait %s\" first)", f[0], f[0])
			}
			delete(p.threads, f[0])
		}
		op.Args = f
	}
	p.cur.Ops = append(p.cur.Ops, op)
	return nil
}

// finish checks the scenario being parsed and appends it to the output.
func (p *parser) finish() error {
	s := p.cur
	if s == nil {
		return nil
	}
	p.cur = nil
	at := func(line int, format string, args ...any) error {
		return &ParseError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if s.Category == "" {
		return at(s.Line, "scenario %s has no category", s.Name)
	}
	if len(s.Ops) == 0 {
		return at(s.Line, "scenario %s has no operations (a \"run\" section)", s.Name)
	}
	for _, m := range s.Modules {
		if len(m.Rpath) > 0 && len(m.Runpath) > 0 {
			return at(m.Line, "module %s has both rpath and runpath (the linker writes only one)", m.Path)
		}
	}
	if len(p.threads) != 0 {
		return at(s.Line, "scenario %s ends with threads still running (join them)", s.Name)
	}
	installed := map[string]bool{}
	for _, m := range s.Modules {
		if !m.LinkOnly {
			installed[m.Path] = true
		}
		vers := map[string]bool{}
		for _, v := range m.Versions {
			vers[v.Name] = true
		}
		for _, f := range m.Funcs {
			if f.Version != "" && len(m.Versions) == 0 {
				return at(f.Line, "func %s is versioned but module %s has no versions", f.Name, m.Path)
			}
		}
	}
	for _, l := range s.Links {
		if installed[l.Path] {
			return at(s.Line, "link %s would overwrite a module", l.Path)
		}
		installed[l.Path] = true
	}
	p.out = append(p.out, s)
	return nil
}
