package ldso

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"halite/elfload"
)

// Config is what a Namespace needs to know about its environment.
type Config struct {
	// FS is the file system searched; nil means HostFS.
	FS FS
	// Cwd is the current directory, for $ORIGIN of relative paths.
	Cwd string
	// LibraryPath is a colon- or semicolon-separated directory list
	// searched after RPATH and before RUNPATH (glibc's LD_LIBRARY_PATH).
	LibraryPath string
	// Cache is the parsed ld.so.cache; nil skips that step.
	Cache *Cache
	// DefaultDirs are the system directories ("/lib/" form, with trailing
	// slash); nil means DefaultDirs. An empty non-nil slice disables them.
	DefaultDirs []string
	// Interp is the path of the interpreter object present before any
	// dependency is loaded (glibc's own ld.so: "/lib64/ld-linux-x86-64.so.2");
	// "" for none.
	Interp string
	// Lib and Platform are the values of $LIB and $PLATFORM; "" means
	// DefaultLib and DefaultPlatform.
	Lib, Platform string
	// Subdirs are the subdirectories tried inside every search directory
	// before the directory itself; nil means glibc's hwcaps list for this
	// host. Use []string{""} for none.
	Subdirs []string
	// MaxObjects bounds the number of objects (including not-found
	// placeholders); 0 means 1<<16.
	MaxObjects int
	// KeepOpen keeps every object's file open (Object.File) until Close.
	KeepOpen bool
	// Preload lists objects loaded right after the main program, before
	// its dependencies, as if the main program needed them first (glibc's
	// LD_PRELOAD); a name without '/' is searched for as the main
	// program's DT_NEEDED entry would be.
	Preload []string
}

// Namespace is a set of loaded objects with one global scope: glibc's
// link-map namespace, the unit within which search results are shared
// and objects are deduplicated.
type Namespace struct {
	cfg Config
	// Objects lists every object in load order, including not-found
	// placeholders; the interpreter, if any, is at index 1.
	Objects []*Object
	Main    *Object
	Interp  *Object
	// Scope is the global scope: the main program, the preloaded objects,
	// then the dependencies breadth first, without placeholders (glibc's
	// main l_searchlist).
	Scope []*Object
	// Preloaded are the objects Config.Preload loaded; PreloadErrors say
	// why the others were ignored (glibc ignores them too).
	Preloaded     []*Object
	PreloadErrors []error

	libraryPath []string
	unique      map[string]Definition
}

// LoadError is a failure that stops loading (glibc reports these as
// "error while loading shared libraries").
type LoadError struct {
	Name      string // the name being loaded
	Requester string // the path of the object that needed it ("" for the main program)
	Err       error
}

func (e *LoadError) Error() string {
	if e.Requester == "" {
		if msg := e.Err.Error(); strings.Contains(msg, e.Name) {
			return msg // already names the file
		}
		return fmt.Sprintf("%s: %v", e.Name, e.Err)
	}
	return fmt.Sprintf("%s (needed by %s): %v", e.Name, e.Requester, e.Err)
}

func (e *LoadError) Unwrap() error { return e.Err }

// ErrNotFound is the Err of a missing dependency's placeholder.
var ErrNotFound = errors.New("cannot open shared object file: No such file or directory")

// errWrongClass marks a candidate file that glibc skips silently (another
// ELF class or machine) and keeps searching.
var errWrongClass = errors.New("wrong ELF class or machine")

// NewNamespace returns an empty namespace.
func NewNamespace(cfg Config) *Namespace {
	if cfg.FS == nil {
		cfg.FS = HostFS{}
	}
	if cfg.DefaultDirs == nil {
		cfg.DefaultDirs = DefaultDirs
	}
	if cfg.Lib == "" {
		cfg.Lib = DefaultLib
	}
	if cfg.Platform == "" {
		cfg.Platform = DefaultPlatform
	}
	if cfg.Subdirs == nil {
		cfg.Subdirs = searchSubdirs()
	}
	if cfg.MaxObjects <= 0 {
		cfg.MaxObjects = 1 << 16
	}
	return &Namespace{cfg: cfg}
}

// Close closes the files kept open by KeepOpen.
func (ns *Namespace) Close() error {
	var first error
	for _, o := range ns.Objects {
		if o.File != nil {
			if err := o.File.Close(); err != nil && first == nil {
				first = err
			}
			o.File = nil
		}
	}
	return first
}

// LoadMain loads the program at path and, breadth first, every object it
// needs (phase 1 and 2 of a load: map the main object, map dependencies).
// Dependencies that are not found become placeholders (Object.Missing)
// and do not stop the load, as in glibc's trace mode; an error is
// returned only for a failure glibc treats as fatal (the main program
// unreadable or malformed, a found dependency malformed, too many
// objects).
func (ns *Namespace) LoadMain(path string) (*Object, error) {
	if ns.Main != nil {
		return nil, errors.New("ldso: namespace already has a main program")
	}
	f, id, plan, err := ns.openVerify(path)
	if err != nil {
		return nil, &LoadError{Name: path, Err: err}
	}
	main := ns.newObject(path, path, nil, ViaMain)
	ns.setFile(main, f, id, plan)
	main.isMain = true
	if ns.cfg.Interp != "" {
		if err := ns.loadInterp(main); err != nil {
			return nil, err
		}
	}
	llpOrigin := main.Origin
	ns.libraryPath = splitSearchPath(ns.cfg.LibraryPath, ":;", llpOrigin, ns.cfg.Lib, ns.cfg.Platform)
	for _, name := range ns.cfg.Preload {
		e, err := ns.mapObject(main, name, false)
		switch {
		case err != nil:
			ns.PreloadErrors = append(ns.PreloadErrors, fmt.Errorf("object %q from the preload list cannot be preloaded: %w: ignored", name, err))
		case e.To == nil:
			ns.PreloadErrors = append(ns.PreloadErrors, fmt.Errorf("object %q from the preload list cannot be preloaded (%v): ignored", name, ErrNotFound))
		case e.To != main && !containsObject(ns.Preloaded, e.To):
			ns.Preloaded = append(ns.Preloaded, e.To)
		}
	}
	list, err := ns.mapDeps(main, ns.Preloaded...)
	ns.Scope = withoutMissing(list)
	if err != nil {
		return main, err
	}
	return main, nil
}

// loadInterp creates the interpreter object, named by the main program's
// PT_INTERP (or the interpreter path) and its soname, as glibc's rtld map.
func (ns *Namespace) loadInterp(main *Object) error {
	f, id, plan, err := ns.openVerify(ns.cfg.Interp)
	if err != nil {
		return &LoadError{Name: ns.cfg.Interp, Err: fmt.Errorf("interpreter: %w", err)}
	}
	name := ns.cfg.Interp
	if main.Plan.Interp != "" {
		name = main.Plan.Interp
	}
	o := ns.newObject(name, ns.cfg.Interp, nil, ViaInterp)
	ns.setFile(o, f, id, plan)
	o.interp = true
	if o.Soname != "" {
		o.addName(o.Soname)
		o.sonameAdded = true
	}
	ns.Interp = o
	return nil
}

func (ns *Namespace) newObject(name, path string, loader *Object, via Via) *Object {
	o := &Object{Index: len(ns.Objects), Name: name, Path: path, Loader: loader, Via: via, Found: via}
	ns.Objects = append(ns.Objects, o)
	if ns.Main == nil {
		ns.Main = o
	}
	return o
}

func (ns *Namespace) setFile(o *Object, f File, id FileID, plan *elfload.Plan) {
	o.ID, o.Plan = id, plan
	if ns.cfg.KeepOpen {
		o.File = f
	} else {
		f.Close()
	}
	o.Origin = originOf(o.Path, ns.cfg.Cwd)
	if d := plan.Dynamic; d != nil {
		o.Soname = d.Soname
		if d.HasRunpath {
			o.runpath = splitSearchPath(d.Runpath, ":", o.Origin, ns.cfg.Lib, ns.cfg.Platform)
			if o.runpath == nil {
				o.runpath = []string{}
			}
		} else if d.HasRpath {
			o.rpath = splitSearchPath(d.Rpath, ":", o.Origin, ns.cfg.Lib, ns.cfg.Platform)
			if o.rpath == nil {
				o.rpath = []string{}
			}
		}
	}
}

// mapDeps walks the objects breadth first from root, resolving the
// DT_NEEDED entries of every object not yet walked (glibc's
// _dl_map_object_deps), and returns root's search list: root and its
// dependencies breadth first, placeholders included. For the main program
// that list, without placeholders, is the global scope.
func (ns *Namespace) mapDeps(root *Object, preloaded ...*Object) ([]*Object, error) {
	queue := append([]*Object{root}, preloaded...)
	inQueue := map[*Object]bool{}
	for _, o := range queue {
		inQueue[o] = true
	}
	for qi := 0; qi < len(queue); qi++ {
		o := queue[qi]
		d := o.Dynamic()
		if d == nil || o.Missing {
			continue
		}
		if !o.depsMapped {
			o.depsMapped = true
			for _, raw := range d.Needed {
				name := raw
				if strings.Contains(name, "$") {
					exp, ok := ExpandTokens(name, o.Origin, ns.cfg.Lib, ns.cfg.Platform)
					if !ok || exp == "" {
						return queue, &LoadError{Name: raw, Requester: o.Path, Err: errors.New("empty dynamic string token substitution")}
					}
					name = exp
				}
				e, err := ns.mapObject(o, name, true)
				if err != nil {
					return queue, err
				}
				o.Needed = append(o.Needed, e)
			}
		}
		for _, e := range o.Needed {
			if !inQueue[e.To] {
				inQueue[e.To] = true
				queue = append(queue, e.To)
			}
		}
	}
	return queue, nil
}

// withoutMissing returns list without not-found placeholders.
func withoutMissing(list []*Object) []*Object {
	var out []*Object
	for _, o := range list {
		if !o.Missing {
			out = append(out, o)
		}
	}
	return out
}

// Dlopen loads name as dlopen(name, RTLD_LOCAL) called from caller would,
// without running anything: the object is searched for as a DT_NEEDED
// entry of caller (a name with '/' is a path), its dependencies breadth
// first. It returns the object, its local scope (its search list), and
// the objects this call loaded; those are not added to the global scope.
// A missing object or dependency is an error, as for dlopen.
func (ns *Namespace) Dlopen(name string, caller *Object) (root *Object, local, loaded []*Object, err error) {
	if caller == nil {
		caller = ns.Main
	}
	before := len(ns.Objects)
	if strings.Contains(name, "/") && strings.Contains(name, "$") {
		// glibc's _dl_map_object expands the tokens of a path with the
		// caller's $ORIGIN (a name without '/' is searched as written).
		exp, ok := ExpandTokens(name, caller.Origin, ns.cfg.Lib, ns.cfg.Platform)
		if !ok || exp == "" {
			return nil, nil, nil, &LoadError{Name: name, Requester: caller.Path, Err: errors.New("empty dynamic string token substitution")}
		}
		name = exp
	}
	e, err := ns.mapObject(caller, name, false)
	if err != nil {
		return nil, nil, nil, err
	}
	if e.To == nil {
		return nil, nil, nil, &LoadError{Name: name, Requester: caller.Path, Err: ErrNotFound}
	}
	list, err := ns.mapDeps(e.To)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, o := range list {
		if o.Missing {
			return nil, nil, nil, &LoadError{Name: o.Name, Requester: o.Loader.Path, Err: ErrNotFound}
		}
	}
	return e.To, list, ns.Objects[before:], nil
}

// containsObject reports whether list holds o.
func containsObject(list []*Object, o *Object) bool {
	for _, x := range list {
		if x == o {
			return true
		}
	}
	return false
}

// mapObject resolves one DT_NEEDED name of loader (glibc's _dl_map_object).
// A name that is not found gives a placeholder object when placeholder is
// set (glibc's trace mode), else an edge with a nil To.
func (ns *Namespace) mapObject(loader *Object, name string, placeholder bool) (Edge, error) {
	// 1. An already-loaded object by name, alias or soname.
	for _, o := range ns.Objects {
		if o.Missing {
			continue
		}
		if o.matchesName(name) {
			return Edge{Name: name, To: o, Via: ViaLoadedName, Found: ViaLoadedName}, nil
		}
		if !o.sonameAdded && o.Soname != "" && o.Soname == name {
			o.addName(name)
			o.sonameAdded = true
			return Edge{Name: name, To: o, Via: ViaSoname, Found: ViaSoname}, nil
		}
	}
	if len(ns.Objects) >= ns.cfg.MaxObjects {
		return Edge{}, &LoadError{Name: name, Requester: loader.Path, Err: fmt.Errorf("more than %d objects", ns.cfg.MaxObjects)}
	}
	c, err := ns.search(loader, name)
	if err != nil {
		return Edge{}, &LoadError{Name: name, Requester: loader.Path, Err: err}
	}
	if c == nil && !placeholder {
		return Edge{Name: name, Via: ViaNotFound, Found: ViaNotFound}, nil
	}
	if c == nil {
		o := ns.newObject(name, "", loader, ViaNotFound)
		o.Missing, o.Err = true, ErrNotFound
		return Edge{Name: name, To: o, Via: ViaNotFound, Found: ViaNotFound}, nil
	}
	e := Edge{Name: name, Via: c.via, Found: c.via, Dir: c.dir, Owner: c.owner}
	// After opening: an object with the same (dev, ino) is reused and the
	// name becomes an alias.
	for _, o := range ns.Objects {
		if !o.Missing && o.ID == c.id {
			c.f.Close()
			o.addName(name)
			e.To, e.Via = o, ViaFileID
			return e, nil
		}
	}
	o := ns.newObject(name, c.path, loader, c.via)
	o.Found, o.Dir = c.via, c.dir
	ns.setFile(o, c.f, c.id, c.plan)
	e.To = o
	return e, nil
}

// candidate is a file the search opened and verified.
type candidate struct {
	path  string
	f     File
	id    FileID
	plan  *elfload.Plan
	via   Via
	dir   string
	owner *Object
}

// search looks for name in glibc's order: a path; RPATH up the loader
// chain and the main program's (only when the requester has no RUNPATH);
// the library path; the requester's RUNPATH; the cache; the default
// directories. It returns nil when nothing is found.
func (ns *Namespace) search(loader *Object, name string) (*candidate, error) {
	if strings.Contains(name, "/") {
		return ns.try(name, ViaPath, "", nil)
	}
	if loader.runpath == nil {
		didMain := false
		for l := loader; l != nil; l = l.Loader {
			if l.rpath == nil {
				continue
			}
			if c, err := ns.tryDirs(l.rpath, name, ViaRPATH, l); c != nil || err != nil {
				return c, err
			}
			didMain = didMain || l == ns.Main
		}
		if m := ns.Main; !didMain && m != nil && m.rpath != nil {
			if c, err := ns.tryDirs(m.rpath, name, ViaRPATH, m); c != nil || err != nil {
				return c, err
			}
		}
	}
	if c, err := ns.tryDirs(ns.libraryPath, name, ViaLibraryPath, nil); c != nil || err != nil {
		return c, err
	}
	if loader.runpath != nil {
		if c, err := ns.tryDirs(loader.runpath, name, ViaRUNPATH, loader); c != nil || err != nil {
			return c, err
		}
	}
	nodeflib := loader.Dynamic() != nil && loader.Dynamic().Flags1&elf_DF_1_NODEFLIB != 0
	if ns.cfg.Cache != nil {
		if p, ok := ns.cfg.Cache.Lookup(name); ok && !(nodeflib && ns.inDefaultDir(p)) {
			if c, err := ns.try(p, ViaCache, "", nil); c != nil || err != nil {
				return c, err
			}
		}
	}
	if !nodeflib {
		return ns.tryDirs(ns.cfg.DefaultDirs, name, ViaDefault, nil)
	}
	return nil, nil
}

const elf_DF_1_NODEFLIB = 0x800

func (ns *Namespace) inDefaultDir(p string) bool {
	for _, d := range ns.cfg.DefaultDirs {
		if strings.HasPrefix(p, d) {
			return true
		}
	}
	return false
}

func (ns *Namespace) tryDirs(dirs []string, name string, via Via, owner *Object) (*candidate, error) {
	for _, d := range dirs {
		for _, sub := range ns.cfg.Subdirs {
			if c, err := ns.try(d+sub+name, via, d, owner); c != nil || err != nil {
				return c, err
			}
		}
	}
	return nil, nil
}

// try opens and verifies one candidate path. A file that cannot be opened
// or has another ELF class or machine is skipped (nil, nil), as glibc
// does; a file that opens but is not a valid object is a fatal error.
func (ns *Namespace) try(path string, via Via, dir string, owner *Object) (*candidate, error) {
	f, id, plan, err := ns.openVerify(path)
	if err != nil {
		if errors.Is(err, errNotThere) || errors.Is(err, errWrongClass) {
			return nil, nil
		}
		return nil, err
	}
	return &candidate{path: path, f: f, id: id, plan: plan, via: via, dir: dir, owner: owner}, nil
}

var errNotThere = errors.New("cannot open")

// glibcError is a file rejected with glibc's text for the case (open_verify's
// "file too short", "invalid ELF header", "cannot read file data: ..."); Err
// is the precise cause (an *elfload.FormatError names offset and rule).
type glibcError struct {
	Path, Text string
	Err        error
}

func (e *glibcError) Error() string { return e.Path + ": " + e.Text }

func (e *glibcError) Unwrap() error { return e.Err }

// openVerify opens path and parses it as an x86-64 ELF object.
func (ns *Namespace) openVerify(path string) (File, FileID, *elfload.Plan, error) {
	f, err := ns.cfg.FS.Open(path)
	if err != nil {
		return nil, FileID{}, nil, fmt.Errorf("%w: %v", errNotThere, err)
	}
	id, size, err := f.Info()
	if err != nil {
		if !errors.Is(err, syscall.EISDIR) {
			// An FS may refuse a non-regular file without saying why:
			// read it as glibc does (a directory fails with EISDIR).
			var b [1]byte
			if _, rerr := f.ReadAt(b[:], 0); errors.Is(rerr, syscall.EISDIR) {
				err = rerr
			}
		}
		f.Close()
		if errors.Is(err, syscall.EISDIR) {
			// glibc opens a directory, then its read fails (fatal,
			// not a reason to try the next directory).
			return nil, FileID{}, nil, &glibcError{Path: path, Text: "cannot read file data: Is a directory", Err: err}
		}
		return nil, FileID{}, nil, fmt.Errorf("%w: %v", errNotThere, err)
	}
	plan, err := elfload.Parse(f, size)
	if err != nil {
		f.Close()
		var fe *elfload.FormatError
		if errors.As(err, &fe) && (fe.Rule == elfload.RuleBadClass || fe.Rule == elfload.RuleBadMachine) {
			return nil, FileID{}, nil, fmt.Errorf("%s: %w: %v", path, errWrongClass, err)
		}
		if fe != nil && fe.Rule == elfload.RuleShortFile && size < 64 {
			return nil, FileID{}, nil, &glibcError{Path: path, Text: "file too short", Err: err}
		}
		if fe != nil && fe.Rule == elfload.RuleBadMagic {
			return nil, FileID{}, nil, &glibcError{Path: path, Text: "invalid ELF header", Err: err}
		}
		return nil, FileID{}, nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, id, plan, nil
}
