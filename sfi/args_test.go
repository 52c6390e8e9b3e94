package sfi

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	inv, err := ParseArgs([]string{"-O2", "-g", "-Wall", "-I", "inc", "-Iinc2", "-DX=1", "-UY", "-fno-strict-aliasing",
		"-march=native", "-c", "a.c", "b.S", "c.s", "-o", "out.o", "-MD", "-MF", "x.d"})
	if err == nil {
		t.Fatalf("-o with -c and several inputs: no error (%+v)", inv)
	}
	inv, err = ParseArgs([]string{"-O2", "-g", "-I", "inc", "-Iinc2", "-DX=1", "-UY", "-march=native", "-ftls-model=initial-exec", "-shared",
		"-o", "lib.so", "a.c", "b.S", "c.s", "d.o", "-L/lib", "-l", "m", "-Wl,-soname,lib.so", "e.a", "-x", "c", "f.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if inv.Mode != ModeLink || !inv.Shared || inv.Output != "lib.so" {
		t.Errorf("mode %v shared %v output %q", inv.Mode, inv.Shared, inv.Output)
	}
	wantIn := []Input{{"a.c", "c"}, {"b.S", "S"}, {"c.s", "s"}, {"d.o", "obj"}, {"e.a", "obj"}, {"f.txt", "c"}}
	if !reflect.DeepEqual(inv.Inputs, wantIn) {
		t.Errorf("inputs %+v, want %+v", inv.Inputs, wantIn)
	}
	wantC := []string{"-O2", "-g", "-I", "inc", "-Iinc2", "-DX=1", "-UY", "-ftls-model=initial-exec"}
	if !reflect.DeepEqual(inv.CFlags, wantC) {
		t.Errorf("cflags %q, want %q", inv.CFlags, wantC)
	}
	wantL := []string{"d.o", "-L/lib", "-lm", "-Wl,-soname,lib.so", "e.a"}
	if !reflect.DeepEqual(inv.LinkArgs, wantL) {
		t.Errorf("link args %q, want %q", inv.LinkArgs, wantL)
	}
	if !reflect.DeepEqual(inv.Ignored, []string{"-march=native"}) {
		t.Errorf("ignored %q", inv.Ignored)
	}
	for _, bad := range [][]string{{}, {"-o"}, {"-c", "-"}, {"-x", "fortran", "a.f"}} {
		if _, err := ParseArgs(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	for _, tc := range []struct {
		args []string
		mode Mode
	}{{[]string{"-c", "a.c"}, ModeCompile}, {[]string{"-S", "a.c"}, ModeAssemble}, {[]string{"-E", "a.c"}, ModePreprocess}} {
		inv, err := ParseArgs(tc.args)
		if err != nil || inv.Mode != tc.mode {
			t.Errorf("%q: mode %v err %v", tc.args, inv.Mode, err)
		}
	}
}

func TestDepFlags(t *testing.T) {
	if got := depFlags([]string{"-O2"}, "a.o"); got != nil {
		t.Errorf("no -MD: %q", got)
	}
	if got, want := depFlags([]string{"-MMD"}, "obj/a.o"), []string{"-MT", "obj/a.o", "-MF", "obj/a.d"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q want %q", got, want)
	}
	if got := depFlags([]string{"-MD", "-MT", "x", "-MF", "y"}, "a.o"); got != nil {
		t.Errorf("user -MT/-MF: %q", got)
	}
}

// FuzzParseArgs: any argument vector (NUL-separated) is parsed or refused
// with an error, never a panic; a parsed one has inputs taken from the
// arguments, each with a known language, and a mode.
func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{
		"-O2\x00-c\x00a.c\x00-o\x00a.o",
		"-shared\x00-o\x00lib.so\x00a.c\x00b.S\x00c.s\x00d.o\x00-lm\x00-Wl,-soname,x",
		"-x\x00assembler-with-cpp\x00a.txt\x00-x\x00none\x00b.c",
		"-ftls-model=initial-exec\x00-march=native\x00-E\x00a.c",
		"-o", "-", "-x\x00fortran\x00a.f", "-MD\x00-MF\x00d\x00-S\x00a.c\x00b.c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\x00")
		inv, err := ParseArgs(args)
		if err != nil {
			if inv != nil {
				t.Fatalf("%q: error %v with a result", args, err)
			}
			return
		}
		if len(inv.Inputs) == 0 {
			t.Fatalf("%q: parsed with no inputs", args)
		}
		seen := map[string]bool{}
		for _, a := range args {
			seen[a] = true
		}
		for _, in := range inv.Inputs {
			if !seen[in.Path] {
				t.Fatalf("%q: input %q is not an argument", args, in.Path)
			}
			switch in.Lang {
			case "c", "s", "S", "obj":
			default:
				t.Fatalf("%q: input %q has language %q", args, in.Path, in.Lang)
			}
		}
		if inv.Mode != ModeLink && inv.Mode != ModeCompile && inv.Mode != ModeAssemble && inv.Mode != ModePreprocess {
			t.Fatalf("%q: mode %v", args, inv.Mode)
		}
	})
}
