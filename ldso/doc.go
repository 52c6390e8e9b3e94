// Package ldso is halite's dynamic linker. This file set is its static half,
// the linkage inspector: it finds the objects a program needs exactly as
// glibc 2.36's ld.so does (search order, ld.so.cache, $ORIGIN, dedup by
// (dev, ino) and by soname, breadth-first global scope), looks symbols up
// over a scope (GNU and SysV hash, symbol versions, weak, unique,
// visibility, interposition) and binds every relocation of every loaded
// object, all without mapping or running anything.
//
// The phases are visible as functions: Namespace.LoadMain (search and map
// records, breadth first), Namespace.Bind (symbol lookup for every
// relocation). State lives in one Object record per loaded object. Files are
// reached through the FS interface, so the sandbox loader can plug its
// virtual file system in; HostFS is the host's.
//
// ldso never executes the files it inspects, never maps them and never
// decodes instructions. Not done yet (partial): relocation application,
// init/fini order, dlopen/dlclose and TLS layout (the sandbox half).
package ldso
