package conformance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"halite/ldso"
	"halite/pthread"
	"halite/sandbox"
	"halite/sandbox/vfs"
	"halite/sandbox/vfs/ldsofs"
	"halite/validate"
)

// Halite is the halite backend: every scenario is built with `halite cc`
// (HaliteCC, cached by the Builder) and run in a fresh sandbox by halite's
// loader (package ldso) with pthread installed. The scenario directory is
// mounted read-only at GuestDir, which is the current directory; a small
// runtime module built with halite cc (the "main program", opened
// RTLD_GLOBAL first) exports conf_log, which reaches the Go side through
// host call CallConfLog. Scenario threads are sandbox threads running a
// worker loop in that module: they stay alive between operations, so their
// TLS persists.
//
// Modules calling dlopen/dlsym/dlerror themselves get them from the
// loader's in-sandbox dl* API (ldso.InstallAPI, libhalite.so).
//
// Partial: constructors and destructors (exit-time ones included, see
// Exit) run on the loader's own call threads rather than on the thread
// that opens, closes or exits.
type Halite struct {
	CacheDir string // DefaultCacheDir() if empty
	GCC      string // the gcc halite cc drives, "gcc" if empty
	// Timeout bounds one scenario's run (its sandbox threads are stopped
	// when it expires); 0 means DefaultTimeout.
	Timeout time.Duration

	once    sync.Once
	builder *Builder
	rtPath  string // host path of the built runtime module
	rtErr   error
}

// Host calls of the halite backend (halite numbers 1120..1127 are the
// conformance suite's).
const (
	CallConfLog  = 1120 // conf_log(const char *text)
	CallConfNext = 1121 // worker: next(id, result of the previous job) -> next function (0: exit)
)

// DefaultTimeout bounds one scenario's run on the halite backend.
const DefaultTimeout = 2 * time.Minute

// GuestDir is where a scenario's directory is mounted in the sandbox.
const GuestDir = "/halite-scenario"

const (
	guestRuntimeDir = "/halite-runtime"
	runtimeName     = "conf-main.so"
	guestMain       = guestRuntimeDir + "/" + runtimeName
)

// runtimeC is the backend's main program: conf_log for the modules, and
// the loop scenario threads run. The host call addresses are written by
// the backend into conf_hc_* after the module is loaded.
const runtimeC = `
unsigned long conf_hc_log, conf_hc_next;

void conf_log(const char *s)
{
	((void (*)(const char *))conf_hc_log)(s);
}

long conf_worker(long id)
{
	long (*next)(long, long) = (long (*)(long, long))conf_hc_next;
	long r = 0;
	for (;;) {
		long f = next(id, r);
		if (f == 0)
			return 0;
		r = ((long (*)(void))f)();
	}
}
`

// Name is "halite".
func (h *Halite) Name() string { return "halite" }

func (h *Halite) init(ctx context.Context) error {
	h.once.Do(func() {
		tc := &HaliteCC{GCC: h.GCC}
		h.builder = &Builder{Toolchain: tc, CacheDir: h.CacheDir, Kind: "halite"}
		h.rtPath, h.rtErr = h.buildRuntime(ctx, tc)
	})
	return h.rtErr
}

// buildRuntime builds runtimeC with halite cc into the cache (by content
// hash and toolchain version).
func (h *Halite) buildRuntime(ctx context.Context, tc *HaliteCC) (string, error) {
	ver, err := tc.Version(ctx)
	if err != nil {
		return "", err
	}
	dir := h.CacheDir
	if dir == "" {
		if dir, err = DefaultCacheDir(); err != nil {
			return "", err
		}
	}
	sum := sha256.Sum256([]byte(ver + "\n" + runtimeC))
	out := filepath.Join(dir, "halite-runtime", hex.EncodeToString(sum[:8]))
	so := filepath.Join(out, runtimeName)
	if _, err := os.Stat(so); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(out, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "conf-main.c")
	if err := os.WriteFile(src, []byte(runtimeC), 0o644); err != nil {
		return "", err
	}
	obj := filepath.Join(tmp, runtimeName)
	if err := tc.Run(ctx, tmp, []string{"-O2", "-shared", "-fPIC", "-nostdlib", "-o", obj, src}); err != nil {
		return "", fmt.Errorf("building the halite backend's runtime module: %w", err)
	}
	if err := os.Rename(obj, so); err != nil {
		return "", err
	}
	return out, nil
}

// Run builds s with halite cc and runs it in a fresh sandbox.
func (h *Halite) Run(ctx context.Context, s *Scenario) ([]string, error) {
	if err := h.init(ctx); err != nil {
		return nil, err
	}
	dir, err := h.builder.Build(ctx, s)
	if err != nil {
		return nil, err
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	log := &Log{}
	env, err := newHaliteEnv(ctx, dir, h.rtPath, s.LibPath, log)
	if err != nil {
		return nil, err
	}
	defer env.close()
	if err := Interpret(ctx, s, env, log); err != nil {
		return nil, fmt.Errorf("%s: %w\nlog so far:\n%s", s.Name, err, strings.Join(log.Lines(), "\n"))
	}
	return Normalize(strings.Join(log.Lines(), "\n"), GuestDir, guestMain), nil
}

// haliteEnv is one scenario's process: a sandbox, pthread, a loader and
// the scenario threads.
type haliteEnv struct {
	ctx     context.Context
	cancel  context.CancelFunc
	s       *sandbox.Sandbox
	sys     *pthread.System
	v       *vfs.FS
	l       *ldso.Loader
	log     *Log
	hostDir string
	main    *ldso.Module
	worker  uint64 // conf_worker

	mu      sync.Mutex
	threads map[string]*worker // "" is the main thread
	byID    map[uint64]*worker
	nextID  uint64
	handles map[uint64]*ldso.Module

	plugMu sync.Mutex
	spans  map[uint64]uint64 // mapped module spans [start, end) at the last plug
}

// worker is a scenario thread: a sandbox thread in conf_worker's loop,
// fed one function at a time.
type worker struct {
	id     uint64
	t      *pthread.Thread
	stack  uint64
	jobs   chan uint64 // function addresses; 0 ends the loop
	result chan int64
	busy   bool // a job was handed out and its result is due
}

const workerStack = 1 << 20

func newHaliteEnv(ctx context.Context, hostDir, rtDir, libPath string, log *Log) (env *haliteEnv, err error) {
	ctx, cancel := context.WithCancel(ctx)
	e := &haliteEnv{ctx: ctx, cancel: cancel, log: log, hostDir: hostDir, threads: map[string]*worker{}, byID: map[uint64]*worker{}, handles: map[uint64]*ldso.Module{}}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	e.s, err = sandbox.New(sandbox.Config{Stdout: os.Stderr, Stderr: os.Stderr, Validate: validate.Options{Profile: validate.Halite}})
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	e.sys, err = pthread.Install(ctx, e.s, pthread.Config{}, pthread.ThreadsConfig{})
	if err != nil {
		return nil, fmt.Errorf("pthread: %w", err)
	}
	e.v, err = vfs.New(vfs.Config{Mounts: []vfs.Mount{{Host: hostDir, Guest: GuestDir}, {Host: rtDir, Guest: guestRuntimeDir}}, Cwd: GuestDir})
	if err != nil {
		return nil, fmt.Errorf("vfs: %w", err)
	}
	e.l, err = ldso.NewLoader(e.s, e.sys, ldso.LoaderConfig{FS: ldsofs.New(e.v), Cwd: GuestDir, LibraryPath: libPath})
	if err != nil {
		return nil, fmt.Errorf("loader: %w", err)
	}
	if _, err := ldso.InstallAPI(e.l); err != nil { // dlopen, dlsym, dlerror for modules
		return nil, fmt.Errorf("dl* API: %w", err)
	}
	e.s.Handle(CallConfLog, e.confLog)
	e.s.Handle(CallConfNext, e.next)
	e.main, err = e.l.Open(guestMain, ldso.RTLD_NOW|ldso.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("loading the runtime module: %w", err)
	}
	for name, nr := range map[string]uint64{"conf_hc_log": CallConfLog, "conf_hc_next": CallConfNext} {
		a, err := e.l.Sym(e.main, name)
		if err != nil {
			return nil, err
		}
		if err := e.s.Write(a, le64bytes(e.s.Base()+0x10000+32*nr)); err != nil {
			return nil, err
		}
	}
	if e.worker, err = e.l.Sym(e.main, "conf_worker"); err != nil {
		return nil, err
	}
	if err := e.StartThread(""); err != nil {
		return nil, err
	}
	return e, nil
}

func le64bytes(v uint64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return b
}

func (e *haliteEnv) close() {
	e.mu.Lock()
	ws := make([]*worker, 0, len(e.threads))
	for _, w := range e.threads {
		ws = append(ws, w)
	}
	e.mu.Unlock()
	for _, w := range ws {
		select {
		case w.jobs <- 0:
		default:
		}
	}
	e.cancel()
	if e.sys != nil {
		e.sys.Close()
	}
	if e.s != nil {
		e.s.Close()
	}
	if e.v != nil {
		e.v.Close()
	}
}

// confLog is conf_log's host call: one "log: TEXT" line.
func (e *haliteEnv) confLog(t *sandbox.Thread, a *[6]uint64) int64 {
	s, err := e.s.ReadString(a[0], 4096)
	if err != nil {
		e.log.Line(fmt.Sprintf("log: <bad conf_log argument %#x: %v>", a[0], err))
		return 0
	}
	e.log.ConfLog(s)
	return 0
}

// next is a worker's host call: it delivers the previous job's result and
// waits for the next job.
func (e *haliteEnv) next(t *sandbox.Thread, a *[6]uint64) int64 {
	e.mu.Lock()
	w := e.byID[a[0]]
	e.mu.Unlock()
	if w == nil {
		return 0
	}
	if w.busy {
		w.busy = false
		w.result <- int64(a[1])
	}
	select {
	case f := <-w.jobs:
		w.busy = f != 0
		return int64(f)
	case <-t.Context().Done():
		return 0
	case <-e.ctx.Done():
		return 0
	}
}

func (e *haliteEnv) thread(name string) (*worker, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	w := e.threads[name]
	if w == nil {
		return nil, fmt.Errorf("no thread %q", name)
	}
	return w, nil
}

// plug reserves (maps inaccessible) the spans of modules unloaded since
// the last call. The sandbox retires code unmapped while threads are alive
// (the scenario threads always are) but its Alloc may still hand the range
// out again, and the loader's MapCode there then fails; reserving the holes
// keeps the loader's next modules elsewhere. (Reported in
// /work/coord/sandbox-requests.md; objects unmapped by a failed open's
// rollback are not seen here.)
func (e *haliteEnv) plug() {
	e.plugMu.Lock()
	defer e.plugMu.Unlock()
	objs, _, _ := e.l.Objects()
	now := make(map[uint64]uint64, len(objs))
	for _, o := range objs {
		if len(o.Segments) == 0 {
			continue
		}
		lo, hi := ^uint64(0), uint64(0)
		for _, sg := range o.Segments {
			lo = min(lo, sg.Vaddr&^4095)
			hi = max(hi, (sg.Vaddr+sg.Memsz+4095)&^4095)
		}
		now[o.Addr+lo] = o.Addr + hi
	}
	for lo, hi := range e.spans {
		if now[lo] != hi {
			e.s.Map(lo, hi-lo, sandbox.ProtNone) // best effort: the range may be in use again
		}
	}
	e.spans = now
}

var retiredRe = regexp.MustCompile(`map code \[(0x[0-9a-f]+), (0x[0-9a-f]+)\)`)

// retiredRange is the page range of the sandbox's "map code [LO, HI)"
// message in msg.
func retiredRange(msg string) (lo, hi uint64, ok bool) {
	m := retiredRe.FindStringSubmatch(msg)
	if m == nil {
		return 0, 0, false
	}
	a, err1 := strconv.ParseUint(m[1], 0, 64)
	b, err2 := strconv.ParseUint(m[2], 0, 64)
	if err1 != nil || err2 != nil || b <= a {
		return 0, 0, false
	}
	return a &^ 4095, (b + 4095) &^ 4095, true
}

// StartThread starts a scenario thread in conf_worker's loop.
func (e *haliteEnv) StartThread(name string) error {
	e.mu.Lock()
	if e.threads[name] != nil {
		e.mu.Unlock()
		return fmt.Errorf("thread %q already running", name)
	}
	e.nextID++
	w := &worker{id: e.nextID, jobs: make(chan uint64), result: make(chan int64)}
	e.threads[name] = w
	e.byID[w.id] = w
	e.mu.Unlock()
	stk, err := e.s.Alloc(workerStack, 4096, sandbox.ProtRead|sandbox.ProtWrite)
	if err != nil {
		return fmt.Errorf("thread %q: stack: %w", name, err)
	}
	w.stack = stk
	if err := e.s.Protect(stk, 4096, sandbox.ProtNone); err != nil {
		return err
	}
	w.t, err = e.sys.Start(e.worker, w.id, stk+workerStack, 0)
	if err != nil {
		return fmt.Errorf("thread %q: %w", name, err)
	}
	return nil
}

// JoinThread ends a scenario thread's loop and waits for it.
func (e *haliteEnv) JoinThread(name string) error {
	w, err := e.thread(name)
	if err != nil {
		return err
	}
	select {
	case w.jobs <- 0:
	case <-w.t.Done():
		return fmt.Errorf("thread %q ended early: %v", name, w.t.Join())
	case <-e.ctx.Done():
		return fmt.Errorf("join %s: %w", threadLabel(name), e.ctx.Err())
	}
	err = w.t.Join()
	e.mu.Lock()
	delete(e.threads, name)
	delete(e.byID, w.id)
	e.mu.Unlock()
	e.s.Unmap(w.stack, workerStack)
	return err
}

// run calls the function at addr on thread name.
func (e *haliteEnv) run(name string, addr uint64) (int64, error) {
	w, err := e.thread(name)
	if err != nil {
		return 0, err
	}
	select {
	case w.jobs <- addr:
	case <-w.t.Done():
		return 0, fmt.Errorf("thread %q is gone: %v", threadLabel(name), w.t.Join())
	case <-e.ctx.Done():
		return 0, e.ctx.Err()
	}
	select {
	case r := <-w.result:
		return r, nil
	case <-w.t.Done():
		return 0, fmt.Errorf("call %#x on thread %s: %v", addr, threadLabel(name), w.t.Join())
	case <-e.ctx.Done():
		return 0, fmt.Errorf("call %#x on thread %s: %w", addr, threadLabel(name), e.ctx.Err())
	}
}

func threadLabel(name string) string {
	if name == "" {
		return "main"
	}
	return name
}

// dlErr turns a loader error into a dlerror-style one.
func dlErr(err error) error {
	var le *ldso.Error
	if errors.As(err, &le) {
		return &DLError{Msg: le.Msg}
	}
	return err
}

func (e *haliteEnv) module(h uint64) *ldso.Module {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.handles[h]
}

// Open is dlopen from the main program; "" is the main program itself.
func (e *haliteEnv) Open(thread, path string, flags int) (h uint64, err error) {
	defer recoverLoader("dlopen", &err)
	defer e.plug()
	m, err := e.l.Open(path, ldso.Flags(flags)) // "" is dlopen(NULL): the loader's Main
	for try := 0; err != nil && try < 32 && errors.Is(err, sandbox.ErrRetired); try++ {
		// A module of a rolled-back open was unmapped (retired) and the
		// loader was handed the range again; nothing of the failed open
		// remains, so reserve the range and open again.
		lo, hi, ok := retiredRange(err.Error())
		if !ok || e.s.Map(lo, hi-lo, sandbox.ProtNone) != nil {
			break
		}
		m, err = e.l.Open(path, ldso.Flags(flags))
	}
	if err != nil {
		return 0, dlErr(err)
	}
	if m == nil {
		return 0, nil
	}
	return e.handle(m), nil
}

// handle is the opaque value naming m (its load bias; the main program's
// handle is distinct from every address).
func (e *haliteEnv) handle(m *ldso.Module) uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	for h, x := range e.handles {
		if x == m {
			return h
		}
	}
	h := uint64(len(e.handles)+1) << 48 // never a guest address
	e.handles[h] = m
	return h
}

// Sym is dlsym / dlvsym, called as from the main program (the runtime
// module) on the operation's thread, so a thread-local symbol gives that
// thread's copy.
func (e *haliteEnv) Sym(thread string, scope Scope, h uint64, name, version string) (addr uint64, err error) {
	defer recoverLoader("dlsym", &err)
	w, err := e.thread(thread)
	if err != nil {
		return 0, err
	}
	req := ldso.SymRequest{Name: name, Version: version, Thread: w.t}
	switch scope {
	case ScopeHandle:
		req.Scope = ldso.ScopeHandle
		if req.Handle = e.module(h); req.Handle == nil {
			return 0, &DLError{Msg: "dlsym: invalid handle"}
		}
	case ScopeNext:
		req.Scope = ldso.ScopeNext // Caller 0: the program stand-in (e.main)
	default:
		req.Scope = ldso.ScopeDefault
	}
	a, err := e.l.Dlsym(req)
	if err != nil {
		// glibc names the main program in RTLD_DEFAULT misses.
		var le *ldso.Error
		if errors.As(err, &le) && strings.HasPrefix(le.Msg, "RTLD_DEFAULT: ") {
			return 0, &DLError{Msg: guestMain + ": " + strings.TrimPrefix(le.Msg, "RTLD_DEFAULT: ")}
		}
		return 0, dlErr(err)
	}
	return a, nil
}

// Close is dlclose.
func (e *haliteEnv) Close(thread string, h uint64) (err error) {
	defer recoverLoader("dlclose", &err)
	defer e.plug()
	m := e.module(h)
	if m == nil {
		return &DLError{Msg: "shared object not open"}
	}
	return dlErr(e.l.Close(m))
}

// Call calls addr on the thread.
func (e *haliteEnv) Call(thread string, addr uint64) (int64, error) {
	defer e.plug() // the function may have called dlclose
	return e.run(thread, addr)
}

// Read reads the long at addr.
func (e *haliteEnv) Read(thread string, addr uint64) (int64, error) {
	var b [8]byte
	if err := e.s.Read(addr, b[:]); err != nil {
		return 0, err
	}
	return int64(le64(b[:])), nil
}

// Write stores the long v at addr.
func (e *haliteEnv) Write(thread string, addr uint64, v int64) error {
	return e.s.Write(addr, le64bytes(uint64(v)))
}

// Exit ends the process as exit(0) does: the loader runs the destructors
// of every object still loaded in glibc's _dl_fini order (Loader.Exit),
// then the scenario threads end.
func (e *haliteEnv) Exit() error {
	if err := e.l.Exit(); err != nil {
		return dlErr(err)
	}
	e.mu.Lock()
	names := make([]string, 0, len(e.threads))
	for n := range e.threads {
		names = append(names, n)
	}
	e.mu.Unlock()
	for _, n := range names {
		if err := e.JoinThread(n); err != nil {
			return err
		}
	}
	return nil
}

func le64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// recoverLoader turns a panic of the loader into an error of the backend
// (a loader bug must fail one scenario, not the whole run).
func recoverLoader(what string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s: the loader panicked: %v", what, r)
	}
}
