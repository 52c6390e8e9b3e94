package ldso

import (
	"encoding/binary"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"halite/elfload"
	"halite/pthread"
	"halite/sandbox"
)

// API is the in-sandbox dl* interface of one loader: the libhalite.so
// runtime object mapped in the loader's sandbox and the host calls its
// functions enter (CallDlopen..CallDlvsym). Sandboxed code calls dlopen,
// dlsym, dlvsym, dlclose, dlerror, dladdr and dl_iterate_phdr on the same
// Loader the Go side uses.
//
// Every pointer from the sandbox is untrusted: strings are read with a
// bound (4096 bytes), structures are written through the sandbox's
// checked Write; a bad pointer is an error for the caller (dlerror), never
// a fault of the host. Handles are the guest start address of a loaded
// module's mapping (non-zero, never RTLD_NEXT's -1); a handle that names
// no loaded, open module is refused.
//
// Strings and program headers the host hands to the guest (dli_fname,
// dli_sname, dlpi_name, dlpi_phdr) are copied once into a guest arena
// (interned, at most apiArenaMax bytes) and stay valid for the sandbox's
// life. dlerror's string is per calling thread, in a page of its own freed
// when the thread ends.
//
// dlsym(handle, name), dlsym(RTLD_DEFAULT/RTLD_NEXT, name) and dlvsym of a
// thread-local symbol return its address in the calling thread, as glibc
// does; the calling thread is the pthread thread running as the host
// call's *sandbox.Thread (pthread's trusted map, see threadOf), never a
// value read from guest memory. dlopen(NULL) returns the main program's
// handle (Loader.Main; its guest value is libhalite.so's address), whose
// dlsym searches the global scope. A dlopen from a thread that is running
// constructors is recursive (Loader.OpenFromThread). A dl_iterate_phdr
// walk reports the objects loaded when it began, each once, and dlclose
// from other threads waits until it ends (glibc's dl_load_write_lock);
// the loader's own constructor and destructor threads do not wait (they
// act for the thread that opened or closed, as glibc runs them on it).
//
// Limits (partial): dlpi_phdr holds the PT_LOAD and PT_TLS headers rebuilt
// from the load plan (PT_TLS's p_offset is 0) (not the file's whole
// table).
type API struct {
	l      *Loader
	s      *sandbox.Sandbox
	rt     *pthread.RuntimeObject
	rtAddr uint64

	mu    sync.Mutex
	errs  map[*sandbox.Thread]*threadError
	walks map[*sandbox.Thread][]*phdrWalk // dl_iterate_phdr walks in progress (nested walks stack)
	strs  map[string]uint64               // interned guest copies
	chunk uint64                          // current arena chunk [chunk, chunkEnd)
	used  uint64
	total uint64
}

type threadError struct {
	msg  string
	set  bool
	page uint64 // guest buffer for dlerror's string (0 until first use)
}

const (
	apiMaxString = 4096
	apiChunk     = 64 << 10
	apiArenaMax  = 4 << 20
)

// InstallAPI maps libhalite.so into l's sandbox (validated like any code),
// makes the loader bind references to its symbols (dlopen, ...,
// halite_syscall) and registers the host calls. Call it once per loader,
// before opening modules that use the API.
func InstallAPI(l *Loader) (*API, error) {
	s := l.s
	rt := APIRuntime()
	size := uint64(len(rt.Code)+pageSize-1) &^ (pageSize - 1)
	addr, err := s.Alloc(size, pageSize, sandbox.ProtRead)
	if err != nil {
		return nil, fmt.Errorf("ldso: reserving %d bytes for %s: %w", size, APIRuntimeName, err)
	}
	if err := s.MapCode(addr, rt.Code); err != nil {
		s.Unmap(addr, size)
		return nil, fmt.Errorf("ldso: mapping %s at %#x: %w", APIRuntimeName, addr, err)
	}
	a := &API{l: l, s: s, rt: rt, rtAddr: addr, errs: map[*sandbox.Thread]*threadError{}, walks: map[*sandbox.Thread][]*phdrWalk{}, strs: map[string]uint64{}}
	l.AddRuntime(APIRuntimeName, a.Symbol)
	s.Handle(CallDlopen, a.dlopen)
	s.Handle(CallDlsym, a.dlsym)
	s.Handle(CallDlvsym, a.dlvsym)
	s.Handle(CallDlclose, a.dlclose)
	s.Handle(CallDlerror, a.dlerror)
	s.Handle(CallDladdr, a.dladdr)
	s.Handle(CallDlIteratePhdr, a.iteratePhdr)
	return a, nil
}

// Symbol returns the guest address of a libhalite.so function.
func (a *API) Symbol(name string) (uint64, bool) {
	s, ok := a.rt.Lookup(name)
	if !ok {
		return 0, false
	}
	return a.rtAddr + s.Offset, true
}

// RuntimeObject returns libhalite.so and the address it is mapped at.
func (a *API) RuntimeObject() (*pthread.RuntimeObject, uint64) { return a.rt, a.rtAddr }

// setError records msg as t's pending dlerror string.
func (a *API) setError(t *sandbox.Thread, msg string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.errs[t]
	if e == nil {
		e = &threadError{}
		a.errs[t] = e
		go func() {
			<-t.Done()
			a.mu.Lock()
			delete(a.errs, t)
			page := e.page
			a.mu.Unlock()
			if page != 0 {
				a.s.Unmap(page, pageSize)
			}
		}()
	}
	e.msg, e.set = msg, true
}

func (a *API) fail(t *sandbox.Thread, err error) int64 {
	a.setError(t, err.Error())
	return 0
}

// readName reads a NUL-terminated guest string argument.
func (a *API) readName(what string, addr uint64) (string, error) {
	s, err := a.s.ReadString(addr, apiMaxString)
	if err != nil {
		return "", fmt.Errorf("%s: cannot read the name at %#x: %v", what, addr, err)
	}
	return s, nil
}

// module returns the open module whose handle is h; the main program's
// handle (dlopen(NULL)) is libhalite.so's address, which no loaded
// module's mapping starts at.
func (a *API) module(h uint64) *Module {
	l := a.l
	if h == a.rtAddr {
		return l.Main()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.order {
		if m.Start == h && m.refs > 0 {
			return m
		}
	}
	return nil
}

// handle is the guest handle of m.
func (a *API) handle(m *Module) uint64 {
	if m == a.l.Main() {
		return a.rtAddr
	}
	return m.Start
}

// threadOf is the pthread thread running as t (pthread's trusted
// per-thread value, set when it started the thread, never read from guest
// memory), or nil for a thread pthread did not start.
func (a *API) threadOf(t *sandbox.Thread) *pthread.Thread {
	return a.l.sys.ThreadOf(t)
}

func (a *API) dlopen(t *sandbox.Thread, r *[6]uint64) int64 {
	name := ""
	if r[0] != 0 {
		var err error
		if name, err = a.readName("dlopen", r[0]); err != nil {
			return a.fail(t, err)
		}
	}
	m, err := a.l.OpenFromThread(a.threadOf(t), r[2], name, Flags(int32(r[1])))
	if err != nil {
		return a.fail(t, err)
	}
	if m == nil {
		return 0 // RTLD_NOLOAD of an object not loaded: NULL, no error
	}
	return int64(a.handle(m))
}

func (a *API) dlsym(t *sandbox.Thread, r *[6]uint64) int64 {
	return a.sym(t, r[0], r[1], 0, r[2])
}

func (a *API) dlvsym(t *sandbox.Thread, r *[6]uint64) int64 {
	return a.sym(t, r[0], r[1], r[2], r[3])
}

// sym is dlsym/dlvsym from code at caller on thread t: a thread-local
// symbol's address is t's copy (the thread found through pthread's
// trusted map, not the thread pointer the stub also passes).
func (a *API) sym(t *sandbox.Thread, h, nameAddr, verAddr, caller uint64) int64 {
	name, err := a.readName("dlsym", nameAddr)
	if err != nil {
		return a.fail(t, err)
	}
	version := ""
	if verAddr != 0 {
		if version, err = a.readName("dlvsym", verAddr); err != nil {
			return a.fail(t, err)
		}
	}
	req := SymRequest{Name: name, Version: version, Caller: caller, Thread: a.threadOf(t)}
	switch h {
	case 0: // RTLD_DEFAULT
		req.Scope = ScopeDefault
		if req.Caller == 0 {
			req.Caller = ^uint64(0) // code in no object, never the program
		}
	case ^uint64(0): // RTLD_NEXT
		req.Scope = ScopeNext
		if req.Caller == 0 {
			req.Caller = ^uint64(0)
		}
	default:
		req.Scope = ScopeHandle
		if req.Handle = a.module(h); req.Handle == nil {
			return a.fail(t, fmt.Errorf("dlsym: invalid handle %#x", h))
		}
	}
	addr, err := a.l.Dlsym(req)
	if err != nil {
		return a.fail(t, err)
	}
	return int64(addr)
}

func (a *API) dlclose(t *sandbox.Thread, r *[6]uint64) int64 {
	m := a.module(r[0])
	if m == nil {
		a.setError(t, "shared object not open")
		return -1
	}
	if err := a.l.closeFrom(t, a.threadOf(t), m); err != nil {
		a.setError(t, err.Error())
		return -1
	}
	return 0
}

// dlerror returns the thread's pending message (NUL-terminated, at most
// 4095 bytes) in its buffer page and clears it, or 0.
func (a *API) dlerror(t *sandbox.Thread, r *[6]uint64) int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.errs[t]
	if e == nil || !e.set {
		return 0
	}
	e.set = false
	if e.page == 0 {
		p, err := a.s.Alloc(pageSize, pageSize, sandbox.ProtRead|sandbox.ProtWrite)
		if err != nil {
			return 0
		}
		e.page = p
	}
	msg := []byte(e.msg)
	if len(msg) > pageSize-1 {
		msg = msg[:pageSize-1]
	}
	if err := a.s.Write(e.page, append(msg, 0)); err != nil {
		return 0
	}
	return int64(e.page)
}

// intern copies b into the guest arena once and returns its address.
func (a *API) intern(b []byte) (uint64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if p, ok := a.strs[string(b)]; ok {
		return p, nil
	}
	n := (uint64(len(b)) + 15) &^ 15
	if n > apiChunk || a.total+n > apiArenaMax {
		return 0, fmt.Errorf("ldso: the dl* API's string arena is full (%d bytes)", apiArenaMax)
	}
	if a.chunk == 0 || a.used+n > apiChunk {
		c, err := a.s.Alloc(apiChunk, pageSize, sandbox.ProtRead|sandbox.ProtWrite)
		if err != nil {
			return 0, err
		}
		a.chunk, a.used = c, 0
	}
	p := a.chunk + a.used
	if err := a.s.Write(p, b); err != nil {
		return 0, err
	}
	a.used += n
	a.total += n
	a.strs[string(b)] = p
	return p, nil
}

func (a *API) internString(s string) (uint64, error) {
	return a.intern(append([]byte(s), 0))
}

// dladdr fills Dl_info {fname, fbase, sname, saddr} and returns 1, or
// returns 0 for an address in no loaded object.
func (a *API) dladdr(t *sandbox.Thread, r *[6]uint64) int64 {
	info, ok := a.l.Addr(r[0])
	if !ok {
		info, ok = a.runtimeAddr(r[0])
		if !ok {
			return 0
		}
	}
	fname, err := a.internString(info.Fname)
	if err != nil {
		return 0
	}
	var sname uint64
	if info.Sname != "" {
		if sname, err = a.internString(info.Sname); err != nil {
			return 0
		}
	}
	var b [32]byte
	binary.LittleEndian.PutUint64(b[0:], fname)
	binary.LittleEndian.PutUint64(b[8:], info.Fbase)
	binary.LittleEndian.PutUint64(b[16:], sname)
	binary.LittleEndian.PutUint64(b[24:], info.Saddr)
	if err := a.s.Write(r[1], b[:]); err != nil {
		return 0
	}
	return 1
}

// runtimeAddr answers dladdr for an address in libhalite.so itself.
func (a *API) runtimeAddr(addr uint64) (AddrInfo, bool) {
	if addr < a.rtAddr || addr >= a.rtAddr+uint64(len(a.rt.Code)) {
		return AddrInfo{}, false
	}
	info := AddrInfo{Fname: APIRuntimeName, Fbase: a.rtAddr}
	for _, s := range a.rt.Symbols {
		if off := addr - a.rtAddr; off >= s.Offset && off < s.Offset+s.Size {
			info.Sname, info.Saddr = s.Name, a.rtAddr+s.Offset
		}
	}
	return info, true
}

// phdrWalk is one thread's dl_iterate_phdr walk: the loaded objects as
// they were when it began.
type phdrWalk struct {
	objs       []PhdrInfo
	tls        []*pthread.Module
	adds, subs uint64
}

// walkOf returns t's current walk, beginning one when index is 0 (a walk
// begins: the objects are listed now, and closes by other threads wait
// until it ends). An index past 0 without a walk (a guest calling the
// host call directly) gets a snapshot that is no walk.
func (a *API) walkOf(t *sandbox.Thread, index uint64) (w *phdrWalk, inWalk bool) {
	if index != 0 {
		a.mu.Lock()
		st := a.walks[t]
		a.mu.Unlock()
		if len(st) > 0 {
			return st[len(st)-1], true
		}
		return a.l.phdrSnapshot(), false
	}
	a.l.beginWalk(t)
	w = a.l.phdrSnapshot()
	a.mu.Lock()
	st, seen := a.walks[t]
	a.walks[t] = append(st, w)
	a.mu.Unlock()
	if !seen {
		go func() {
			<-t.Done()
			a.mu.Lock()
			delete(a.walks, t)
			a.mu.Unlock()
			a.l.endWalk(t, true)
		}()
	}
	return w, true
}

// endWalk ends t's current walk (the innermost of nested ones).
func (a *API) endWalk(t *sandbox.Thread) {
	a.mu.Lock()
	st := a.walks[t]
	if len(st) == 0 {
		a.mu.Unlock()
		return
	}
	a.walks[t] = st[:len(st)-1]
	a.mu.Unlock()
	a.l.endWalk(t, false)
}

// phdrSnapshot is Objects with each object's TLS registration, taken at
// once under the loader's lock.
func (l *Loader) phdrSnapshot() *phdrWalk {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := &phdrWalk{adds: l.adds, subs: l.subs}
	for _, m := range l.order {
		w.objs = append(w.objs, l.phdrInfo(m))
		w.tls = append(w.tls, m.TLS)
	}
	return w
}

// iteratePhdr fills the 64-byte struct dl_phdr_info for loaded object
// r[0] (load order) at r[1], dlpi_tls_data for the calling thread (0 if
// it has no block for the object yet): 1, or 0 past the last object,
// -EFAULT for a bad pointer, -ENOMEM when the arena is full. Index
// 0xffffffff (libhalite.so's dl_iterate_phdr when a callback ended the
// walk early) only ends the walk. A walk (from index 0 to its end)
// reports the objects loaded when it began, each once, whatever opens
// run meanwhile; closes by other threads wait until it ends, as glibc's
// dl_load_write_lock makes them.
func (a *API) iteratePhdr(t *sandbox.Thread, r *[6]uint64) (ret int64) {
	if r[0] == 0xffffffff {
		a.endWalk(t)
		return 0
	}
	w, inWalk := a.walkOf(t, r[0])
	if inWalk {
		defer func() {
			if ret <= 0 { // past the end, or an error: the loop stops
				a.endWalk(t)
			}
		}()
	}
	if r[0] >= uint64(len(w.objs)) {
		return 0
	}
	o := w.objs[r[0]]
	name, err := a.internString(o.Name)
	if err != nil {
		return -int64(unix.ENOMEM)
	}
	ph, n := phdrs(o)
	phAddr, err := a.intern(ph)
	if err != nil {
		return -int64(unix.ENOMEM)
	}
	var tlsData uint64
	if mod := w.tls[r[0]]; mod != nil {
		if pt := a.threadOf(t); pt != nil {
			tlsData = a.l.sys.TLS().Block(pt.TLSThread(), mod)
		}
	}
	var b [64]byte
	binary.LittleEndian.PutUint64(b[0:], o.Addr)
	binary.LittleEndian.PutUint64(b[8:], name)
	binary.LittleEndian.PutUint64(b[16:], phAddr)
	binary.LittleEndian.PutUint16(b[24:], uint16(n))
	binary.LittleEndian.PutUint64(b[32:], w.adds)
	binary.LittleEndian.PutUint64(b[40:], w.subs)
	binary.LittleEndian.PutUint64(b[48:], uint64(o.TLSModID))
	binary.LittleEndian.PutUint64(b[56:], tlsData)
	if err := a.s.Write(r[1], b[:]); err != nil {
		return -int64(unix.EFAULT)
	}
	return 1
}

// phdrs rebuilds Elf64_Phdr entries for the object's PT_LOAD segments
// and its PT_TLS.
func phdrs(o PhdrInfo) ([]byte, int) {
	var out []byte
	put := func(typ, flags uint32, off, vaddr, filesz, memsz, align uint64) {
		var e [56]byte
		binary.LittleEndian.PutUint32(e[0:], typ)
		binary.LittleEndian.PutUint32(e[4:], flags)
		binary.LittleEndian.PutUint64(e[8:], off)
		binary.LittleEndian.PutUint64(e[16:], vaddr)
		binary.LittleEndian.PutUint64(e[24:], vaddr)
		binary.LittleEndian.PutUint64(e[32:], filesz)
		binary.LittleEndian.PutUint64(e[40:], memsz)
		binary.LittleEndian.PutUint64(e[48:], align)
		out = append(out, e[:]...)
	}
	n := 0
	for _, s := range o.Segments {
		var f uint32
		if s.Prot&elfload.ProtExec != 0 {
			f |= 1
		}
		if s.Prot&elfload.ProtWrite != 0 {
			f |= 2
		}
		if s.Prot&elfload.ProtRead != 0 {
			f |= 4
		}
		put(1, f, s.Offset, s.Vaddr, s.Filesz, s.Memsz, s.Align)
		n++
	}
	if t := o.TLS; t != nil {
		put(7, 4, 0, t.Vaddr, t.Filesz, t.Memsz, t.Align) // PT_TLS (p_offset not kept: 0)
		n++
	}
	return out, n
}
