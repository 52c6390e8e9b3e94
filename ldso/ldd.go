package ldso

// LddLine is one line of glibc's `ldd` output, without the load address.
type LddLine struct {
	Name    string  // the name the object was requested by
	Path    string  // where it was found; "" when not found
	Object  *Object // the object (a placeholder when not found)
	Missing bool
}

// String formats the line as glibc's ld.so --list does (without the
// leading tab and the load address).
func (l LddLine) String() string {
	switch {
	case l.Missing:
		return l.Name + " => not found"
	case l.Name == l.Path:
		return l.Path
	default:
		return l.Name + " => " + l.Path
	}
}

// LddLines returns the lines glibc's `ldd` prints for the namespace, in
// its order: objects in load order after the main program, the
// interpreter placed right after the object that precedes it in the
// global scope (and left out when nothing needs it), not-found
// placeholders where they were created. The vdso glibc also lists is not
// an object of the file system and is not included. Statically reports
// whether the main program has no DT_NEEDED at all (glibc then prints
// only "statically linked").
func (ns *Namespace) LddLines() (lines []LddLine, statically bool) {
	if ns.Main == nil {
		return nil, false
	}
	if d := ns.Main.Dynamic(); d == nil || len(d.Needed) == 0 {
		return nil, true
	}
	var order []*Object
	for _, o := range ns.Objects {
		if o != ns.Main && o != ns.Interp {
			order = append(order, o)
		}
	}
	if ns.Interp != nil {
		for i, o := range ns.Scope {
			if o != ns.Interp || i == 0 {
				continue
			}
			prev := ns.Scope[i-1]
			at := 0 // after the main program
			for j, x := range order {
				if x == prev {
					at = j + 1
				}
			}
			order = append(order[:at], append([]*Object{ns.Interp}, order[at:]...)...)
			break
		}
	}
	for _, o := range order {
		lines = append(lines, LddLine{Name: o.Name, Path: o.Path, Object: o, Missing: o.Missing})
	}
	return lines, false
}
