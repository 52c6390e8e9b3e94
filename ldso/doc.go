// Package ldso is halite's dynamic linker. What exists today is its static
// half, the linkage inspector: it finds the objects a program needs
// exactly as glibc 2.36's ld.so does, looks symbols up over a scope and
// binds every relocation of every loaded object, all without mapping or
// running anything. The sandbox loader is meant to reuse it as is.
//
// State lives in one Object record per loaded object (names and aliases,
// path, (dev, ino), load plan, soname, loader, how it was found, its
// resolved DT_NEEDED edges). A Namespace holds the objects of one program
// and its global scope. The phases are functions you can list:
//
//   - Namespace.LoadMain: map the main program and the preloaded
//     objects, then their dependencies breadth first (search, dedup by name, soname and (dev, ino)); the
//     main program and its dependencies in that order are the global scope.
//   - Namespace.Dlopen: the same for an object opened later
//     (RTLD_LOCAL): its own local scope, objects shared by name.
//   - Namespace.CheckVersions: every VERNEED against the VERDEFs of the
//     object it names.
//   - Namespace.Bind / BindObjects: a Lookup for every relocation's
//     symbol (GNU hash with its bloom filter, SysV hash, versions,
//     weak, STB_GNU_UNIQUE, protected, copy relocations, interposition in
//     scope order), giving a Binding or the reason it is unresolved.
//   - Namespace.LddLines: the lines glibc's ldd prints.
//
// Search order for a DT_NEEDED name (glibc's _dl_map_object): a name with
// '/' is a path; a loaded object matching by name, alias or soname; if the
// requester has no DT_RUNPATH, the DT_RPATH of the requester and of each
// loader up its chain, then the main program's; the library path
// (LD_LIBRARY_PATH); the requester's DT_RUNPATH (not inherited);
// /etc/ld.so.cache (glibc's "glibc-ld.so.cache1.1" format, see ParseCache);
// the default directories; DF_1_NODEFLIB skips the last two for system
// directories. Every search directory is tried with the glibc-hwcaps and
// legacy hwcaps subdirectories first, as glibc 2.36 does. $ORIGIN,
// ${ORIGIN}, $LIB and $PLATFORM are expanded (ExpandTokens).
//
// Files are reached through the FS interface (open, then identity and
// size), so that the sandbox's virtual file system can be plugged in;
// HostFS is the host's.
//
// Deliberate differences from glibc (each covered by a test or noted
// here): every relocation is bound, lazily bound PLT entries included
// (glibc reports those only when called); the vdso, LD_AUDIT and dlmopen
// namespaces are not modelled (LD_PRELOAD is: Config.Preload); cache entries with
// legacy (non glibc-hwcaps) hwcap bits are skipped (ldconfig 2.36 does not
// write them); $PLATFORM is "x86_64" and $LIB "lib/x86_64-linux-gnu", the
// values of Debian 12's glibc.
//
// The inspector (Namespace and the functions above) never executes the
// files it inspects, never maps them and never decodes instructions.
//
// # The sandbox loader (load_*.go)
//
// Loader is the dynamic loader bound to one sandbox.Sandbox with pthread
// installed: Open/OpenFrom/OpenFromThread (dlopen: RTLD_NOW, RTLD_LAZY
// treated as NOW, RTLD_GLOBAL, RTLD_LOCAL, RTLD_NOLOAD, RTLD_NODELETE,
// RTLD_DEEPBIND; the name "" is dlopen(NULL), Main, the main program's
// handle, whose lookups search the global scope), Dlsym (dlsym and
// dlvsym on a handle, RTLD_DEFAULT or RTLD_NEXT, a thread-local symbol
// giving the calling thread's copy; Sym/SymVersion/SymDefault/SymNext/
// SymTLS are its shorthands), Close (dlclose), Exit (exit's destructors,
// glibc's _dl_fini order), Addr (dladdr), Objects (dl_iterate_phdr), Call
// (run a sandboxed function on a pthread thread). An open searches with the Namespace, checks versions, maps
// every new object (its span reserved at once; data pages read+write with
// bss zero; executable segments only through sandbox.MapCode, i.e.
// validated, never writable; a page shared by code and data, a W+X
// segment and DT_TEXTREL are refused), registers PT_TLS with pthread
// (DF_STATIC_TLS objects get static TLS from the surplus, and so do the
// TLS objects that the group's TPOFF64/TLSDESC references name, while the
// surplus lasts), applies RELR,
// RELATIVE, 64, PC32, 32, 32S, PC64, SIZE32/64, GLOB_DAT, JUMP_SLOT,
// DTPMOD64, DTPOFF64, TPOFF64 and static-block TLSDESC with lookups over
// the global scope then the root's search list (reversed with
// DEEPBIND), runs IFUNC and IRELATIVE resolvers inside the sandbox after
// the plain relocations, makes RELRO and read-only pages read-only, then
// runs constructors (DT_INIT, DT_INIT_ARRAY; dependencies first) outside
// its lock, on loader threads that hold a recursive constructor lock: an
// open from such a thread (a constructor's dlopen, however reached) goes
// ahead, an open from any other thread waits until the constructors end,
// as glibc's dl_load_lock makes it. References nothing defines bind to runtime objects (pthread's
// __tls_get_addr, AddRuntime). A failure before the constructors undoes
// everything (mappings, TLS ids, namespace objects, unique symbols).
// Close drops a handle; objects no handle reaches through DT_NEEDED or
// relocation dependencies, and not NODELETE (flag, DF_1_NODELETE or a
// bound STB_GNU_UNIQUE), run their destructors (DT_FINI_ARRAY reversed,
// DT_FINI; reverse constructor order) and are unmapped.
//
// Destructors run outside the lock too, after the objects have left the
// loader's tables.
//
// Partial: TLSDESC for dynamic (non-static) TLS blocks is refused; a
// failing constructor leaves its objects loaded and drops the handle; a
// span that held code unmapped while threads ran (sandbox.ErrRetired)
// stays reserved, inaccessible; lazy binding is immediate binding; no
// dlmopen namespaces; no validation cache (every open validates).
// Constructors and destructors (Exit's too) run on loader threads, not
// on the thread that opens, closes or exits, so they see fresh TLS; a
// thread identity that pthread did not start (a caller outside the
// sandbox, nil) is never recursive. A dl_iterate_phdr walk reports a snapshot taken when it begins
// and holds dlclose of other threads off until it ends (see API), so a
// guest walk that never ends (a callback that never returns, or the raw
// host call started and abandoned) blocks those closes, as in glibc.
package ldso
