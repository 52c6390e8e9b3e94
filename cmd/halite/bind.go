package main

import (
	"encoding/json"
	"flag"
	"fmt"

	"halite/ldso"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return fmt.Sprint(*l) }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func init() {
	var lf *linkFlags
	var unresolved *bool
	var dlopens listFlag
	register(&command{
		name:    "bind",
		summary: "list the symbol binding of every relocation of every object the file loads (like LD_DEBUG=bindings, without running it)",
		usage:   "[--json] [--unresolved] [--library-path P] [--dlopen OBJECT]... FILE",
		setup: func(fs *flag.FlagSet) {
			lf = addLinkFlags(fs, true)
			unresolved = fs.Bool("unresolved", false, "list only what the loader would fail on: undefined symbols, missing versions, missing objects")
			dlopens = nil
			fs.Var(&dlopens, "dlopen", "after start-up, `OBJECT` is dlopened (RTLD_LOCAL) by the main program and bound too; repeatable, in order")
		},
		run: func(e *env, args []string) int {
			if len(args) != 1 {
				return e.usageError("want exactly one FILE")
			}
			ns, code := loadNamespace(e, lf, args[0])
			if ns == nil {
				return code
			}
			binds := ns.Bind()
			verrs := ns.CheckVersions()
			for _, name := range dlopens {
				_, local, loaded, err := ns.Dlopen(name, ns.Main)
				if err != nil {
					e.errorf("dlopen %s: %v", name, err)
					return exitFailure
				}
				scope := append(append([]*ldso.Object{}, ns.Scope...), local...)
				binds = append(binds, ns.BindObjects(loaded, scope)...)
				verrs = append(verrs, ns.CheckVersionsOf(loaded)...)
			}
			var missing []*ldso.Object
			for _, o := range ns.Objects {
				if o.Missing {
					missing = append(missing, o)
				}
			}
			failed := len(missing) > 0
			for _, v := range verrs {
				failed = failed || !v.Weak
			}
			for _, b := range binds {
				failed = failed || b.Kind == ldso.Unresolved
			}
			if *lf.jsonOut {
				type jb struct {
					From     string `json:"from"`
					Table    string `json:"table"`
					Offset   uint64 `json:"offset"`
					Type     string `json:"type"`
					Symbol   string `json:"symbol"`
					Version  string `json:"version,omitempty"`
					Kind     string `json:"kind"`
					To       string `json:"to,omitempty"`
					Value    uint64 `json:"value"`
					Absolute bool   `json:"absolute,omitempty"`
					Reason   string `json:"reason,omitempty"`
				}
				out := struct {
					File     string   `json:"file"`
					Missing  []string `json:"missing_objects"`
					Versions []string `json:"version_errors"`
					Bindings []jb     `json:"bindings"`
				}{File: args[0], Missing: []string{}, Versions: []string{}, Bindings: []jb{}}
				for _, o := range missing {
					out.Missing = append(out.Missing, o.Name)
				}
				for _, v := range verrs {
					out.Versions = append(out.Versions, v.Error())
				}
				for _, b := range binds {
					if *unresolved && b.Kind != ldso.Unresolved {
						continue
					}
					j := jb{From: b.From.Path, Table: b.Table, Offset: b.Reloc.Offset, Type: b.Reloc.Type.String(), Symbol: b.Symbol, Version: b.VersionName(), Kind: b.Kind.String(), Value: b.Value, Absolute: b.Absolute, Reason: b.Reason}
					if b.Def.Object != nil {
						j.To = b.Def.Object.Path
					}
					out.Bindings = append(out.Bindings, j)
				}
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(out); err != nil {
					e.errorf("%v", err)
					return exitFailure
				}
			} else {
				for _, o := range missing {
					fmt.Fprintf(e.stdout, "missing object %s (needed by %s)\n", o.Name, o.Loader.Path)
				}
				for _, v := range verrs {
					fmt.Fprintln(e.stdout, v.Error())
				}
				for _, b := range binds {
					if *unresolved && b.Kind != ldso.Unresolved {
						continue
					}
					fmt.Fprintln(e.stdout, formatBinding(&b))
				}
			}
			if failed {
				return exitFailure
			}
			return exitOK
		},
	})
}

// formatBinding writes one binding in LD_DEBUG=bindings' words.
func formatBinding(b *ldso.Binding) string {
	ver := ""
	if v := b.VersionName(); v != "" {
		ver = " [" + v + "]"
	}
	head := fmt.Sprintf("%s %s@%#x %s", b.From.Path, b.Table, b.Reloc.Offset, b.Reloc.Type)
	switch b.Kind {
	case ldso.BoundLookup, ldso.BoundLocal:
		kind := "normal"
		if b.Protected {
			kind = "protected"
		} else if b.Kind == ldso.BoundLocal {
			kind = "local"
		}
		abs := ""
		if b.Absolute {
			abs = " (absolute)"
		}
		return fmt.Sprintf("%s: %s symbol `%s'%s => %s value %#x%s", head, kind, b.Symbol, ver, b.Def.Object.Path, b.Value, abs)
	case ldso.BoundWeakZero:
		return fmt.Sprintf("%s: weak symbol `%s'%s undefined => 0", head, b.Symbol, ver)
	default:
		return fmt.Sprintf("%s: unresolved: %s", head, b.Reason)
	}
}
