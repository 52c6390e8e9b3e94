package main

import (
	"debug/elf"
	"encoding/json"
	"flag"
	"fmt"

	"halite/elfload"
)

// symInfo is one dynamic symbol as `halite syms` shows it.
type symInfo struct {
	Index      int    `json:"index"`
	Name       string `json:"name"`
	Version    string `json:"version,omitempty"`
	Hidden     bool   `json:"hidden,omitempty"` // name@VER rather than name@@VER
	Value      uint64 `json:"value"`
	Size       uint64 `json:"size"`
	Type       string `json:"type"`
	Bind       string `json:"bind"`
	Visibility string `json:"visibility"`
	Section    string `json:"section"`
	Defined    bool   `json:"defined"`
}

// dynSymbols lists d's dynamic symbols (without the null symbol) with
// their versions.
func dynSymbols(d *elfload.Dynamic) []symInfo {
	defs := map[uint16]string{}
	for _, v := range d.Verdefs {
		if v.Flags&1 == 0 { // not the base version
			defs[v.Index&0x7fff] = v.Name
		}
	}
	needs := map[uint16]string{}
	for _, n := range d.Verneeds {
		for _, a := range n.Aux {
			needs[a.Index&0x7fff] = a.Name
		}
	}
	var out []symInfo
	for i := 1; i < d.Symbols.Len(); i++ {
		s := d.Symbols.At(i)
		si := symInfo{Index: i, Name: s.Name, Value: s.Value, Size: s.Size,
			Type: trimPrefix(s.Type().String(), "STT_"), Bind: trimPrefix(s.Bind().String(), "STB_"),
			Visibility: trimPrefix(s.Visibility().String(), "STV_"), Defined: s.Section != elf.SHN_UNDEF}
		if s.Bind() == 10 {
			si.Bind = "GNU_UNIQUE"
		}
		switch s.Section {
		case elf.SHN_UNDEF:
			si.Section = "UND"
		case elf.SHN_ABS:
			si.Section = "ABS"
		case elf.SHN_COMMON:
			si.Section = "COM"
		default:
			si.Section = fmt.Sprint(uint16(s.Section))
		}
		if d.Versym != nil && i < len(d.Versym) {
			vs := d.Versym[i]
			ndx := vs & 0x7fff
			if n, ok := defs[ndx]; ok && si.Defined {
				si.Version, si.Hidden = n, vs&0x8000 != 0
			} else if n, ok := needs[ndx]; ok {
				si.Version = n
			}
		}
		out = append(out, si)
	}
	return out
}

func trimPrefix(s, p string) string {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

func init() {
	var jsonOut, defined, undefined *bool
	register(&command{
		name:    "syms",
		summary: "list a file's dynamic symbols with binding, type, visibility and version",
		usage:   "[--json] [--defined | --undefined] FILE",
		setup: func(fs *flag.FlagSet) {
			jsonOut = fs.Bool("json", false, "write JSON")
			defined = fs.Bool("defined", false, "only symbols the file defines")
			undefined = fs.Bool("undefined", false, "only symbols the file references")
		},
		run: func(e *env, args []string) int {
			if len(args) != 1 {
				return e.usageError("want exactly one FILE")
			}
			if *defined && *undefined {
				return e.usageError("--defined and --undefined exclude each other")
			}
			f, err := elfload.Open(args[0])
			if err != nil {
				e.errorf("%v", err)
				return exitFailure
			}
			defer f.Close()
			if f.Dynamic == nil {
				e.errorf("%s: no dynamic section (a static executable?)", args[0])
				return exitFailure
			}
			var list []symInfo
			for _, s := range dynSymbols(f.Dynamic) {
				if (*defined && !s.Defined) || (*undefined && s.Defined) {
					continue
				}
				list = append(list, s)
			}
			if *jsonOut {
				if list == nil {
					list = []symInfo{}
				}
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(list); err != nil {
					e.errorf("%v", err)
					return exitFailure
				}
				return exitOK
			}
			fmt.Fprintf(e.stdout, "%5s %-16s %6s %-7s %-10s %-9s %-4s %s\n", "NUM", "VALUE", "SIZE", "TYPE", "BIND", "VIS", "NDX", "NAME")
			for _, s := range list {
				name := s.Name
				switch {
				case s.Version == "":
				case !s.Defined:
					name += "@" + s.Version
				case s.Hidden:
					name += "@" + s.Version
				default:
					name += "@@" + s.Version
				}
				fmt.Fprintf(e.stdout, "%5d %016x %6d %-7s %-10s %-9s %-4s %s\n", s.Index, s.Value, s.Size, s.Type, s.Bind, s.Visibility, s.Section, name)
			}
			return exitOK
		},
	})
}
