package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"halite/elfload"
)

func init() {
	register(&command{
		name:    "elf",
		summary: "print the load plan and dynamic information of an ELF file (readelf-like)",
		usage:   "[--json] FILE",
		setup: func(fs *flag.FlagSet) {
			fs.Bool("json", false, "print the summary as JSON")
		},
		run: runELF,
	})
}

func runELF(e *env, args []string) int {
	if len(args) != 1 {
		return e.usageError("want exactly one FILE, got %d arguments", len(args))
	}
	f, err := elfload.Open(args[0])
	if err != nil {
		e.errorf("%v", err)
		return exitFailure
	}
	defer f.Close()
	s := summarize(args[0], f.Plan)
	if e.fs.Lookup("json").Value.(flag.Getter).Get().(bool) {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(s); err != nil {
			e.errorf("%v", err)
			return exitFailure
		}
		return exitOK
	}
	s.writeText(e.stdout)
	return exitOK
}

// elfSummary is what `halite elf` prints, as text or JSON.
type elfSummary struct {
	File       string       `json:"file"`
	Type       string       `json:"type"`
	OSABI      string       `json:"osabi"`
	Entry      uint64       `json:"entry"`
	Interp     string       `json:"interp,omitempty"`
	Segments   []segSummary `json:"segments"`
	Span       rangeJSON    `json:"span"`
	TLS        *tlsSummary  `json:"tls,omitempty"`
	RELRO      *rangeJSON   `json:"relro,omitempty"`
	GNUStack   bool         `json:"gnu_stack"`
	StackProt  string       `json:"stack_prot"`
	Properties *propSummary `json:"properties,omitempty"`
	Dynamic    *dynSummary  `json:"dynamic,omitempty"`
	Warnings   []string     `json:"warnings,omitempty"`
}

type rangeJSON struct {
	Start uint64 `json:"start"`
	End   uint64 `json:"end"`
}

type segSummary struct {
	Vaddr  uint64 `json:"vaddr"`
	Memsz  uint64 `json:"memsz"`
	Offset uint64 `json:"offset"`
	Filesz uint64 `json:"filesz"`
	BSS    uint64 `json:"bss"`
	Align  uint64 `json:"align"`
	Prot   string `json:"prot"`
	WX     bool   `json:"wx,omitempty"`
}

type tlsSummary struct {
	Vaddr  uint64 `json:"vaddr"`
	Memsz  uint64 `json:"memsz"`
	Filesz uint64 `json:"filesz"`
	Align  uint64 `json:"align"`
}

type propSummary struct {
	X86Feature1AND uint32 `json:"x86_feature_1_and"`
	X86ISANeeded   uint32 `json:"x86_isa_1_needed"`
	X86ISAUsed     uint32 `json:"x86_isa_1_used"`
	Count          int    `json:"count"`
}

type relocSummary struct {
	Count  int            `json:"count"`
	ByType map[string]int `json:"by_type,omitempty"`
}

type dynSummary struct {
	Needed       []string                 `json:"needed"`
	Soname       string                   `json:"soname,omitempty"`
	Rpath        *string                  `json:"rpath,omitempty"`
	Runpath      *string                  `json:"runpath,omitempty"`
	Flags        string                   `json:"flags,omitempty"`
	Flags1       string                   `json:"flags_1,omitempty"`
	TextRel      bool                     `json:"textrel"`
	BindNow      bool                     `json:"bind_now"`
	Init         uint64                   `json:"init,omitempty"`
	Fini         uint64                   `json:"fini,omitempty"`
	InitArray    int                      `json:"init_array"`
	FiniArray    int                      `json:"fini_array"`
	PreinitArray int                      `json:"preinit_array"`
	Symbols      int                      `json:"symbols"`
	Hash         []string                 `json:"hash"`
	Verdefs      int                      `json:"verdefs"`
	Verneeds     int                      `json:"verneeds"`
	Relocations  map[string]*relocSummary `json:"relocations"`
	RelaCount    int                      `json:"relacount"`
}

func summarize(path string, p *elfload.Plan) *elfSummary {
	s := &elfSummary{
		File:      path,
		Type:      p.Type.String(),
		OSABI:     p.OSABI.String(),
		Entry:     p.Entry,
		Interp:    p.Interp,
		Span:      rangeJSON{p.Span.Start, p.Span.End},
		GNUStack:  p.HasGNUStack,
		StackProt: p.StackProt.String(),
	}
	if p.OSABI == elfload.OSABINaCl {
		s.OSABI = "ELFOSABI_NACL"
	}
	for i, g := range p.Segments {
		wx := g.Prot&elfload.ProtWrite != 0 && g.Prot&elfload.ProtExec != 0
		s.Segments = append(s.Segments, segSummary{g.Vaddr, g.Memsz, g.Offset, g.Filesz, g.Memsz - g.Filesz, g.Align, g.Prot.String(), wx})
		if wx {
			s.Warnings = append(s.Warnings, fmt.Sprintf("segment %d at %#x is writable and executable (W+X)", i, g.Vaddr))
		}
	}
	if !p.HasGNUStack {
		s.StackProt = "rwx"
		s.Warnings = append(s.Warnings, "no PT_GNU_STACK: executable stack by default")
	} else if p.StackProt&elfload.ProtExec != 0 {
		s.Warnings = append(s.Warnings, "PT_GNU_STACK asks for an executable stack")
	}
	if t := p.TLS; t != nil {
		s.TLS = &tlsSummary{t.Vaddr, t.Memsz, t.Filesz, t.Align}
	}
	if r := p.RELRO; r != nil {
		s.RELRO = &rangeJSON{r.Start, r.End}
	}
	if pr := p.Properties; len(pr.Raw) > 0 {
		s.Properties = &propSummary{pr.X86Feature1AND, pr.X86ISANeeded, pr.X86ISAUsed, len(pr.Raw)}
	}
	d := p.Dynamic
	if d == nil {
		return s
	}
	ds := &dynSummary{
		Needed:       d.Needed,
		Soname:       d.Soname,
		TextRel:      d.TextRel,
		BindNow:      d.BindNow,
		Init:         d.Init,
		Fini:         d.Fini,
		InitArray:    int(d.InitArray.Len() / 8),
		FiniArray:    int(d.FiniArray.Len() / 8),
		PreinitArray: int(d.PreinitArray.Len() / 8),
		Symbols:      d.Symbols.Len(),
		Verdefs:      len(d.Verdefs),
		Verneeds:     len(d.Verneeds),
		RelaCount:    d.RelaCount,
		Relocations:  map[string]*relocSummary{},
	}
	if ds.Needed == nil {
		ds.Needed = []string{}
	}
	if d.HasRpath {
		ds.Rpath = &d.Rpath
	}
	if d.HasRunpath {
		ds.Runpath = &d.Runpath
	}
	if d.Flags != 0 {
		ds.Flags = d.Flags.String()
	}
	if d.Flags1 != 0 {
		ds.Flags1 = d.Flags1.String()
	}
	ds.Hash = []string{}
	if d.SysVHash != nil {
		ds.Hash = append(ds.Hash, "sysv")
	}
	if d.GNUHash != nil {
		ds.Hash = append(ds.Hash, "gnu")
	}
	for name, t := range map[string]elfload.RelocTable{"rela": d.Rela, "jmprel": d.JmpRel} {
		rs := &relocSummary{Count: t.Len(), ByType: map[string]int{}}
		for i := range t.Len() {
			rs.ByType[t.At(i).Type.String()]++
		}
		ds.Relocations[name] = rs
	}
	ds.Relocations["relr"] = &relocSummary{Count: len(d.RELR)}
	if d.TextRel {
		s.Warnings = append(s.Warnings, "text relocations (DT_TEXTREL): code is written at load time")
	}
	s.Dynamic = ds
	return s
}

func (s *elfSummary) writeText(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("File:       %s\n", s.File)
	p("Type:       %s  OS/ABI %s  entry %#x\n", s.Type, s.OSABI, s.Entry)
	if s.Interp != "" {
		p("Interp:     %s\n", s.Interp)
	}
	p("Span:       [%#x, %#x) %d KiB\n", s.Span.Start, s.Span.End, (s.Span.End-s.Span.Start)/1024)
	p("Segments:   PT_LOAD\n")
	p("  %-3s %-18s %-10s %-10s %-10s %-10s %-8s %s\n", "#", "vaddr", "memsz", "offset", "filesz", "bss", "align", "prot")
	for i, g := range s.Segments {
		flag := ""
		if g.WX {
			flag = "  W+X!"
		}
		p("  %-3d %#-18x %#-10x %#-10x %#-10x %#-10x %#-8x %s%s\n", i, g.Vaddr, g.Memsz, g.Offset, g.Filesz, g.BSS, g.Align, g.Prot, flag)
	}
	if t := s.TLS; t != nil {
		p("TLS:        vaddr %#x memsz %#x filesz %#x align %#x\n", t.Vaddr, t.Memsz, t.Filesz, t.Align)
	}
	if r := s.RELRO; r != nil {
		p("RELRO:      [%#x, %#x)\n", r.Start, r.End)
	}
	if s.GNUStack {
		p("GNU stack:  %s\n", s.StackProt)
	} else {
		p("GNU stack:  absent (executable stack)\n")
	}
	if pr := s.Properties; pr != nil {
		p("Properties: %d, x86 ISA needed %#x, used %#x, feature_1_and %#x\n", pr.Count, pr.X86ISANeeded, pr.X86ISAUsed, pr.X86Feature1AND)
	}
	if d := s.Dynamic; d != nil {
		p("Dynamic:\n")
		p("  Needed:   %s\n", strings.Join(d.Needed, ", "))
		if d.Soname != "" {
			p("  Soname:   %s\n", d.Soname)
		}
		if d.Rpath != nil {
			p("  Rpath:    %s\n", *d.Rpath)
		}
		if d.Runpath != nil {
			p("  Runpath:  %s\n", *d.Runpath)
		}
		if d.Flags != "" || d.Flags1 != "" {
			p("  Flags:    %s\n", strings.TrimSpace(d.Flags+" "+d.Flags1))
		}
		p("  Bind now: %v  Textrel: %v\n", d.BindNow, d.TextRel)
		p("  Init:     %#x  Fini: %#x  init_array %d  fini_array %d  preinit_array %d\n", d.Init, d.Fini, d.InitArray, d.FiniArray, d.PreinitArray)
		p("  Symbols:  %d (hash: %s), %d version definitions, %d files with version needs\n", d.Symbols, strings.Join(d.Hash, "+"), d.Verdefs, d.Verneeds)
		p("  Relocations:\n")
		for _, name := range []string{"rela", "jmprel", "relr"} {
			r := d.Relocations[name]
			extra := ""
			if name == "rela" && d.RelaCount > 0 {
				extra = fmt.Sprintf(" (DT_RELACOUNT %d)", d.RelaCount)
			}
			p("    %-7s %d%s\n", name, r.Count, extra)
			for _, typ := range slices.Sorted(maps.Keys(r.ByType)) {
				p("      %-26s %d\n", typ, r.ByType[typ])
			}
		}
	}
	for _, wmsg := range s.Warnings {
		p("WARNING:    %s\n", wmsg)
	}
}
