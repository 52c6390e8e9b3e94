package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// TestDemo runs halite demo end to end (build with halite cc, load, call)
// in a temporary cache directory and checks each section of its report.
func TestDemo(t *testing.T) {
	for _, tool := range []string{"gcc", "as", "ld"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	dir := t.TempDir()
	t.Setenv("HALITE_CACHE", dir)
	var out, errb bytes.Buffer
	if code := run([]string{"demo"}, &out, &errb); code != exitOK {
		if strings.Contains(errb.String(), "sandbox") && strings.Contains(errb.String(), "reserv") {
			t.Skipf("no sandbox on this machine: %s", errb.String())
		}
		t.Fatalf("halite demo: exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	got := out.String()
	for _, want := range []string{
		"== building with halite cc in " + dir + "/demo\n",
		"   libgreet.so     segment 1 r-x at ",
		"   ext.so          segment 1 r-x at ",
		"   libhalite.so    runtime object (SFI assembly): ",
		"   1. ext.so       base ",
		"   2. libgreet.so  base ",
		"TLS module 1 (8 bytes, 8 initialised)",
		"binding file ext.so [0] to libgreet.so [0]: normal symbol `greet_next'",
		"binding file libgreet.so [0] to libhalite.so [0]: normal symbol `halite_syscall'",
		"   | libgreet: constructor ran\n   | ext: hello from inside the sandbox\n",
		"   | ext: greet_next() = 41\n   | ext: greet_next() = 42\n   | ext: greet_count (TLS, this thread) = 42\n",
		"   | ext: read from the VFS: a file on the host, mounted read-only at /demo\n",
		"   | ext: dladdr(greet_next) -> greet_next in libgreet.so\n",
		"   | ext: dlerror() after a failed dlsym: ext.so: undefined symbol: no_such_function\n",
		"== ext_main() returned 83 ",
		"== dlclose: 0 objects loaded (2 loaded, 2 unloaded in all)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "INVALID") {
		t.Errorf("a module did not validate:\n%s", got)
	}
	if code := run([]string{"demo", "extra"}, &out, &errb); code != exitUsage {
		t.Errorf("halite demo extra: exit %d, want %d", code, exitUsage)
	}
}
