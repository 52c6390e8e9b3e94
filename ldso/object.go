package ldso

import (
	"halite/elfload"
)

// Via says how a DT_NEEDED name (or the main program) was resolved to an
// object.
type Via uint8

// The ways an object is found, in glibc's order of trying.
const (
	ViaMain        Via = iota // the program itself
	ViaInterp                 // the interpreter object (glibc's ld.so), present from the start
	ViaPath                   // a name containing '/', opened as a path
	ViaLoadedName             // matched a loaded object's path or one of its names
	ViaSoname                 // matched a loaded object's DT_SONAME
	ViaFileID                 // found by search, but an object with the same (dev, ino) was loaded
	ViaRPATH                  // DT_RPATH of the requester or of an object up its loader chain, or the main program's
	ViaLibraryPath            // LD_LIBRARY_PATH (the library-path option)
	ViaRUNPATH                // the requester's own DT_RUNPATH
	ViaCache                  // /etc/ld.so.cache
	ViaDefault                // a default system directory
	ViaNotFound               // not found anywhere
)

var viaNames = [...]string{"main", "interpreter", "path", "loaded-name", "loaded-soname", "dev-ino", "RPATH", "LD_LIBRARY_PATH", "RUNPATH", "ld.so.cache", "default-dir", "not-found"}

func (v Via) String() string {
	if int(v) < len(viaNames) {
		return viaNames[v]
	}
	return "via?"
}

// Edge is one DT_NEEDED entry of an object and what it resolved to.
type Edge struct {
	Name string  // the DT_NEEDED string after token expansion
	To   *Object // the object it resolved to (a missing placeholder if not found)
	Via  Via
	// Found is the search step that located the file (ViaRPATH...ViaDefault)
	// when Via is ViaFileID, or Via itself for a search.
	Found Via
	// Dir is the search directory where the file was found ("" for a
	// cache hit, a path, or a match of a loaded object); Owner the object
	// whose RPATH or RUNPATH gave Dir.
	Dir   string
	Owner *Object
}

// Object is the record of one loaded object: glibc's link_map, musl's
// struct dso. Everything the loader knows about an object lives here.
type Object struct {
	// Index is the position in load (creation) order; the main program is 0.
	Index int
	// Name is the name the object was first requested by (a DT_NEEDED
	// string, or the path of the main program): glibc's l_libname->name.
	Name string
	// Path is the path the object was opened by: glibc's l_name.
	Path string
	// Aliases are further names that matched this object (later DT_NEEDED
	// strings, paths of the same (dev, ino), the soname once matched).
	Aliases []string
	ID      FileID
	Plan    *elfload.Plan
	Soname  string
	// Origin is the value of $ORIGIN for this object.
	Origin string
	// Loader is the object whose DT_NEEDED caused this one to be loaded
	// (nil for the main program and the interpreter).
	Loader *Object
	// Via and Found say how the object was first found; Dir where.
	Via   Via
	Found Via
	Dir   string
	// Needed lists the object's DT_NEEDED entries in order, resolved.
	Needed []Edge
	// Missing is set for a placeholder standing for a dependency that was
	// not found (glibc's "faked" map in trace mode); Err says why.
	Missing bool
	Err     error
	// File is kept open when Config.KeepOpen is set (for SegmentData).
	File File

	// rpath and runpath are the decomposed search lists (nil if absent);
	// glibc ignores DT_RPATH when DT_RUNPATH is present.
	rpath, runpath []string
	isMain, interp bool
	sonameAdded    bool
	depsMapped     bool
	versions       []Version
}

// IsMain reports whether o is the main program.
func (o *Object) IsMain() bool { return o.isMain }

// IsInterp reports whether o is the interpreter object.
func (o *Object) IsInterp() bool { return o.interp }

// Dynamic returns the object's dynamic information or nil.
func (o *Object) Dynamic() *elfload.Dynamic {
	if o == nil || o.Plan == nil {
		return nil
	}
	return o.Plan.Dynamic
}

// matchesName is glibc's _dl_name_match_p: the path or one of the names.
func (o *Object) matchesName(name string) bool {
	if name == o.Path || name == o.Name {
		return true
	}
	for _, a := range o.Aliases {
		if a == name {
			return true
		}
	}
	return false
}

func (o *Object) addName(name string) {
	if !o.matchesName(name) {
		o.Aliases = append(o.Aliases, name)
	}
}

// Names returns the object's name followed by its aliases.
func (o *Object) Names() []string { return append([]string{o.Name}, o.Aliases...) }
