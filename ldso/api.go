package ldso

import (
	"encoding/binary"
	"errors"
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
// dlsym(handle, name) of a thread-local symbol returns its address in the
// calling thread (Loader.SymTLS), as glibc does.
//
// Limits (partial): a thread-local symbol is found only through a handle
// (not RTLD_DEFAULT/RTLD_NEXT, nor dlvsym); dlpi_phdr holds the PT_LOAD and
// PT_TLS headers rebuilt from the load plan (PT_TLS's p_offset is 0) (not the file's whole table);
// dl_iterate_phdr does not hold a lock across the walk (an object loaded
// or unloaded meanwhile may be skipped or seen twice); dlopen(NULL) fails
// (there is no main program).
type API struct {
	l      *Loader
	s      *sandbox.Sandbox
	rt     *pthread.RuntimeObject
	rtAddr uint64

	mu    sync.Mutex
	errs  map[*sandbox.Thread]*threadError
	strs  map[string]uint64 // interned guest copies
	chunk uint64            // current arena chunk [chunk, chunkEnd)
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
	a := &API{l: l, s: s, rt: rt, rtAddr: addr, errs: map[*sandbox.Thread]*threadError{}, strs: map[string]uint64{}}
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

// module returns the open module whose handle is h.
func (a *API) module(h uint64) *Module {
	l := a.l
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.order {
		if m.Start == h && m.refs > 0 {
			return m
		}
	}
	return nil
}

func (a *API) dlopen(t *sandbox.Thread, r *[6]uint64) int64 {
	if r[0] == 0 {
		return a.fail(t, errors.New("dlopen(NULL): there is no main program in the sandbox"))
	}
	name, err := a.readName("dlopen", r[0])
	if err != nil {
		return a.fail(t, err)
	}
	m, err := a.l.OpenFrom(r[2], name, Flags(int32(r[1])))
	if err != nil {
		return a.fail(t, err)
	}
	if m == nil {
		return 0 // RTLD_NOLOAD of an object not loaded: NULL, no error
	}
	return int64(m.Start)
}

func (a *API) dlsym(t *sandbox.Thread, r *[6]uint64) int64 {
	return a.sym(t, r[0], r[1], 0, r[2], r[3])
}

func (a *API) dlvsym(t *sandbox.Thread, r *[6]uint64) int64 {
	return a.sym(t, r[0], r[1], r[2], r[3], r[4])
}

// sym is dlsym/dlvsym. tp is the caller's thread pointer as its stub read
// it (%fs:0): it selects the thread whose block a thread-local symbol's
// address is in. The guest can forge that word, but only to get the
// address of another of its own threads' variable, which it could compute
// anyway.
func (a *API) sym(t *sandbox.Thread, h, nameAddr, verAddr, caller, tp uint64) int64 {
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
	var addr uint64
	switch h {
	case 0: // RTLD_DEFAULT
		addr, err = a.l.SymDefaultFrom(caller, name, version)
	case ^uint64(0): // RTLD_NEXT
		if version != "" {
			return a.fail(t, fmt.Errorf("dlvsym: RTLD_NEXT with a version is not supported"))
		}
		addr, err = a.l.SymNext(caller, name)
	default:
		m := a.module(h)
		if m == nil {
			return a.fail(t, fmt.Errorf("dlsym: invalid handle %#x", h))
		}
		addr, err = a.l.SymVersion(m, name, version)
		if err != nil && version == "" {
			if pt := a.l.sys.Threads().ThreadByFS(tp); pt != nil {
				if ta, terr := a.l.SymTLS(m, name, pt); terr == nil {
					addr, err = ta, nil
				}
			}
		}
	}
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
	if err := a.l.Close(m); err != nil {
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

// iteratePhdr fills the 64-byte struct dl_phdr_info for loaded object
// r[0] (load order) at r[1], dlpi_tls_data for the thread whose thread
// pointer is r[2] (0 if that thread has no block for the object yet): 1, or 0 past the last object, -EFAULT for a
// bad pointer, -ENOMEM when the arena is full.
func (a *API) iteratePhdr(t *sandbox.Thread, r *[6]uint64) int64 {
	objs, adds, subs := a.l.Objects()
	if r[0] >= uint64(len(objs)) {
		return 0
	}
	o := objs[r[0]]
	name, err := a.internString(o.Name)
	if err != nil {
		return -int64(unix.ENOMEM)
	}
	ph, n := phdrs(o)
	phAddr, err := a.intern(ph)
	if err != nil {
		return -int64(unix.ENOMEM)
	}
	var b [64]byte
	binary.LittleEndian.PutUint64(b[0:], o.Addr)
	binary.LittleEndian.PutUint64(b[8:], name)
	binary.LittleEndian.PutUint64(b[16:], phAddr)
	binary.LittleEndian.PutUint16(b[24:], uint16(n))
	binary.LittleEndian.PutUint64(b[32:], adds)
	binary.LittleEndian.PutUint64(b[40:], subs)
	binary.LittleEndian.PutUint64(b[48:], uint64(o.TLSModID))
	binary.LittleEndian.PutUint64(b[56:], a.tlsData(r[0], r[2]))
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

// tlsData is the block of the index-th loaded object in the thread whose
// thread pointer is tp, or 0.
func (a *API) tlsData(index, tp uint64) uint64 {
	pt := a.l.sys.Threads().ThreadByFS(tp)
	if pt == nil {
		return 0
	}
	l := a.l
	l.mu.Lock()
	var mod *pthread.Module
	if index < uint64(len(l.order)) {
		mod = l.order[index].TLS
	}
	l.mu.Unlock()
	if mod == nil {
		return 0
	}
	return l.sys.TLS().Block(pt.TLSThread(), mod)
}
