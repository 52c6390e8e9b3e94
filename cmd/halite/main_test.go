package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestDispatch(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{"no args", nil, exitUsage, "", "usage: halite COMMAND"},
		{"help", []string{"help"}, exitOK, "version", ""},
		{"help version", []string{"help", "version"}, exitOK, "usage: halite version", ""},
		{"help unknown", []string{"help", "nope"}, exitUsage, "", `unknown command "nope"`},
		{"unknown", []string{"nope"}, exitUsage, "", `unknown command "nope"`},
		{"version", []string{"version"}, exitOK, "halite ", ""},
		{"version extra", []string{"version", "x"}, exitUsage, "", "takes no arguments"},
		{"version -h", []string{"version", "-h"}, exitOK, "", "usage: halite version"},
		{"bad flag", []string{"version", "--bogus"}, exitUsage, "", "flag provided but not defined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tc.args, &out, &errb)
			if code != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.code, errb.String())
			}
			if !strings.Contains(out.String(), tc.inStdout) {
				t.Errorf("stdout %q lacks %q", out.String(), tc.inStdout)
			}
			if !strings.Contains(errb.String(), tc.inStderr) {
				t.Errorf("stderr %q lacks %q", errb.String(), tc.inStderr)
			}
		})
	}
}

// TestRawArgs: a rawArgs command gets its arguments unparsed (gcc-style
// flags such as -c would be unknown flags otherwise).
func TestRawArgs(t *testing.T) {
	var got []string
	register(&command{name: "rawtest", summary: "test", rawArgs: true, run: func(e *env, args []string) int {
		got = args
		return exitOK
	}})
	defer delete(commands, "rawtest")
	var out, errb bytes.Buffer
	if code := run([]string{"rawtest", "-c", "-O2", "x.c", "-o", "x.o"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if strings.Join(got, " ") != "-c -O2 x.c -o x.o" {
		t.Errorf("args %q", got)
	}
}
