package ldso

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"halite/elfload"
	"halite/pthread"
	"halite/sandbox"
)

// Flags are dlopen's mode bits (glibc's values).
type Flags int

// dlopen flags. RTLD_LAZY is accepted and treated as RTLD_NOW: every
// relocation is bound at open time (a deliberate difference from glibc,
// as musl does).
const (
	RTLD_LAZY     Flags = 0x00001
	RTLD_NOW      Flags = 0x00002
	RTLD_NOLOAD   Flags = 0x00004
	RTLD_DEEPBIND Flags = 0x00008
	RTLD_GLOBAL   Flags = 0x00100
	RTLD_LOCAL    Flags = 0
	RTLD_NODELETE Flags = 0x01000
)

const knownFlags = RTLD_LAZY | RTLD_NOW | RTLD_NOLOAD | RTLD_DEEPBIND | RTLD_GLOBAL | RTLD_NODELETE

// LoaderConfig configures a Loader.
type LoaderConfig struct {
	// FS is the file system modules are found in; nil means HostFS.
	FS FS
	// Cwd is the current directory for $ORIGIN of relative paths.
	Cwd string
	// LibraryPath is searched for DT_NEEDED names (LD_LIBRARY_PATH).
	LibraryPath string
	// DefaultDirs are searched last; nil means none (the host's system
	// libraries are not sandbox modules).
	DefaultDirs []string
	// Trace receives the loader's decisions (files searched and found,
	// symbol bindings, constructors), like LD_DEBUG=files,bindings.
	Trace io.Writer
	// MaxObjects bounds the loaded objects (0: 4096).
	MaxObjects int
	// StackSize is the stack of every sandbox thread the loader starts
	// (constructors, destructors, resolvers, Call); 0 means
	// DefaultStackSize, glibc's 8 MiB.
	StackSize uint64
}

// Loader is halite's dynamic loader bound to one sandbox: it finds
// modules (with the Namespace's glibc search), maps them (code only
// through the sandbox's validate-and-map), relocates them, registers
// their TLS with pthread, runs their constructors and destructors on
// sandbox threads, and unloads them. Its methods are safe for concurrent
// use; one mutex serialises opens and closes; constructors run outside
// it, and a concurrent open of an object whose constructors are running
// waits for them.
type Loader struct {
	mu    sync.Mutex
	s     *sandbox.Sandbox
	sys   *pthread.System
	cfg   LoaderConfig
	ns    *Namespace
	tramp uint64

	mods   map[*Object]*Module
	order  []*Module // load order
	global []*Object // RTLD_GLOBAL objects in the order they became global
	inits  []*Module // the order constructors ran (destructors: reverse)
	adds   uint64    // dl_iterate_phdr's dlpi_adds
	subs   uint64
	// spans is a lock-free snapshot of the loaded spans for Resolve,
	// which fault reports call while an open may hold mu.
	spans atomic.Pointer[[]spanEntry]

	runtimes []runtimeObject

	// initRunning counts opens running constructors; initCond (on mu)
	// signals when it drops or initThreads grows. Like glibc's
	// dl_load_lock, held across constructors and recursive for the
	// thread holding it, an open from a thread that is not running a
	// constructor (initThreads) waits for them.
	initRunning int
	initCond    *sync.Cond
	// initThreads are the loader threads running constructors now,
	// finiThreads those running destructors.
	initThreads map[*pthread.Thread]int
	finiThreads map[*pthread.Thread]int
	// walks counts the dl_iterate_phdr walks in progress per walking
	// sandbox thread (see beginWalk); a close waits for the walks of
	// other threads, as glibc's dl_load_write_lock makes it.
	walks map[*sandbox.Thread]int

	// main is dlopen(NULL)'s handle (see Main).
	main *Module
	// exited is set by Exit (which runs once).
	exited bool
}

type spanEntry struct {
	start, end, base uint64
	path             string
}

// publish refreshes the spans snapshot (under mu).
func (l *Loader) publish() {
	s := make([]spanEntry, 0, len(l.order))
	for _, m := range l.order {
		s = append(s, spanEntry{m.Start, m.End, m.Base, m.Object.Path})
	}
	l.spans.Store(&s)
}

// Module is one object loaded into the sandbox; a *Module is also the
// handle Open returns.
type Module struct {
	// Object is the ldso record (names, path, (dev, ino), plan).
	Object *Object
	// Base is the load bias: the guest address of vaddr v is Base+v.
	Base uint64
	// Start and End delimit the mapped span (guest addresses).
	Start, End uint64
	// TLS is the module's TLS registration (nil without PT_TLS).
	TLS *pthread.Module

	refs     int       // handles (dlopen count)
	nodelete bool      // RTLD_NODELETE, DF_1_NODELETE or unique symbols
	local    []*Object // search list (the module and its dependencies)
	deps     []*Module // DT_NEEDED and relocation dependencies
	inited   bool
	deep     bool
	// groups are the roots of the dlopens whose search lists (their
	// local) are in the module's scope after the global scope, in order
	// (glibc's l_scope past its first entry): the open that loaded it,
	// then later opens whose group took it in.
	groups []*Module
	// retiredStart/Size: the span a failed MapCode left (to re-reserve).
	retiredStart, retiredSize uint64
	// initDone is open while the module's constructors are running.
	initDone chan struct{}
}

// Path is the path the module was opened by.
func (m *Module) Path() string { return m.Object.Path }

// NewLoader binds a loader to s, in which pthread must be installed (sys).
// It maps the loader's call trampoline (validated like any code).
func NewLoader(s *sandbox.Sandbox, sys *pthread.System, cfg LoaderConfig) (*Loader, error) {
	if cfg.FS == nil {
		cfg.FS = HostFS{}
	}
	if cfg.DefaultDirs == nil {
		cfg.DefaultDirs = []string{}
	}
	if cfg.MaxObjects <= 0 {
		cfg.MaxObjects = 4096
	}
	fsys := cfg.FS
	if cfg.Trace != nil {
		fsys = tracingFS{cfg.FS, cfg.Trace}
	}
	ns := NewNamespace(Config{FS: fsys, Cwd: cfg.Cwd, LibraryPath: cfg.LibraryPath,
		DefaultDirs: cfg.DefaultDirs, Subdirs: []string{""}, MaxObjects: cfg.MaxObjects + 1, KeepOpen: true})
	// The caller of every Go-side open is a synthetic main program with no
	// file: it has no RPATH, and its $ORIGIN is the current directory.
	main := ns.newObject("", "", nil, ViaMain)
	main.isMain = true
	main.Origin = cfg.Cwd
	ns.libraryPath = splitSearchPath(cfg.LibraryPath, ":;", cfg.Cwd, ns.cfg.Lib, ns.cfg.Platform)
	l := &Loader{s: s, sys: sys, cfg: cfg, ns: ns, mods: map[*Object]*Module{}, initThreads: map[*pthread.Thread]int{},
		finiThreads: map[*pthread.Thread]int{}, walks: map[*sandbox.Thread]int{}}
	l.main = &Module{Object: main, refs: 1, nodelete: true, inited: true}
	l.initCond = sync.NewCond(&l.mu)
	l.runtimes = []runtimeObject{{pthread.RuntimeObjectName, sys.Symbol}}
	if err := l.mapTrampoline(); err != nil {
		return nil, err
	}
	return l, nil
}

// runtimeObject is an object the runtime maps without a file (pthread's
// libhalite-rt.so, the dl* API's object): its symbols bind references no
// loaded object defines, as glibc's ld.so does for __tls_get_addr.
type runtimeObject struct {
	name string
	sym  func(string) (uint64, bool)
}

// AddRuntime adds a runtime object whose symbols (sym) bind references
// that no loaded object defines, searched after the scope in the order
// added (pthread's runtime object comes first).
func (l *Loader) AddRuntime(name string, sym func(string) (uint64, bool)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runtimes = append(l.runtimes, runtimeObject{name, sym})
}

func (l *Loader) runtimeSymbol(name string) (uint64, string, bool) {
	for _, r := range l.runtimes {
		if a, ok := r.sym(name); ok {
			return a, r.name, true
		}
	}
	return 0, "", false
}

// tracingFS reports every file the search tries (LD_DEBUG=libs' "trying
// file=").
type tracingFS struct {
	FS
	w io.Writer
}

func (t tracingFS) Open(path string) (File, error) {
	fmt.Fprintf(t.w, "      trying file=%s\n", path)
	return t.FS.Open(path)
}

// Sandbox returns the loader's sandbox.
func (l *Loader) Sandbox() *sandbox.Sandbox { return l.s }

// Error is a loader failure with glibc's dlerror wording.
type Error struct {
	Op  string // "dlopen", "dlsym", "dlclose"
	Msg string
	Err error // the underlying error, if any
}

func (e *Error) Error() string { return e.Msg }

func (e *Error) Unwrap() error { return e.Err }

func (l *Loader) tracef(format string, args ...any) {
	if l.cfg.Trace != nil {
		fmt.Fprintf(l.cfg.Trace, "     "+format+"\n", args...)
	}
}

// Open loads the object name (a path, or a name searched for as the
// synthetic main program's DT_NEEDED entry would be) and its
// dependencies, as dlopen(name, flags) does. On failure nothing it did
// remains (mappings, TLS module ids, objects, scope). With RTLD_NOLOAD
// an object that is not loaded gives (nil, nil), as glibc's dlopen
// returns NULL without an error message. The name "" is dlopen(NULL):
// the main program's handle (see Main).
//
// Open is called as from a thread outside the sandbox: while another
// open runs constructors it waits for them to end (glibc holds
// dl_load_lock across constructors).
func (l *Loader) Open(name string, flags Flags) (*Module, error) {
	return l.OpenFromThread(nil, 0, name, flags)
}

// OpenFrom is Open called from sandboxed code at address caller: the
// object containing caller is the requester whose RPATH, RUNPATH and
// $ORIGIN the search uses (the synthetic main program if none does). The
// calling thread is not known, so the open waits for running
// constructors as Open does; sandboxed callers use OpenFromThread.
func (l *Loader) OpenFrom(caller uint64, name string, flags Flags) (*Module, error) {
	return l.OpenFromThread(nil, caller, name, flags)
}

// OpenFromThread is OpenFrom called by the sandbox thread t (nil: a
// thread outside the sandbox). The loader's constructor lock is
// recursive per thread, like glibc's dl_load_lock: constructors run on
// loader threads (see Call), and an open from a thread that is running a
// constructor, however it got there (the constructor's own code or a
// function of another object it calls), is that constructor's own
// dlopen: it neither waits for the running constructors nor for the
// objects they are initialising. An open from any other thread waits
// until every running constructor has returned.
func (l *Loader) OpenFromThread(t *pthread.Thread, caller uint64, name string, flags Flags) (*Module, error) {
	if flags&^knownFlags != 0 {
		return nil, &Error{Op: "dlopen", Msg: fmt.Sprintf("%s: invalid mode for dlopen(): Invalid argument", name)}
	}
	if flags&(RTLD_NOW|RTLD_LAZY) == 0 && flags&RTLD_NOLOAD == 0 {
		return nil, &Error{Op: "dlopen", Msg: fmt.Sprintf("%s: invalid mode for dlopen(): Invalid argument", name)}
	}
	l.mu.Lock()
	unlocked := false
	defer func() {
		if !unlocked {
			l.mu.Unlock()
		}
	}()
	if name == "" {
		// dlopen(NULL): the main program, whatever the flags
		// (RTLD_GLOBAL and RTLD_NODELETE change nothing for it).
		l.main.refs++
		return l.main, nil
	}
	recursive := t != nil && l.initThreads[t] > 0
	for !recursive && l.initRunning > 0 {
		l.initCond.Wait()
		recursive = t != nil && l.initThreads[t] > 0
	}
	if flags&RTLD_NOLOAD != 0 {
		m := l.findLoaded(name)
		if m == nil {
			return nil, nil
		}
		l.promote(m, flags)
		m.refs++
		return m, nil
	}
	req := l.ns.Main
	if cm := l.moduleAt(caller); cm != nil {
		req = cm.Object
	}
	m, err := l.open(req, name, flags)
	if err != nil {
		return nil, err
	}
	order := l.claimInits(m)
	var wait []chan struct{}
	if !recursive {
		wait = l.pendingInits(m, order)
	}
	if len(order) > 0 {
		l.initRunning++
		defer func() {
			l.mu.Lock()
			l.initRunning--
			l.initCond.Broadcast()
			l.mu.Unlock()
		}()
	}
	unlocked = true
	l.mu.Unlock()
	for _, ch := range wait {
		<-ch
	}
	if err := l.runInits(m, order); err != nil {
		return nil, err
	}
	return m, nil
}

// Main returns the main program's handle, what dlopen(NULL) returns: a
// Module without a mapping whose lookups search the global scope (the
// objects opened RTLD_GLOBAL in order, then the runtime objects), as
// glibc's main map's search list does. Closing it does nothing.
func (l *Loader) Main() *Module { return l.main }

// mainName is the name glibc gives the main program in messages (the
// program stand-in's path when one is loaded).
func (l *Loader) mainName() string {
	if len(l.order) > 0 && l.isMain(l.order[0]) {
		return l.order[0].Object.Path
	}
	return "<program name unknown>"
}

// findLoaded finds a loaded module by name, alias, soname, or the
// (dev, ino) of the file name opens.
func (l *Loader) findLoaded(name string) *Module {
	for _, m := range l.order {
		o := m.Object
		if o.matchesName(name) || (o.Soname != "" && o.Soname == name && !strings.Contains(name, "/")) {
			return m
		}
	}
	if !strings.Contains(name, "/") {
		return nil
	}
	f, err := l.cfg.FS.Open(name)
	if err != nil {
		return nil
	}
	id, _, err := f.Info()
	f.Close()
	if err != nil {
		return nil
	}
	for _, m := range l.order {
		if m.Object.ID == id {
			return m
		}
	}
	return nil
}

// promote applies RTLD_GLOBAL and RTLD_NODELETE to an already-loaded
// module (glibc does both on a repeated dlopen).
func (l *Loader) promote(m *Module, flags Flags) {
	if flags&RTLD_NODELETE != 0 {
		m.nodelete = true
	}
	if flags&RTLD_GLOBAL != 0 {
		for _, o := range m.local {
			if !containsObject(l.global, o) {
				l.global = append(l.global, o)
			}
		}
	}
}

// open is Open without NOLOAD, under l.mu.
func (l *Loader) open(req *Object, name string, flags Flags) (*Module, error) {
	ns := l.ns
	before := len(ns.Objects)
	fail := func(err error, created []*Module) (*Module, error) {
		l.rollback(before, created)
		var le *Error
		if errors.As(err, &le) {
			return nil, le
		}
		return nil, &Error{Op: "dlopen", Msg: glibcMessage(err), Err: err}
	}
	root, local, loaded, err := ns.Dlopen(name, req)
	if err != nil {
		return fail(err, nil)
	}
	if m := l.mods[root]; m != nil && len(loaded) == 0 {
		// Already loaded: a new reference.
		l.tracef("file=%s [0];  already loaded", root.Path)
		l.promote(m, flags)
		m.refs++
		return m, nil
	}
	if len(l.order)+len(loaded) > l.cfg.MaxObjects {
		return fail(fmt.Errorf("%s: more than %d objects", name, l.cfg.MaxObjects), nil)
	}
	// Check every new object before mapping anything.
	for _, o := range loaded {
		if err := checkLoadable(o, o == root); err != nil {
			return fail(err, nil)
		}
	}
	if verrs := ns.CheckVersionsOf(loaded); len(verrs) > 0 {
		for _, ve := range verrs {
			if !ve.Weak {
				return fail(&Error{Op: "dlopen", Msg: ve.Error(), Err: ve}, nil)
			}
		}
	}
	var created []*Module
	for _, o := range loaded {
		l.traceFound(o)
		m := &Module{Object: o}
		created = append(created, m)
		l.mods[o] = m
		if err := l.mapModule(m); err != nil {
			return fail(err, created)
		}
	}
	// Search lists and dependencies.
	for _, m := range created {
		for _, e := range m.Object.Needed {
			if d := l.mods[e.To]; d != nil && !containsModule(m.deps, d) {
				m.deps = append(m.deps, d)
			}
		}
	}
	rootMod := l.mods[root]
	if rootMod.local == nil {
		rootMod.local = local
	}
	for _, m := range created {
		if m.local == nil {
			m.local = searchList(m.Object)
		}
		d := m.Object.Dynamic()
		if d != nil && d.Flags1&elf.DF_1_NODELETE != 0 {
			m.nodelete = true
		}
	}
	if flags&RTLD_DEEPBIND != 0 {
		for _, m := range created {
			m.deep = true
		}
	}
	// Every object of the group gets the root's search list in its scope
	// (glibc: a new object's l_scope is the global scope and its
	// loader's root's search list; an object loaded before is given the
	// new list too, dl-open.c's add_to_scope).
	for _, o := range local {
		if mm := l.mods[o]; mm != nil && !containsModule(mm.groups, rootMod) {
			mm.groups = append(mm.groups, rootMod)
		}
	}
	if err := l.registerTLS(created); err != nil {
		return fail(err, created)
	}
	scope := l.scopeFor(local, flags&RTLD_DEEPBIND != 0)
	if err := l.relocate(created, scope); err != nil {
		return fail(err, created)
	}
	for _, m := range created {
		if err := l.protect(m); err != nil {
			return fail(err, created)
		}
	}
	for _, m := range created {
		// Everything needed from the file is in memory now.
		if f := m.Object.File; f != nil {
			f.Close()
			m.Object.File = nil
		}
	}
	l.order = append(l.order, created...)
	l.publish()
	l.adds += uint64(len(created))
	l.promote(rootMod, flags)
	rootMod.refs++
	// Constructors, dependencies first. A failing constructor leaves the
	// objects loaded (glibc cannot undo a constructor either) and reports
	// the error; the handle reference is dropped.
	return rootMod, nil
}

// claimInits marks root's objects whose constructors have not run as
// being initialised by the caller, in constructor order (under mu).
func (l *Loader) claimInits(root *Module) []*Module {
	order := l.initOrder(root)
	for _, m := range order {
		m.inited = true
		m.initDone = make(chan struct{})
		l.inits = append(l.inits, m)
	}
	return order
}

// runInits runs the claimed constructors without the lock, so that a
// constructor may call dlopen (which then does not wait for objects whose
// constructors are running, like glibc's recursive dlopen). On failure
// the remaining constructors are skipped and the handle is dropped.
func (l *Loader) runInits(root *Module, order []*Module) error {
	var err error
	for i, m := range order {
		if err == nil {
			err = l.runInit(m)
		}
		l.mu.Lock()
		close(order[i].initDone)
		order[i].initDone = nil
		l.mu.Unlock()
	}
	if err != nil {
		l.mu.Lock()
		if l.mods[root.Object] == root && root.refs > 0 {
			root.refs--
		}
		dead, finis := l.detach()
		l.mu.Unlock()
		l.finish(dead, finis)
		return &Error{Op: "dlopen", Msg: err.Error(), Err: err}
	}
	return nil
}

// pendingInits lists the channels of root's objects whose constructors
// another open is running (under mu). A recursive open (from a thread
// running constructors) does not call it.
func (l *Loader) pendingInits(root *Module, own []*Module) []chan struct{} {
	var out []chan struct{}
	for _, o := range root.local {
		m := l.mods[o]
		if m != nil && m.initDone != nil && !containsModule(own, m) {
			out = append(out, m.initDone)
		}
	}
	return out
}

// searchList is o and its dependencies breadth first.
func searchList(o *Object) []*Object {
	list := []*Object{o}
	seen := map[*Object]bool{o: true}
	for i := 0; i < len(list); i++ {
		for _, e := range list[i].Needed {
			if e.To != nil && !e.To.Missing && !seen[e.To] {
				seen[e.To] = true
				list = append(list, e.To)
			}
		}
	}
	return list
}

func containsModule(list []*Module, m *Module) bool {
	for _, x := range list {
		if x == m {
			return true
		}
	}
	return false
}

// scopeFor is the lookup scope of objects loaded by one dlopen: the global
// scope, then the root's search list (glibc's l_scope), or the other way
// round with RTLD_DEEPBIND.
func (l *Loader) scopeFor(local []*Object, deep bool) []*Object {
	var out []*Object
	if deep {
		out = append(out, local...)
		return append(out, l.global...)
	}
	out = append(out, l.global...)
	return append(out, local...)
}

func (l *Loader) traceFound(o *Object) {
	if l.cfg.Trace == nil {
		return
	}
	if o.Loader != nil && !o.Loader.isMain {
		l.tracef("file=%s [0];  needed by %s [0]", o.Name, o.Loader.Path)
	}
	switch o.Found {
	case ViaPath:
		l.tracef("file=%s [0];  opened by path", o.Path)
	default:
		l.tracef("find library=%s [0]; found in %s (%v): %s", o.Name, o.Dir, o.Found, o.Path)
	}
	l.tracef("file=%s [0];  generating link map", o.Path)
}

// checkLoadable refuses what the sandbox loader does not load.
func checkLoadable(o *Object, root bool) error {
	p := o.Plan
	if p.Type != elf.ET_DYN {
		return fmt.Errorf("%s: cannot dynamically load executable", o.Path)
	}
	d := p.Dynamic
	if d == nil {
		return fmt.Errorf("%s: object has no dynamic section", o.Path)
	}
	if d.Flags1&elf.DF_1_PIE != 0 {
		return fmt.Errorf("%s: cannot dynamically load position-independent executable", o.Path)
	}
	if root && d.Flags1&elf.DF_1_NOOPEN != 0 {
		return fmt.Errorf("%s: shared object cannot be dlopen()ed", o.Path)
	}
	if d.TextRel {
		return fmt.Errorf("%s: object has text relocations (DT_TEXTREL), which the sandbox never allows (code is never writable)", o.Path)
	}
	if len(p.Segments) == 0 {
		return fmt.Errorf("%s: object has no loadable segments", o.Path)
	}
	return nil
}

// glibcMessage turns a namespace error into dlerror's wording.
func glibcMessage(err error) string {
	var le *LoadError
	if errors.As(err, &le) {
		if errors.Is(le.Err, ErrNotFound) {
			return fmt.Sprintf("%s: %v", le.Name, ErrNotFound)
		}
		if errors.Is(le.Err, errNotThere) {
			return fmt.Sprintf("%s: cannot open shared object file: No such file or directory", le.Name)
		}
	}
	return err.Error()
}

// rollback undoes a failed open: the modules it created are unmapped and
// their TLS ids released, and the namespace forgets the objects.
func (l *Loader) rollback(before int, created []*Module) {
	for i := len(created) - 1; i >= 0; i-- {
		l.unmap(created[i])
	}
	ns := l.ns
	gone := map[*Object]bool{}
	for _, o := range ns.Objects[before:] {
		gone[o] = true
		delete(l.mods, o)
	}
	ns.Objects = ns.Objects[:before]
	l.forget(gone)
}

// forget removes objects from the namespace's tables.
func (l *Loader) forget(gone map[*Object]bool) {
	ns := l.ns
	for k, d := range ns.unique {
		if gone[d.Object] {
			delete(ns.unique, k)
		}
	}
	for o := range gone {
		if o.File != nil {
			o.File.Close()
			o.File = nil
		}
	}
	keep := ns.Objects[:0]
	for _, o := range ns.Objects {
		if !gone[o] {
			keep = append(keep, o)
		}
	}
	for i := len(keep); i < len(ns.Objects); i++ {
		ns.Objects[i] = nil
	}
	ns.Objects = keep
	for i, o := range ns.Objects {
		o.Index = i
	}
	g := l.global[:0]
	for _, o := range l.global {
		if !gone[o] {
			g = append(g, o)
		}
	}
	l.global = g
}

// unmap releases a module's mapping and TLS id.
func (l *Loader) unmap(m *Module) {
	if m.TLS != nil {
		l.sys.TLS().Unload(m.TLS)
		m.TLS = nil
	}
	if m.End > m.Start {
		l.s.Unmap(m.Start, m.End-m.Start)
		m.Start, m.End = 0, 0
	}
}

// initOrder is the constructor order for root's not yet initialised
// objects, glibc 2.36's: root's search list sorted by sortMaps (root
// forced first), run from the end, so dependencies come first and, in a
// cycle, the opened object is initialised last. As in glibc, the root's
// own dependency list is not set yet while its list is sorted, so the
// traversal does not follow the root's DT_NEEDED edges. An object flagged
// DF_1_INITFIRST (the last one of the list) runs before all others.
func (l *Loader) initOrder(root *Module) []*Module {
	var maps []*Module
	for _, o := range searchList(root.Object) {
		if m := l.mods[o]; m != nil {
			maps = append(maps, m)
		}
	}
	sorted := l.sortMaps(maps, true, false, root)
	var out []*Module
	for i := len(sorted) - 1; i >= 0; i-- {
		if !sorted[i].inited {
			out = append(out, sorted[i])
		}
	}
	first := -1
	for i, m := range out {
		if d := m.Object.Dynamic(); d != nil && d.Flags1&elf.DF_1_INITFIRST != 0 {
			first = i
		}
	}
	if first > 0 {
		m := out[first]
		copy(out[1:first+1], out[:first])
		out[0] = m
	}
	return out
}

// neededModules are m's DT_NEEDED dependencies that are loaded, in
// DT_NEEDED order.
func (l *Loader) neededModules(m *Module) []*Module {
	var out []*Module
	for _, e := range m.Object.Needed {
		if e.To == nil {
			continue
		}
		if d := l.mods[e.To]; d != nil && d != m && !containsModule(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// sortMaps orders maps the way glibc 2.36's _dl_sort_maps (the default
// depth-first algorithm) does: a depth-first traversal over DT_NEEDED
// dependencies started from each map, last map first, records each map
// after its dependencies into a reverse post-order, so that every map
// precedes its dependencies (the destructor order; constructors run it
// backwards). forFini adds relocation dependencies to the first
// traversal and then traverses again, in that order, over DT_NEEDED
// only (glibc's two passes; like glibc's add_dependency, a relocation
// dependency counts only on an object outside the referrer's DT_NEEDED
// closure that is not NODELETE). forceFirst keeps maps[0] first. The
// traversal stays inside maps: Close sorts just the objects it unloads,
// where glibc sorts the whole namespace (the executable, which is never
// a relocation dependency there, has no counterpart here). The traversal
// does not follow the dependencies of bare (nil: none such).
func (l *Loader) sortMaps(maps []*Module, forceFirst, forFini bool, bare *Module) []*Module {
	n := len(maps)
	if n == 0 {
		return nil
	}
	in := make(map[*Module]bool, n)
	for _, m := range maps {
		in[m] = true
	}
	pass := func(src []*Module, reldeps bool) ([]*Module, bool) {
		rpo := make([]*Module, n)
		head := n
		visited := make(map[*Module]bool, n)
		sawReldeps := false
		var dfs func(m *Module)
		dfs = func(m *Module) {
			if visited[m] || !in[m] {
				return
			}
			visited[m] = true
			var needed []*Module
			if m != bare {
				needed = l.neededModules(m)
			}
			for _, d := range needed {
				dfs(d)
			}
			if reldeps && m != bare {
				closure := searchList(m.Object)
				for i := len(m.deps) - 1; i >= 0; i-- {
					d := m.deps[i]
					if in[d] && !visited[d] && !d.nodelete && !containsObject(closure, d.Object) {
						sawReldeps = true
						dfs(d)
					}
				}
			}
			head--
			rpo[head] = m
		}
		for i := len(src) - 1; i >= 0 && head > 0; i-- {
			dfs(src[i])
		}
		return rpo[head:], sawReldeps
	}
	out, sawReldeps := pass(maps, forFini)
	if sawReldeps {
		out, _ = pass(out, false)
	}
	if forceFirst && len(out) > 0 && out[0] != maps[0] {
		i := 0
		for i < len(out) && out[i] != maps[0] {
			i++
		}
		if i < len(out) {
			copy(out[1:i+1], out[:i])
			out[0] = maps[0]
		}
	}
	return out
}

// runInit runs DT_INIT then the DT_INIT_ARRAY entries of m.
func (l *Loader) runInit(m *Module) error {
	d := m.Object.Dynamic()
	if d.Init != 0 {
		l.tracef("calling init: %s", m.Object.Path)
		if _, err := l.callInit("constructor (DT_INIT) of "+m.Object.Path, m.Base+d.Init); err != nil {
			return err
		}
	}
	fns, err := l.funcArray(m, d.InitArray)
	if err != nil {
		return err
	}
	if len(fns) > 0 {
		l.tracef("calling init: %s", m.Object.Path)
	}
	for _, f := range fns {
		if _, err := l.callInit("constructor (DT_INIT_ARRAY) of "+m.Object.Path, f); err != nil {
			return err
		}
	}
	return nil
}

// runFini runs the DT_FINI_ARRAY entries in reverse, then DT_FINI.
func (l *Loader) runFini(m *Module) error {
	d := m.Object.Dynamic()
	fns, err := l.funcArray(m, d.FiniArray)
	if err != nil {
		return err
	}
	if len(fns) > 0 || d.Fini != 0 {
		l.tracef("calling fini: %s [0]", m.Object.Path)
	}
	for i := len(fns) - 1; i >= 0; i-- {
		if _, err := l.callFini("destructor (DT_FINI_ARRAY) of "+m.Object.Path, fns[i]); err != nil {
			return err
		}
	}
	if d.Fini != 0 {
		if _, err := l.callFini("destructor (DT_FINI) of "+m.Object.Path, m.Base+d.Fini); err != nil {
			return err
		}
	}
	return nil
}

// funcArray reads a relocated function-pointer array; 0 and -1 entries
// are skipped as glibc's crt code does.
func (l *Loader) funcArray(m *Module, r elfload.Range) ([]uint64, error) {
	if r.End <= r.Start {
		return nil, nil
	}
	n := (r.End - r.Start) / 8
	if n > 1<<16 {
		return nil, fmt.Errorf("%s: function array of %d entries", m.Object.Path, n)
	}
	buf := make([]byte, 8*n)
	if err := l.s.Read(m.Base+r.Start, buf); err != nil {
		return nil, fmt.Errorf("%s: reading function array at %#x: %w", m.Object.Path, r.Start, err)
	}
	var out []uint64
	for i := uint64(0); i < n; i++ {
		v := le64(buf[8*i:])
		if v != 0 && v != ^uint64(0) {
			out = append(out, v)
		}
	}
	return out, nil
}

func le64(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// Close drops one reference to h, as dlclose does. When no handle and no
// loaded dependent needs an object any more (and it is not NODELETE), it
// is taken out of the loader's tables, its destructors run (reverse
// constructor order, outside the loader's lock) and it is unmapped.
func (l *Loader) Close(h *Module) error {
	return l.closeFrom(nil, nil, h)
}

// closeFrom is Close called by the sandbox thread t (nil: outside the
// sandbox), the pthread thread pt. It first waits until no other thread
// walks dl_iterate_phdr (glibc's dlclose takes dl_load_write_lock, which
// dl_iterate_phdr holds across its walk), except from the loader's own
// constructor and destructor threads, which act for the thread that
// opened or closed (glibc runs them on that thread, under its locks).
func (l *Loader) closeFrom(t *sandbox.Thread, pt *pthread.Thread, h *Module) error {
	l.mu.Lock()
	for (pt == nil || (l.initThreads[pt] == 0 && l.finiThreads[pt] == 0)) && l.otherWalks(t) {
		l.initCond.Wait()
	}
	if h != nil && h == l.main {
		// dlclose(dlopen(NULL)): the program stays.
		if h.refs > 1 {
			h.refs--
		}
		l.mu.Unlock()
		return nil
	}
	if h == nil || l.mods[h.Object] != h || h.refs <= 0 {
		l.mu.Unlock()
		return &Error{Op: "dlclose", Msg: "shared object not open"}
	}
	h.refs--
	dead, finis := l.detach()
	l.mu.Unlock()
	return l.finish(dead, finis)
}

// Exit runs what exit() runs of the dynamic loader, glibc's _dl_fini:
// the destructors (DT_FINI_ARRAY reversed, then DT_FINI) of every object
// still loaded whose constructors ran, NODELETE objects included, in
// _dl_fini's order: all loaded objects sorted by _dl_sort_maps for fini
// (dependents before their dependencies, DT_NEEDED and the dependencies
// relocations and dlsym recorded; objects without dependencies in load
// order; the program stand-in, if any, first). Destructors run outside
// the loader's lock on loader threads (see Call); the objects stay mapped
// and loaded. Exit runs each destructor at most once: a second Exit, or
// a later Close, runs none of them again. The first failing destructor's
// error is returned after the others ran (glibc goes on too).
func (l *Loader) Exit() error {
	l.mu.Lock()
	if l.exited {
		l.mu.Unlock()
		return nil
	}
	l.exited = true
	inited := map[*Module]bool{}
	for _, m := range l.inits {
		inited[m] = true
	}
	forceFirst := len(l.order) > 0 && l.isMain(l.order[0])
	var finis []*Module
	for _, m := range l.sortMaps(append([]*Module(nil), l.order...), forceFirst, true, nil) {
		if inited[m] {
			finis = append(finis, m)
		}
	}
	// Their destructors run now and never again (glibc clears
	// l_init_called).
	l.inits = nil
	l.mu.Unlock()
	var first error
	for _, m := range finis {
		if err := l.runFini(m); err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return &Error{Op: "exit", Msg: first.Error(), Err: first}
	}
	return nil
}

// otherWalks reports whether a thread other than t is walking
// dl_iterate_phdr (under mu).
func (l *Loader) otherWalks(t *sandbox.Thread) bool {
	for w, n := range l.walks {
		if w != t && n > 0 {
			return true
		}
	}
	return false
}

// beginWalk and endWalk bracket a dl_iterate_phdr walk of thread t.
func (l *Loader) beginWalk(t *sandbox.Thread) {
	l.mu.Lock()
	l.walks[t]++
	l.mu.Unlock()
}

func (l *Loader) endWalk(t *sandbox.Thread, all bool) {
	l.mu.Lock()
	if l.walks[t]--; all || l.walks[t] <= 0 {
		delete(l.walks, t)
	}
	l.initCond.Broadcast()
	l.mu.Unlock()
}

// detach (under mu) takes every module no handle or NODELETE module
// reaches out of the loader's tables, so that no open finds it any more,
// and returns them with the ones whose constructors ran in reverse
// constructor order (their destructors' order).
func (l *Loader) detach() (dead, finis []*Module) {
	live := map[*Module]bool{}
	var mark func(m *Module, depth int)
	mark = func(m *Module, depth int) {
		if live[m] || depth > 1<<12 {
			return
		}
		live[m] = true
		for _, d := range m.deps {
			mark(d, depth+1)
		}
	}
	for _, m := range l.order {
		if m.refs > 0 || m.nodelete {
			mark(m, 0)
		}
	}
	isDead := map[*Module]bool{}
	for _, m := range l.order {
		if !live[m] {
			dead = append(dead, m)
			isDead[m] = true
		}
	}
	if len(dead) == 0 {
		return nil, nil
	}
	inited := map[*Module]bool{}
	for _, m := range l.inits {
		inited[m] = true
	}
	for _, m := range l.sortMaps(dead, false, true, nil) {
		if inited[m] {
			finis = append(finis, m)
		}
	}
	gone := map[*Object]bool{}
	for _, m := range dead {
		gone[m.Object] = true
		delete(l.mods, m.Object)
	}
	keep := l.order[:0]
	for _, m := range l.order {
		if !isDead[m] {
			keep = append(keep, m)
		}
	}
	l.order = keep
	ki := l.inits[:0]
	for _, m := range l.inits {
		if !isDead[m] {
			ki = append(ki, m)
		}
	}
	l.inits = ki
	l.subs += uint64(len(dead))
	l.forget(gone)
	return dead, finis
}

// finish runs the destructors of detached modules without the lock (a
// destructor may call dlopen or dlclose), then unmaps them.
func (l *Loader) finish(dead, finis []*Module) error {
	var first error
	for _, m := range finis {
		if err := l.runFini(m); err != nil && first == nil {
			first = err
		}
	}
	for _, m := range dead {
		l.tracef("file=%s [0];  destroying link map", m.Object.Path)
		l.unmap(m)
	}
	if len(dead) > 0 {
		l.mu.Lock()
		l.publish()
		l.mu.Unlock()
	}
	if first != nil {
		return &Error{Op: "dlclose", Msg: first.Error(), Err: first}
	}
	return nil
}

// SymScope says where a dlsym call looks.
type SymScope int

// The scopes of a SymRequest.
const (
	// ScopeHandle is dlsym(handle): the handle's search list (the handle
	// then its dependencies breadth first); the main program's handle
	// (Main, or the program stand-in) searches the global scope.
	ScopeHandle SymScope = iota
	// ScopeDefault is dlsym(RTLD_DEFAULT): the caller's scope, the
	// global scope then the caller's dlopen groups (see callerScope).
	ScopeDefault
	// ScopeNext is dlsym(RTLD_NEXT): the caller's search list after the
	// caller's object.
	ScopeNext
)

// SymRequest is one dlsym or dlvsym call.
type SymRequest struct {
	Scope  SymScope
	Handle *Module // for ScopeHandle
	Name   string
	// Version is dlvsym's version ("" for dlsym's default-version
	// lookup).
	Version string
	// Caller is the address of the calling code: the object holding it
	// is RTLD_NEXT's starting point and gets RTLD_DEFAULT's dependency.
	// 0 (no object) is the program: the program stand-in if one is
	// loaded (see isMain).
	Caller uint64
	// Thread is the calling thread: a thread-local symbol's address is
	// its copy in this thread, as glibc's dlsym gives. nil (a caller
	// outside the sandbox) refuses thread-local symbols.
	Thread *pthread.Thread
}

// Dlsym is dlsym and dlvsym with every scope: the address of the
// definition r asks for, an IFUNC's resolved address (its resolver runs
// in the sandbox), or a thread-local variable's address in r.Thread.
func (l *Loader) Dlsym(r SymRequest) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch r.Scope {
	case ScopeHandle:
		h := r.Handle
		if h != nil && (h == l.main || (l.mods[h.Object] == h && l.isMain(h))) {
			// glibc's main map's search list is the global scope.
			a, _, err := l.lookupDef(l.global, l.mainName(), r.Name, r.Version, r.Thread)
			return a, err
		}
		if h == nil || l.mods[h.Object] != h {
			return 0, &Error{Op: "dlsym", Msg: "dlsym: invalid handle"}
		}
		a, _, err := l.lookupDef(h.local, h.Object.Path, r.Name, r.Version, r.Thread)
		return a, err
	case ScopeDefault:
		cm := l.moduleAt(r.Caller)
		if cm == nil && r.Caller == 0 && len(l.order) > 0 && l.isMain(l.order[0]) {
			// The program calls: with a program stand-in loaded, the
			// object found becomes its dependency.
			cm = l.order[0]
		}
		// A miss names the calling object, as glibc's does.
		what := "RTLD_DEFAULT"
		if cm != nil {
			what = cm.Object.Path
		}
		a, dm, err := l.lookupDef(l.callerScope(cm), what, r.Name, r.Version, r.Thread)
		if err != nil {
			return 0, err
		}
		l.addSymDep(cm, dm)
		return a, nil
	case ScopeNext:
		m := l.moduleAt(r.Caller)
		if m == nil && r.Caller == 0 && len(l.order) > 0 && l.isMain(l.order[0]) {
			m = l.order[0]
		}
		if m == nil {
			return 0, &Error{Op: "dlsym", Msg: "RTLD_NEXT used in code not dynamically loaded"}
		}
		local := m.local
		if local == nil {
			local = searchList(m.Object)
		}
		if l.isMain(m) {
			// The executable's search list is the global scope (glibc's
			// _ns_main_searchlist, which RTLD_GLOBAL extends).
			local = l.global
		}
		var scope []*Object
		for i, o := range local {
			if o == m.Object {
				scope = local[i+1:]
				break
			}
		}
		a, _, err := l.lookupDef(scope, m.Object.Path, r.Name, r.Version, r.Thread)
		return a, err
	}
	return 0, &Error{Op: "dlsym", Msg: fmt.Sprintf("dlsym: unknown scope %d", r.Scope)}
}

// callerScope is the scope RTLD_DEFAULT searches for a call from cm
// (glibc's l_scope of the caller): the global scope, then the search
// lists of the dlopen groups cm belongs to (first with RTLD_DEFAULT's
// DEEPBIND), without the groups whose root was unloaded (glibc takes
// their lists out of the scopes). Without a caller, the global scope.
func (l *Loader) callerScope(cm *Module) []*Object {
	if cm == nil {
		return l.global
	}
	var groups []*Object
	for _, g := range cm.groups {
		if l.mods[g.Object] == g {
			groups = append(groups, g.local...)
		}
	}
	if len(groups) == 0 {
		return l.global
	}
	if cm.deep {
		return append(groups, l.global...)
	}
	return append(append([]*Object(nil), l.global...), groups...)
}

// Sym returns the address of name in h's search list (h then its
// dependencies breadth first), as dlsym(handle, name) from outside the
// sandbox. A TLS symbol is refused (its address depends on the calling
// thread; see SymTLS and Dlsym).
func (l *Loader) Sym(h *Module, name string) (uint64, error) {
	return l.SymVersion(h, name, "")
}

// SymVersion is dlvsym: the definition of name with version version
// ("" for dlsym's default-version lookup).
func (l *Loader) SymVersion(h *Module, name, version string) (uint64, error) {
	return l.Dlsym(SymRequest{Scope: ScopeHandle, Handle: h, Name: name, Version: version})
}

// SymDefault is dlsym(RTLD_DEFAULT, name) from the program: the global
// scope (objects opened RTLD_GLOBAL, in order), then the runtime object. It is called as
// the program: when the first object loaded was opened RTLD_GLOBAL (an
// embedder's program stand-in), the object found becomes its dependency
// (see SymDefaultFrom).
func (l *Loader) SymDefault(name, version string) (uint64, error) {
	return l.Dlsym(SymRequest{Scope: ScopeDefault, Name: name, Version: version})
}

// addSymDep records dm, found by a dlsym from cm, as a dependency of cm
// (glibc's add_dependency): not when either is missing, dm is cm, dm is
// NODELETE or the program, or dm already is in cm's search list.
func (l *Loader) addSymDep(cm, dm *Module) {
	if cm != nil && dm != nil && dm != cm && l.mods[dm.Object] == dm && !dm.nodelete &&
		!l.isMain(dm) && !containsModule(cm.deps, dm) && !containsObject(searchList(cm.Object), dm.Object) {
		cm.deps = append(cm.deps, dm)
	}
}

// SymDefaultFrom is dlsym(RTLD_DEFAULT, name) called from code at caller:
// SymDefault, and, as glibc's dlsym does (DL_LOOKUP_ADD_DEPENDENCY), the
// object found becomes a dependency of the caller's object unless it is
// already in the caller's search list or NODELETE, so closing the found
// object's handle does not unload it while the caller is loaded.
func (l *Loader) SymDefaultFrom(caller uint64, name, version string) (uint64, error) {
	if caller == 0 {
		caller = ^uint64(0) // never the program stand-in's dependency
	}
	return l.Dlsym(SymRequest{Scope: ScopeDefault, Name: name, Version: version, Caller: caller})
}

// SymNext is dlsym(RTLD_NEXT, name) called from code at caller: the
// caller's own search list (its local scope: the object and its
// dependencies breadth first) after the caller's object, as glibc's
// dl-sym.c looks up with skip_map = the caller; the global scope is not
// searched, except from the executable (see isMain), whose search list
// is the global scope.
func (l *Loader) SymNext(caller uint64, name string) (uint64, error) {
	if caller == 0 {
		caller = ^uint64(0) // code in no object
	}
	return l.Dlsym(SymRequest{Scope: ScopeNext, Name: name, Caller: caller})
}

// isMain reports whether m stands for the executable: the first object
// loaded, when it was loaded RTLD_GLOBAL (an embedder's stand-in for the
// program, opened first; the Loader's own main object is synthetic and
// never mapped).
func (l *Loader) isMain(m *Module) bool {
	return len(l.order) > 0 && l.order[0] == m && len(l.global) > 0 && l.global[0] == m.Object
}

// lookupDef looks name up in scope (what names the lookup in errors) and
// returns its address and the defining module (nil for the runtime
// objects). A thread-local definition's address is t's copy (refused
// without t); an IFUNC's is what its resolver returns.
func (l *Loader) lookupDef(scope []*Object, what, name, version string, t *pthread.Thread) (uint64, *Module, error) {
	var ver *Version
	if version != "" {
		ver = &Version{Name: version, Hash: SysVHash(version)}
	}
	var def Definition
	var ok bool
	if ver != nil {
		def, ok = Lookup(scope, name, ver, ClassNormal, nil)
	} else {
		def, ok = lookupNewest(scope, name)
	}
	if !ok {
		if a, _, ok := l.runtimeSymbol(name); ok {
			return a, nil, nil
		}
		msg := fmt.Sprintf("%s: undefined symbol: %s", what, name)
		if version != "" {
			msg += ", version " + version
		}
		return 0, nil, &Error{Op: "dlsym", Msg: msg}
	}
	def = l.uniqueDef(def)
	m := l.mods[def.Object]
	if def.Symbol.Type() == elf.STT_TLS {
		if t == nil {
			return 0, nil, &Error{Op: "dlsym", Msg: fmt.Sprintf("%s: %s is a thread-local symbol: its address depends on the thread (use SymTLS)", what, name)}
		}
		a, err := l.tlsAddr(m, def.Symbol, t)
		return a, m, err
	}
	addr := def.Symbol.Value
	if def.Symbol.Section != elf.SHN_ABS {
		addr += m.Base
	}
	if def.Symbol.Type() == elf.STT_GNU_IFUNC {
		l.mu.Unlock()
		v, err := l.call("IFUNC resolver of "+name, addr)
		l.mu.Lock()
		if err != nil {
			return 0, nil, &Error{Op: "dlsym", Msg: err.Error(), Err: err}
		}
		addr = v
	}
	return addr, m, nil
}

// tlsAddr is the address of m's TLS symbol sym in thread t.
func (l *Loader) tlsAddr(m *Module, sym elfload.Symbol, t *pthread.Thread) (uint64, error) {
	if m == nil || m.TLS == nil {
		return 0, &Error{Op: "dlsym", Msg: fmt.Sprintf("%s: object has no TLS segment", sym.Name)}
	}
	block := l.sys.TLS().Block(t.TLSThread(), m.TLS)
	if block == 0 {
		return 0, &Error{Op: "dlsym", Msg: fmt.Sprintf("%s: no TLS block in thread %d", sym.Name, t.TID())}
	}
	return block + sym.Value, nil
}

// SymTLS returns the address of the TLS symbol name (in h's search list)
// in the thread t: what dlsym returns when t calls it.
func (l *Loader) SymTLS(h *Module, name string, t *pthread.Thread) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h == nil || l.mods[h.Object] != h {
		return 0, &Error{Op: "dlsym", Msg: "dlsym: invalid handle"}
	}
	def, ok := Lookup(h.local, name, nil, ClassNormal, nil)
	if !ok || def.Symbol.Type() != elf.STT_TLS {
		return 0, &Error{Op: "dlsym", Msg: fmt.Sprintf("%s: undefined TLS symbol: %s", h.Object.Path, name)}
	}
	return l.tlsAddr(l.mods[def.Object], def.Symbol, t)
}

// moduleAt is the module whose span holds addr.
func (l *Loader) moduleAt(addr uint64) *Module {
	for _, m := range l.order {
		if addr >= m.Start && addr < m.End {
			return m
		}
	}
	return nil
}

// AddrInfo is what dladdr reports.
type AddrInfo struct {
	Fname string // the object's path
	Fbase uint64 // its load bias
	Sname string // the nearest symbol at or below the address ("" if none)
	Saddr uint64
}

// Addr is dladdr: the object containing addr and the nearest dynamic
// symbol defined at or below it in that object.
func (l *Loader) Addr(addr uint64) (AddrInfo, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.moduleAt(addr)
	if m == nil {
		return AddrInfo{}, false
	}
	info := AddrInfo{Fname: m.Object.Path, Fbase: m.Base}
	d := m.Object.Dynamic()
	best := uint64(0)
	for i := 1; i < d.Symbols.Len(); i++ {
		s := d.Symbols.At(i)
		if s.Section == elf.SHN_UNDEF || s.Section == elf.SHN_ABS || s.Type() == elf.STT_TLS || s.Bind() == elf.STB_LOCAL {
			continue
		}
		a := m.Base + s.Value
		if a > addr || a < best {
			continue
		}
		if s.Size != 0 && addr >= a+s.Size && a != addr {
			// glibc takes a sized symbol only if addr is inside it.
			continue
		}
		best, info.Sname, info.Saddr = a, s.Name, a
	}
	return info, true
}

// Resolve names the module and offset of a guest address (for
// sandbox.Config.Resolve in fault reports).
// It does not take the loader's lock.
func (l *Loader) Resolve(addr uint64) (string, uint64, bool) {
	p := l.spans.Load()
	if p == nil {
		return "", 0, false
	}
	for _, s := range *p {
		if addr >= s.start && addr < s.end {
			return s.path, addr - s.base, true
		}
	}
	return "", 0, false
}

// PhdrInfo is one loaded object as dl_iterate_phdr reports it.
type PhdrInfo struct {
	Name     string // dlpi_name
	Addr     uint64 // dlpi_addr (the load bias)
	Segments []elfload.Segment
	TLSModID int          // dlpi_tls_modid (0 without TLS)
	TLS      *elfload.TLS // the PT_TLS segment (nil without)
	Refs     int          // handles open on it
}

// Objects lists the loaded objects in load order (dl_iterate_phdr), and
// the adds/subs counters it reports.
func (l *Loader) Objects() (objs []PhdrInfo, adds, subs uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.order {
		objs = append(objs, l.phdrInfo(m))
	}
	return objs, l.adds, l.subs
}

// phdrInfo describes m for dl_iterate_phdr (under mu).
func (l *Loader) phdrInfo(m *Module) PhdrInfo {
	p := PhdrInfo{Name: m.Object.Path, Addr: m.Base, Segments: m.Object.Plan.Segments, Refs: m.refs, TLS: m.Object.Plan.TLS}
	if m.TLS != nil {
		p.TLSModID = m.TLS.ID()
	}
	return p
}

// lookupNewest is an unversioned dlsym lookup (glibc's
// DL_LOOKUP_RETURN_NEWEST): in each object, an unversioned or base-version
// definition matches; otherwise the one non-hidden (default, `@@`)
// versioned definition does; hidden (`@`) definitions never do.
func lookupNewest(scope []*Object, name string) (Definition, bool) {
	for _, o := range scope {
		d := o.Dynamic()
		if o.Missing || d == nil {
			continue
		}
		found, versioned, nVersioned := -1, -1, 0
		for i := 1; i < d.Symbols.Len() && found < 0; i++ {
			if d.Symbols.At(i).Name != name || o.symbolMatches(i, name, nil, ClassNormal) == 0 {
				continue
			}
			if d.Versym == nil || i >= len(d.Versym) || d.Versym[i]&0x7fff < 2 {
				found = i
				continue
			}
			if d.Versym[i]&0x8000 == 0 {
				if nVersioned == 0 {
					versioned = i
				}
				nVersioned++
			}
		}
		if found < 0 && nVersioned == 1 {
			found = versioned
		}
		if found < 0 {
			continue
		}
		s := d.Symbols.At(found)
		switch s.Bind() {
		case elf.STB_GLOBAL, elf.STB_WEAK, stbGNUUnique:
			return Definition{Object: o, Index: found, Symbol: s}, true
		}
	}
	return Definition{}, false
}
