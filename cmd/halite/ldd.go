package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"halite/ldso"
)

// glibcInterp is the interpreter glibc's ldd runs on this platform: its
// ld.so is present in every listing, whatever the file's PT_INTERP says.
const glibcInterp = "/lib64/ld-linux-x86-64.so.2"

// linkFlags are the flags shared by ldd, tree and bind.
type linkFlags struct {
	libraryPath *string
	jsonOut     *bool
}

func addLinkFlags(fs *flag.FlagSet, withJSON bool) *linkFlags {
	lf := &linkFlags{libraryPath: new(string), jsonOut: new(bool)}
	fs.StringVar(lf.libraryPath, "library-path", "", "directories searched like LD_LIBRARY_PATH (default: $LD_LIBRARY_PATH)")
	if withJSON {
		fs.BoolVar(lf.jsonOut, "json", false, "write JSON")
	}
	return lf
}

// loadNamespace loads file as glibc's ldd would see it: the host file
// system, /etc/ld.so.cache, the library path, LD_PRELOAD, glibc's ld.so
// present from the start.
func loadNamespace(e *env, lf *linkFlags, file string) (*ldso.Namespace, int) {
	libPath := *lf.libraryPath
	set := false
	e.fs.Visit(func(f *flag.Flag) { set = set || f.Name == "library-path" })
	if !set {
		libPath = os.Getenv("LD_LIBRARY_PATH")
	}
	if !strings.Contains(file, "/") {
		file = "./" + file // as ldd does
	}
	cwd, _ := os.Getwd()
	cache, err := ldso.ReadCache("/etc/ld.so.cache")
	if err != nil {
		e.errorf("warning: %v (cache step skipped)", err)
		cache = nil
	}
	interp := glibcInterp
	if _, err := os.Stat(interp); err != nil {
		interp = ""
	}
	var preload []string
	for _, p := range strings.FieldsFunc(os.Getenv("LD_PRELOAD"), func(r rune) bool { return r == ' ' || r == ':' }) {
		preload = append(preload, p)
	}
	ns := ldso.NewNamespace(ldso.Config{Cwd: cwd, LibraryPath: libPath, Cache: cache, Interp: interp, Preload: preload})
	if _, err := ns.LoadMain(file); err != nil {
		e.errorf("%v", err)
		return nil, exitFailure
	}
	for _, err := range ns.PreloadErrors {
		e.errorf("warning: %v", err)
	}
	return ns, exitOK
}

func init() {
	var lf *linkFlags
	register(&command{
		name:    "ldd",
		summary: "list the shared objects a file needs, as glibc's ldd does, without running it",
		usage:   "[--json] [--library-path P] FILE",
		setup:   func(fs *flag.FlagSet) { lf = addLinkFlags(fs, true) },
		run: func(e *env, args []string) int {
			if len(args) != 1 {
				return e.usageError("want exactly one FILE")
			}
			ns, code := loadNamespace(e, lf, args[0])
			if ns == nil {
				return code
			}
			lines, static := ns.LddLines()
			// Missing versions: glibc's ldd prints them (from ld.so's
			// stderr) before the list; weak ones only with --verbose.
			var verrs []string
			for _, v := range ns.CheckVersions() {
				if !v.Weak {
					verrs = append(verrs, ns.Main.Path+": "+v.Error())
				}
			}
			missing := len(verrs) > 0
			for _, l := range lines {
				missing = missing || l.Missing
			}
			if *lf.jsonOut {
				type jl struct {
					Name    string `json:"name"`
					Path    string `json:"path,omitempty"`
					Missing bool   `json:"missing,omitempty"`
				}
				out := struct {
					File       string   `json:"file"`
					VersionErr []string `json:"version_errors,omitempty"`
					Statically bool     `json:"statically_linked,omitempty"`
					Objects    []jl     `json:"objects"`
				}{File: args[0], VersionErr: verrs, Statically: static, Objects: []jl{}}
				for _, l := range lines {
					out.Objects = append(out.Objects, jl{l.Name, l.Path, l.Missing})
				}
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(out); err != nil {
					e.errorf("%v", err)
					return exitFailure
				}
			} else {
				for _, v := range verrs {
					fmt.Fprintln(e.stdout, v)
				}
				if static {
					fmt.Fprintln(e.stdout, "\tstatically linked")
				}
				for _, l := range lines {
					fmt.Fprintf(e.stdout, "\t%s\n", l)
				}
			}
			if missing {
				return exitFailure
			}
			return exitOK
		},
	})
}
