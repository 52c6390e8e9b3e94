package main

import (
	"flag"
	"fmt"
	"io"

	"halite/ldso"
)

func init() {
	var lf *linkFlags
	var dot *bool
	register(&command{
		name:    "tree",
		summary: "print the dependency tree, each edge annotated with how the loader found it",
		usage:   "[--dot] [--library-path P] FILE",
		setup: func(fs *flag.FlagSet) {
			lf = addLinkFlags(fs, false)
			dot = fs.Bool("dot", false, "write a Graphviz digraph")
		},
		run: func(e *env, args []string) int {
			if len(args) != 1 {
				return e.usageError("want exactly one FILE")
			}
			ns, code := loadNamespace(e, lf, args[0])
			if ns == nil {
				return code
			}
			if *dot {
				writeDot(e.stdout, ns)
			} else {
				writeTree(e.stdout, ns)
			}
			for _, o := range ns.Objects {
				if o.Missing {
					return exitFailure
				}
			}
			return exitOK
		},
	})
}

// edgeHow says in words how an edge was resolved.
func edgeHow(from *ldso.Object, ed ldso.Edge) string {
	owner := func() string {
		if ed.Owner == nil {
			return ""
		}
		s := " of " + ed.Owner.Path
		if ed.Owner != from {
			s += " (inherited)"
		}
		return s
	}
	found := func(v ldso.Via) string {
		switch v {
		case ldso.ViaRPATH, ldso.ViaRUNPATH:
			return fmt.Sprintf("%s%s, dir %s", v, owner(), ed.Dir)
		case ldso.ViaLibraryPath, ldso.ViaDefault:
			return fmt.Sprintf("%s, dir %s", v, ed.Dir)
		}
		return v.String()
	}
	switch ed.Via {
	case ldso.ViaFileID:
		return fmt.Sprintf("same (dev, ino) as %s; found by %s", ed.To.Path, found(ed.Found))
	case ldso.ViaLoadedName:
		if ed.To.IsInterp() {
			return "the interpreter, present from the start (name or soname)"
		}
		return "already loaded (name)"
	case ldso.ViaSoname:
		return "already loaded (soname)"
	}
	return found(ed.Via)
}

// writeTree prints each object's dependencies indented under it; an
// object's own dependencies are listed only where it first appears.
func writeTree(w io.Writer, ns *ldso.Namespace) {
	fmt.Fprintln(w, ns.Main.Path)
	for _, o := range ns.Preloaded {
		fmt.Fprintf(w, "(preloaded) %s\n", o.Path)
	}
	shown := map[*ldso.Object]bool{ns.Main: true}
	var walk func(o *ldso.Object, prefix string)
	walk = func(o *ldso.Object, prefix string) {
		for i, ed := range o.Needed {
			branch, next := "├─ ", "│  "
			if i == len(o.Needed)-1 {
				branch, next = "└─ ", "   "
			}
			target := ed.To.Path
			if ed.To.Missing {
				target = "not found"
			}
			more := ""
			if shown[ed.To] && len(ed.To.Needed) > 0 {
				more = " (dependencies above)"
			}
			fmt.Fprintf(w, "%s%s%s => %s [%s]%s\n", prefix, branch, ed.Name, target, edgeHow(o, ed), more)
			if !shown[ed.To] {
				shown[ed.To] = true
				walk(ed.To, prefix+next)
			}
		}
	}
	walk(ns.Main, "")
}

func writeDot(w io.Writer, ns *ldso.Namespace) {
	fmt.Fprintln(w, "digraph deps {")
	fmt.Fprintln(w, "\trankdir=LR;\n\tnode [shape=box];")
	id := func(o *ldso.Object) string { return fmt.Sprintf("n%d", o.Index) }
	for _, o := range ns.Objects {
		label := o.Path
		attr := ""
		if o.Missing {
			label, attr = o.Name+"\\nnot found", ", color=red"
		}
		fmt.Fprintf(w, "\t%s [label=%q%s];\n", id(o), label, attr)
	}
	for _, o := range ns.Objects {
		for _, ed := range o.Needed {
			fmt.Fprintf(w, "\t%s -> %s [label=%q];\n", id(o), id(ed.To), ed.Name+"\n"+edgeHow(o, ed))
		}
	}
	fmt.Fprintln(w, "}")
}
