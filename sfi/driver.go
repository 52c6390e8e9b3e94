package sfi

import (
	"bytes"
	"debug/dwarf"
	"debug/elf"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

//go:embed support/support.c
var supportSource []byte

// SandboxFlags are the gcc flags every C compile gets, after the user's own
// (so they win): reserved base (%r15) and scratch (%r11) registers, %rbp
// reserved for the frame pointer (so it always holds a sandbox address),
// no red zone (the rewriter pushes), calls through the GOT instead of a PLT,
// no function, loop or jump alignment (the rewriter aligns every function
// or label that can be an indirect-branch target to a bundle; the validator
// requires nothing of the others, and gcc's 16-byte alignment inside 32-byte
// bundles cost 3.4% of SQLite's code), TLS without direct %fs references (gcc's
// default TLS models: the rewriter handles the __tls_get_addr sequences),
// no CET, no stack protector, SSE2 baseline only. Semantic interposition
// stays on, as in gcc's default: a module's calls to its own exported
// functions go through the GOT so that an earlier definition can interpose.
var SandboxFlags = []string{
	"-fPIC", "-ffixed-r15", "-ffixed-r11", "-ffixed-rbp", "-mno-red-zone", "-fno-plt",
	"-falign-functions=1", "-falign-jumps=1", "-falign-loops=1", "-falign-labels=1",
	"-mno-tls-direct-seg-refs",
	"-fcf-protection=none", "-fno-stack-protector", "-march=x86-64", "-mno-avx",
	"-fno-stack-clash-protection",
	"-fasynchronous-unwind-tables",
}

// Violation is one validator finding in code that halite cc produced.
type Violation struct {
	Addr    uint64 // address (ELF vaddr, or section offset for objects)
	Rule    string
	Message string
	Disasm  string
}

// Checker validates one executable region placed at base (32-aligned, the
// length a multiple of 32) and returns its violations.
type Checker func(code []byte, base uint64) []Violation

// Config holds the tools and the validator a Driver uses.
type Config struct {
	Stdout, Stderr io.Writer
	GCC, AS        string // default "gcc", "as"
	Check          Checker
	// TempDir holds intermediate files; "" means a fresh os.MkdirTemp.
	TempDir string
}

// Driver runs one halite cc invocation.
type Driver struct {
	cfg  Config
	inv  *Invocation
	tmp  string
	ntmp int
}

// ToolchainError is a failure of halite cc itself: its output did not
// validate. It is always a bug in the rewriter.
type ToolchainError struct {
	File       string
	Violations []string
	// Foreign lists link inputs halite cc did not build in this run (objects
	// and libraries given on the command line): they may be the cause.
	Foreign []string
}

func (e *ToolchainError) Error() string {
	s := fmt.Sprintf("halite cc: TOOLCHAIN BUG: %s does not validate (%d violations):\n  %s",
		e.File, len(e.Violations), strings.Join(e.Violations, "\n  "))
	if len(e.Foreign) > 0 {
		s += "\n(unless the code comes from inputs not built by halite cc: " + strings.Join(e.Foreign, " ") + ")"
	}
	return s
}

// Run executes the invocation described by args (gcc-style).
func Run(cfg Config, args []string) error {
	inv, err := ParseArgs(args)
	if err != nil {
		return err
	}
	if cfg.GCC == "" {
		cfg.GCC = "gcc"
	}
	if cfg.AS == "" {
		cfg.AS = "as"
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.Stderr == nil {
		cfg.Stderr = io.Discard
	}
	if cfg.Check == nil && inv.Mode != ModePreprocess && inv.Mode != ModeAssemble {
		return errors.New("halite cc: no validator configured")
	}
	d := &Driver{cfg: cfg, inv: inv}
	if cfg.TempDir != "" {
		d.tmp = cfg.TempDir
	} else {
		d.tmp, err = os.MkdirTemp("", "halite-cc-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d.tmp)
	}
	if err := d.addHaliteInclude(); err != nil {
		return err
	}
	return d.run()
}

func (d *Driver) tempName(base, ext string) string {
	d.ntmp++
	b := strings.TrimSuffix(filepath.Base(base), filepath.Ext(base))
	return filepath.Join(d.tmp, fmt.Sprintf("%d-%s%s", d.ntmp, b, ext))
}

func (d *Driver) command(name string, args ...string) error {
	if d.inv.Verbose {
		fmt.Fprintf(d.cfg.Stderr, "halite cc: %s %s\n", name, strings.Join(args, " "))
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout = d.cfg.Stdout
	cmd.Stderr = d.cfg.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("halite cc: %s failed: %v", filepath.Base(name), err)
	}
	return nil
}

// quietCommand runs a command and shows its stderr only when it fails
// without an internal compiler error; ice reports such an error.
func (d *Driver) quietCommand(name string, args ...string) (ice bool, err error) {
	if d.inv.Verbose {
		fmt.Fprintf(d.cfg.Stderr, "halite cc: %s %s\n", name, strings.Join(args, " "))
	}
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stdout = d.cfg.Stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if bytes.Contains(stderr.Bytes(), []byte("internal compiler error")) {
			return true, err
		}
		d.cfg.Stderr.Write(stderr.Bytes())
		return false, fmt.Errorf("halite cc: %s failed: %v", filepath.Base(name), err)
	}
	d.cfg.Stderr.Write(stderr.Bytes())
	return false, nil
}

func (d *Driver) run() error {
	inv := d.inv
	if inv.Mode == ModePreprocess {
		for _, in := range inv.Inputs {
			args := append([]string{"-E"}, inv.CFlags...)
			if inv.Output != "" {
				args = append(args, "-o", inv.Output)
			}
			if in.Lang == "S" {
				args = append(args, "-x", "assembler-with-cpp")
			}
			if err := d.command(d.cfg.GCC, append(args, in.Path)...); err != nil {
				return err
			}
		}
		return nil
	}
	var objs []string
	objFor := map[string]string{}
	for _, in := range inv.Inputs {
		if in.Lang == "obj" {
			continue
		}
		// The file this input finally becomes (for dependency output).
		final := inv.Output
		if inv.Mode == ModeLink || final == "" {
			ext := ".o"
			if inv.Mode == ModeAssemble {
				ext = ".s"
			}
			final = strings.TrimSuffix(filepath.Base(in.Path), filepath.Ext(in.Path)) + ext
		}
		s, err := d.toAssembly(in, final)
		if err != nil {
			return err
		}
		if inv.Mode == ModeAssemble {
			if err := os.WriteFile(final, s, 0o644); err != nil {
				return err
			}
			continue
		}
		obj := d.tempName(in.Path, ".o")
		if inv.Mode == ModeCompile {
			obj = final
		}
		if err := d.assemble(s, in.Path, obj); err != nil {
			return err
		}
		if err := d.checkFile(obj); err != nil {
			if inv.Mode == ModeCompile {
				os.Remove(obj)
			}
			return err
		}
		objs = append(objs, obj)
		objFor[in.Path] = obj
	}
	if inv.Mode != ModeLink {
		return nil
	}
	support, err := d.supportArchive()
	if err != nil {
		return err
	}
	out := inv.Output
	if out == "" {
		out = "a.out"
	}
	args := []string{"-shared", "-nostartfiles", "-nostdlib", "-Wl,-z,now", "-Wl,-z,noexecstack",
		"-Wl,-z,separate-code", "-Wl,--hash-style=gnu", "-Wl,--no-undefined-version", "-o", out}
	// Inputs in command-line order: compiled objects where their sources
	// were, plus the pass-through link arguments.
	for _, in := range inv.Inputs {
		if o, ok := objFor[in.Path]; ok {
			args = append(args, o)
		}
	}
	args = append(args, inv.LinkArgs...)
	args = append(args, support)
	if err := d.command(d.cfg.GCC, args...); err != nil {
		return err
	}
	if err := d.checkFile(out); err != nil {
		var te *ToolchainError
		if errors.As(err, &te) {
			for _, in := range inv.Inputs {
				if in.Lang == "obj" {
					te.Foreign = append(te.Foreign, in.Path)
				}
			}
		}
		os.Remove(out)
		return err
	}
	return nil
}

// toAssembly produces the rewritten assembly for one source input.
func (d *Driver) toAssembly(in Input, final string) ([]byte, error) {
	inv := d.inv
	var src []byte
	switch in.Lang {
	case "c":
		s := d.tempName(in.Path, ".s")
		args := append([]string{}, inv.CFlags...)
		args = append(args, depFlags(inv.CFlags, final)...)
		args = append(args, SandboxFlags...)
		args = append(args, "-S", "-o", s, "-x", "c", in.Path)
		if ice, err := d.quietCommand(d.cfg.GCC, args...); err != nil {
			if !ice {
				return nil, err
			}
			// gcc 12 can fail an internal check when it must realign the
			// stack with %rbp reserved; keep the frame pointer in every
			// function instead (%rbp then still always holds a stack
			// address).
			for i, a := range args {
				if a == "-ffixed-rbp" {
					args[i] = "-fno-omit-frame-pointer"
				}
			}
			if err := d.command(d.cfg.GCC, args...); err != nil {
				return nil, err
			}
		}
		b, err := os.ReadFile(s)
		if err != nil {
			return nil, err
		}
		src = b
	case "S":
		s := d.tempName(in.Path, ".s")
		args := append([]string{"-E"}, inv.CFlags...)
		args = append(args, depFlags(inv.CFlags, final)...)
		args = append(args, "-o", s, "-x", "assembler-with-cpp", in.Path)
		if err := d.command(d.cfg.GCC, args...); err != nil {
			return nil, err
		}
		b, err := os.ReadFile(s)
		if err != nil {
			return nil, err
		}
		src = b
	case "s":
		b, err := os.ReadFile(in.Path)
		if err != nil {
			return nil, err
		}
		src = b
	default:
		return nil, fmt.Errorf("%s: not a source file", in.Path)
	}
	name := in.Path
	if in.Lang != "s" {
		name += " (as assembly)"
	}
	out, err := Rewrite(src, name)
	if err != nil {
		return nil, fmt.Errorf("halite cc: %s: cannot make this code safe for the sandbox:\n%v", in.Path, err)
	}
	return out, nil
}

func (d *Driver) assemble(s []byte, name, obj string) error {
	sf := d.tempName(name, ".sfi.s")
	if err := os.WriteFile(sf, s, 0o644); err != nil {
		return err
	}
	return d.command(d.cfg.AS, "--64", "-o", obj, sf)
}

// depFlags makes -MD/-MMD dependency output name the final output (the
// compile itself writes a temporary .s): a target (-MT) and a file (-MF)
// unless the user gave them.
func depFlags(cflags []string, final string) []string {
	md, mt, mf := false, false, false
	for _, f := range cflags {
		switch f {
		case "-MD", "-MMD":
			md = true
		case "-MT", "-MQ":
			mt = true
		case "-MF":
			mf = true
		}
	}
	if !md {
		return nil
	}
	var out []string
	if !mt {
		out = append(out, "-MT", final)
	}
	if !mf {
		out = append(out, "-MF", strings.TrimSuffix(final, filepath.Ext(final))+".d")
	}
	return out
}

// supportArchive builds libhalite_support.a (memcpy, memmove, memset,
// memcmp) through the same pipeline as user code.
func (d *Driver) supportArchive() (string, error) {
	src := filepath.Join(d.tmp, "halite_support.c")
	if err := os.WriteFile(src, supportSource, 0o644); err != nil {
		return "", err
	}
	saved := d.inv
	d.inv = &Invocation{Mode: ModeCompile, CFlags: []string{"-O2", "-ffreestanding", "-fno-builtin", "-fno-tree-loop-distribute-patterns"}, Verbose: saved.Verbose}
	defer func() { d.inv = saved }()
	s, err := d.toAssembly(Input{Path: src, Lang: "c"}, "halite_support.o")
	if err != nil {
		return "", err
	}
	obj := filepath.Join(d.tmp, "halite_support.o")
	if err := d.assemble(s, src, obj); err != nil {
		return "", err
	}
	if err := d.checkFile(obj); err != nil {
		return "", err
	}
	lib := filepath.Join(d.tmp, "libhalite_support.a")
	os.Remove(lib)
	if err := d.command("ar", "rcs", lib, obj); err != nil {
		return "", err
	}
	return lib, nil
}

// checkFile validates every executable section (objects) or executable
// segment (shared objects) of an ELF file.
func (d *Driver) checkFile(path string) error {
	regions, err := CodeRegions(path)
	if err != nil {
		return err
	}
	var msgs []string
	f, _ := elf.Open(path)
	if f != nil {
		defer f.Close()
	}
	for _, rg := range regions {
		for _, v := range d.cfg.Check(rg.Code, rg.Base) {
			where := fmt.Sprintf("%s+%#x", rg.Name, v.Addr-rg.Base)
			if f != nil {
				where += describeAddr(f, rg, v.Addr)
			}
			msgs = append(msgs, fmt.Sprintf("%s: %s: %s [%s]", where, v.Rule, v.Message, v.Disasm))
			if len(msgs) >= 50 {
				break
			}
		}
	}
	if len(msgs) > 0 {
		return &ToolchainError{File: path, Violations: msgs}
	}
	return nil
}

// Region is one executable region of an ELF file as the validator sees it.
type Region struct {
	Name string // section name, or "segment N"
	Base uint64
	Code []byte // padded with hlt to a multiple of 32
	// Section index for objects (symbol lookup), -1 for segments.
	Section int
}

// CodeRegions returns the executable regions of an ELF object or shared
// object, padded with hlt (0xf4) to whole bundles.
func CodeRegions(path string) ([]Region, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Region
	pad := func(b []byte) []byte {
		for len(b)%32 != 0 {
			b = append(b, 0xf4)
		}
		return b
	}
	if f.Type == elf.ET_REL {
		for i, s := range f.Sections {
			if s.Flags&elf.SHF_EXECINSTR == 0 || s.Type != elf.SHT_PROGBITS || s.Size == 0 {
				continue
			}
			b, err := s.Data()
			if err != nil {
				return nil, fmt.Errorf("%s: section %s: %v", path, s.Name, err)
			}
			out = append(out, Region{Name: s.Name, Base: 0, Code: pad(b), Section: i})
		}
		return out, nil
	}
	for i, p := range f.Progs {
		if p.Type != elf.PT_LOAD || p.Flags&elf.PF_X == 0 {
			continue
		}
		if p.Vaddr%32 != 0 {
			return nil, fmt.Errorf("%s: executable segment %d at %#x is not 32-byte aligned", path, i, p.Vaddr)
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			return nil, fmt.Errorf("%s: segment %d: %v", path, i, err)
		}
		out = append(out, Region{Name: fmt.Sprintf("segment %d", i), Base: p.Vaddr, Code: pad(b), Section: -1})
	}
	return out, nil
}

// describeAddr names the function (and the source line, when the file has
// DWARF line information) that holds addr.
func describeAddr(f *elf.File, rg Region, addr uint64) string {
	syms, _ := f.Symbols()
	best := ""
	var bestVal uint64
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC {
			continue
		}
		if rg.Section >= 0 && int(s.Section) != rg.Section {
			continue
		}
		if s.Value <= addr && (best == "" || s.Value > bestVal) {
			best, bestVal = s.Name, s.Value
		}
	}
	out := ""
	if best != "" {
		out = fmt.Sprintf(" (%s+%#x)", best, addr-bestVal)
	}
	if rg.Section < 0 {
		if dw, err := f.DWARF(); err == nil {
			if line := lineFor(dw, addr); line != "" {
				out += " at " + line
			}
		}
	}
	return out
}

func lineFor(dw *dwarf.Data, addr uint64) string {
	r := dw.Reader()
	for {
		e, err := r.Next()
		if err != nil || e == nil {
			return ""
		}
		if e.Tag != dwarf.TagCompileUnit {
			r.SkipChildren()
			continue
		}
		lr, err := dw.LineReader(e)
		if err != nil || lr == nil {
			continue
		}
		var le dwarf.LineEntry
		if err := lr.SeekPC(addr, &le); err == nil {
			return fmt.Sprintf("%s:%d", le.File.Name, le.Line)
		}
	}
}
