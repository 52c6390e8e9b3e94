package conformance

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// toyEnv is a deliberately tiny loader model (no dependencies, no search
// paths, no versions): enough to run the simplest scenarios through
// Interpret and check that Interpret prints what the native driver printed
// into the golden files. It is a test of the log format, not of loading.
type toyEnv struct {
	s       *Scenario
	log     *Log
	loaded  []*toyObj // load order
	next    uint64
	tls     map[string]map[uint64]int64 // thread -> addr -> value
	threads map[string]bool
}

type toyObj struct {
	m        *Module
	name     string // the path it was opened under
	handle   uint64
	refs     int
	nodelete bool
	syms     map[string]uint64
	vals     map[uint64]int64 // data and counters
	kinds    map[uint64]Expr
	tlsInit  map[uint64]int64
	tlsVar   map[string]uint64
}

func newToyEnv(s *Scenario, log *Log) *toyEnv {
	return &toyEnv{s: s, log: log, next: 0x1000, tls: map[string]map[uint64]int64{"": {}}, threads: map[string]bool{}}
}

func (e *toyEnv) alloc() uint64 { e.next += 0x10; return e.next }

func (e *toyEnv) find(p string) *toyObj {
	for _, o := range e.loaded {
		if path.Clean(o.m.Path) == path.Clean(p) {
			return o
		}
	}
	return nil
}

func (e *toyEnv) Open(thread, p string, flags int) (uint64, error) {
	if o := e.find(p); o != nil {
		o.refs++
		o.nodelete = o.nodelete || flags&OpenFlags["NODELETE"] != 0
		return o.handle, nil
	}
	if flags&OpenFlags["NOLOAD"] != 0 {
		return 0, nil
	}
	for _, m := range e.s.Modules {
		if !m.LinkOnly && path.Clean(m.Path) == path.Clean(p) {
			o := &toyObj{m: m, name: p, handle: e.alloc(), refs: 1, nodelete: flags&OpenFlags["NODELETE"] != 0,
				syms: map[string]uint64{}, vals: map[uint64]int64{}, kinds: map[uint64]Expr{}, tlsInit: map[uint64]int64{}, tlsVar: map[string]uint64{}}
			for _, t := range m.TLS {
				a := e.alloc()
				o.syms[t.Name], o.tlsInit[a], o.tlsVar[t.Name] = a, t.N, a
			}
			for _, f := range m.Funcs {
				a := e.alloc()
				o.syms[f.Name], o.kinds[a] = a, f.Expr
			}
			for _, d := range m.Data {
				a := e.alloc()
				o.syms[d.Name], o.vals[a] = a, d.N
			}
			e.loaded = append(e.loaded, o)
			for _, c := range m.Ctors {
				e.log.ConfLog(c.Log)
			}
			return o.handle, nil
		}
	}
	return 0, &DLError{p + ": cannot open shared object file: No such file or directory"}
}

func (e *toyEnv) obj(h uint64) *toyObj {
	for _, o := range e.loaded {
		if o.handle == h {
			return o
		}
	}
	return nil
}

func (e *toyEnv) Sym(thread string, scope Scope, h uint64, name, version string) (uint64, error) {
	o := e.obj(h)
	if scope != ScopeHandle || o == nil || version != "" {
		return 0, fmt.Errorf("toy: unsupported lookup")
	}
	a, ok := o.syms[name]
	if !ok {
		return 0, &DLError{o.name + ": undefined symbol: " + name}
	}
	if _, isTLS := o.tlsInit[a]; isTLS {
		return e.tlsAddr(thread, a), nil
	}
	return a, nil
}

// tlsAddr gives each thread its own address for a TLS variable.
func (e *toyEnv) tlsAddr(thread string, a uint64) uint64 {
	if thread == "" {
		return a
	}
	return a + uint64(len(thread))<<32
}

func (e *toyEnv) tlsVal(thread string, a uint64) int64 {
	key := e.tlsAddr(thread, a)
	m := e.tls[thread]
	if m == nil {
		m = map[uint64]int64{}
		e.tls[thread] = m
	}
	if v, ok := m[key]; ok {
		return v
	}
	for _, o := range e.loaded {
		if v, ok := o.tlsInit[a]; ok {
			m[key] = v
		}
	}
	return m[key]
}

func (e *toyEnv) Close(thread string, h uint64) error {
	o := e.obj(h)
	if o == nil {
		return fmt.Errorf("toy: bad handle")
	}
	o.refs--
	if o.refs == 0 && !o.nodelete {
		for i := len(o.m.Dtors) - 1; i >= 0; i-- {
			e.log.ConfLog(o.m.Dtors[i].Log)
		}
		for i, x := range e.loaded {
			if x == o {
				e.loaded = append(e.loaded[:i], e.loaded[i+1:]...)
				break
			}
		}
	}
	return nil
}

func (e *toyEnv) Call(thread string, a uint64) (int64, error) {
	for _, o := range e.loaded {
		x, ok := o.kinds[a]
		if !ok {
			continue
		}
		switch x.Kind {
		case "const":
			return x.N, nil
		case "counter":
			o.vals[a]++
			return o.vals[a], nil
		case "tls", "tlsinc":
			v := o.tlsVar[x.Sym]
			n := e.tlsVal(thread, v)
			if x.Kind == "tlsinc" {
				n++
				e.tls[thread][e.tlsAddr(thread, v)] = n
			}
			return n, nil
		case "read":
			return o.vals[o.syms[x.Sym]], nil
		}
		return 0, fmt.Errorf("toy: cannot run %s", x.Kind)
	}
	return 0, fmt.Errorf("toy: no function at %#x", a)
}

func (e *toyEnv) Read(thread string, a uint64) (int64, error) {
	for _, o := range e.loaded {
		if v, ok := o.vals[a]; ok {
			return v, nil
		}
	}
	for _, m := range e.tls {
		if v, ok := m[a]; ok {
			return v, nil
		}
	}
	for _, o := range e.loaded {
		for base := range o.tlsInit {
			for th := range e.tls {
				if e.tlsAddr(th, base) == a {
					return e.tlsVal(th, base), nil
				}
			}
		}
	}
	return 0, fmt.Errorf("toy: no data at %#x", a)
}

func (e *toyEnv) Write(thread string, a uint64, v int64) error {
	for _, o := range e.loaded {
		if _, ok := o.vals[a]; ok {
			o.vals[a] = v
			return nil
		}
	}
	return fmt.Errorf("toy: no data at %#x", a)
}

func (e *toyEnv) StartThread(name string) error { e.threads[name] = true; return nil }
func (e *toyEnv) JoinThread(name string) error {
	delete(e.threads, name)
	delete(e.tls, name)
	return nil
}

func (e *toyEnv) Exit() error {
	for i := len(e.loaded) - 1; i >= 0; i-- {
		o := e.loaded[i]
		for j := len(o.m.Dtors) - 1; j >= 0; j-- {
			e.log.ConfLog(o.m.Dtors[j].Log)
		}
	}
	return nil
}

// TestInterpretMatchesDriver runs the simplest scenarios of the suite
// through Interpret with the toy loader and compares with glibc's golden
// logs: Interpret formats every line exactly as the native driver does.
func TestInterpretMatchesDriver(t *testing.T) {
	scs, err := LoadDir(scenarioDir)
	if err != nil {
		t.Fatal(err)
	}
	use := map[string]bool{
		"load-basic": true, "load-twice-same-handle": true, "load-counter-state": true, "load-data-symbol": true,
		"noload-absent": true, "noload-refcount": true, "nodelete-flag": true, "error-missing-file": true,
		"error-dlsym-missing": true, "tls-per-thread": true, "tls-thread-after-open": true,
		"tls-thread-join-and-new": true, "unload-reload-fresh-state": true, "init-already-loaded-no-rerun": true,
	}
	var ran []string
	for _, s := range scs {
		if !use[s.Name] {
			continue
		}
		ran = append(ran, s.Name)
		log := &Log{}
		if err := Interpret(context.Background(), s, newToyEnv(s, log), log); err != nil {
			t.Errorf("%s: %v", s.Name, err)
			continue
		}
		want, err := GoldenDir(goldenDir)(s.Name)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, log.Lines()); d != "" {
			t.Errorf("%s: Interpret differs from the driver's golden log (-golden +interpret):\n%s", s.Name, d)
		}
	}
	sort.Strings(ran)
	if len(ran) != len(use) {
		t.Errorf("ran %d of the %d chosen scenarios: %s", len(ran), len(use), strings.Join(ran, " "))
	}
}

// TestInterpretAsync checks start/wait/pending/until/sleep and the
// error-free formatting of write through Interpret.
func TestInterpretAsync(t *testing.T) {
	scs, err := Parse("a.scn", []byte(`scenario a
category concurrency
module liba.so
  data flag = 0
  func f = 3
run
open h ./liba.so NOW
sym fl h flag
sym s h f
thread t1
start t1 call s
wait t1
start t1 write fl 1
wait t1
until fl
sleep 1
pending t1
on t1 read fl
close h
join t1
`))
	if err != nil {
		t.Fatal(err)
	}
	log := &Log{}
	if err := Interpret(context.Background(), scs[0], newToyEnv(scs[0], log), log); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"open h ./liba.so NOW: ok", "sym fl h flag: ok", "sym s h f: ok", "thread t1: ok",
		"[t1] call s: 3", "[t1] write fl 1: ok", "until fl: ok", "sleep 1: ok", "pending t1: no",
		"[t1] read fl: 1", "close h: ok", "join t1: ok", "exit",
	}
	if d := cmp.Diff(want, log.Lines()); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
