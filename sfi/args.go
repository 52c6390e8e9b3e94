package sfi

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Mode is what a halite cc invocation produces.
type Mode uint8

// The modes of a gcc-style invocation.
const (
	ModeLink       Mode = iota // link a shared object (the default)
	ModeCompile                // -c: object files
	ModeAssemble               // -S: rewritten assembly
	ModePreprocess             // -E: preprocessed source (no rewriting)
)

// Input is one input file and its language: "c", "s" (assembly),
// "S" (assembly to preprocess) or "obj" (objects and libraries for the link).
type Input struct {
	Path string
	Lang string
}

// Invocation is a parsed gcc-style command line.
type Invocation struct {
	Mode   Mode
	Output string // -o, "" if absent
	Shared bool   // -shared was given (links always produce shared objects)
	Inputs []Input
	// CFlags go to every gcc compile or preprocess step, in order.
	CFlags []string
	// LinkArgs are -L, -l, -Wl and -Xlinker arguments plus object inputs in
	// command-line order (order matters for libraries).
	LinkArgs []string
	// Ignored lists flags accepted for compatibility and dropped (they would
	// break the sandbox rules), for -v output.
	Ignored []string
	Verbose bool
}

// withArg lists the flags whose value may be the next argument.
var withArg = map[string]bool{
	"-o": true, "-I": true, "-D": true, "-U": true, "-L": true, "-l": true,
	"-include": true, "-isystem": true, "-iquote": true, "-idirafter": true,
	"-imacros": true, "-MF": true, "-MT": true, "-MQ": true, "-x": true,
	"-Xlinker": true, "-isysroot": true, "--sysroot": true,
}

// dropped are flags that conflict with the sandbox's code generation; they
// are accepted and ignored (the sandbox's own flags win).
func dropped(a string) bool {
	for _, p := range []string{"-march=", "-mavx", "-mfma", "-mbmi", "-mtune=native", "-fstack-protector", "-fcf-protection", "-mindirect-branch", "-mfunction-return", "-fno-pic", "-fno-PIC", "-fno-pie", "-fno-PIE", "-static", "-pie", "-no-pie", "-rdynamic", "-mcmodel=", "-fsplit-stack", "-mred-zone", "-fomit-frame-pointer", "-fno-omit-frame-pointer"} {
		if strings.HasPrefix(a, p) {
			return true
		}
	}
	return false
}

// ParseArgs parses gcc-style arguments.
func ParseArgs(args []string) (*Invocation, error) {
	inv := &Invocation{}
	lang := ""
	sawS, sawC, sawE := false, false, false
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("%s needs an argument", a)
			}
			i++
			return args[i], nil
		}
		switch {
		case a == "-c":
			sawC = true
		case a == "-S":
			sawS = true
		case a == "-E":
			sawE = true
		case a == "-v":
			inv.Verbose = true
		case a == "-shared":
			inv.Shared = true
		case a == "-o":
			v, err := val()
			if err != nil {
				return nil, err
			}
			inv.Output = v
		case strings.HasPrefix(a, "-o") && len(a) > 2:
			inv.Output = a[2:]
		case a == "-x":
			v, err := val()
			if err != nil {
				return nil, err
			}
			lang = v
		case strings.HasPrefix(a, "-x") && len(a) > 2:
			lang = a[2:]
		case a == "-L" || a == "-l":
			v, err := val()
			if err != nil {
				return nil, err
			}
			inv.LinkArgs = append(inv.LinkArgs, a+v)
		case strings.HasPrefix(a, "-L") || strings.HasPrefix(a, "-l") || strings.HasPrefix(a, "-Wl,"):
			inv.LinkArgs = append(inv.LinkArgs, a)
		case a == "-Xlinker":
			v, err := val()
			if err != nil {
				return nil, err
			}
			inv.LinkArgs = append(inv.LinkArgs, "-Xlinker", v)
		case dropped(a):
			inv.Ignored = append(inv.Ignored, a)
		case a == "-pthread":
			inv.CFlags = append(inv.CFlags, a)
		case withArg[a]:
			v, err := val()
			if err != nil {
				return nil, err
			}
			inv.CFlags = append(inv.CFlags, a, v)
		case a == "-" || !strings.HasPrefix(a, "-"):
			if a == "-" {
				return nil, fmt.Errorf("reading the source from standard input is not supported")
			}
			l := lang
			if l == "" || l == "none" {
				l = langOf(a)
			} else {
				switch l {
				case "c":
				case "assembler":
					l = "s"
				case "assembler-with-cpp":
					l = "S"
				default:
					return nil, fmt.Errorf("%s: unsupported language -x %s", a, l)
				}
			}
			inv.Inputs = append(inv.Inputs, Input{Path: a, Lang: l})
			if l == "obj" {
				inv.LinkArgs = append(inv.LinkArgs, a)
			}
		default:
			inv.CFlags = append(inv.CFlags, a)
		}
	}
	switch {
	case sawE:
		inv.Mode = ModePreprocess
	case sawS:
		inv.Mode = ModeAssemble
	case sawC:
		inv.Mode = ModeCompile
	default:
		inv.Mode = ModeLink
	}
	if len(inv.Inputs) == 0 {
		return nil, fmt.Errorf("no input files")
	}
	if inv.Output != "" && inv.Mode != ModeLink && inv.Mode != ModePreprocess {
		n := 0
		for _, in := range inv.Inputs {
			if in.Lang != "obj" {
				n++
			}
		}
		if n > 1 {
			return nil, fmt.Errorf("-o with -c or -S and several inputs")
		}
	}
	return inv, nil
}

func langOf(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".c", ".i":
		return "c"
	case ".s":
		if filepath.Ext(path) == ".S" {
			return "S"
		}
		return "s"
	case ".sx":
		return "S"
	}
	return "obj"
}
