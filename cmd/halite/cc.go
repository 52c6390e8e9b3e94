package main

import (
	"fmt"
	"io"
	"strings"

	"halite/sfi"
)

// halite cc takes gcc's arguments verbatim (-c, -o, -I..., -Wl,...), which
// the shared flag parsing of main would reject; so it is dispatched here,
// before main runs, when it is the first argument. It is still registered
// for `halite help`.
func init() {
	register(&command{
		name:    "cc",
		summary: "compile C and assembly into validated sandbox modules (gcc-compatible)",
		usage:   "[gcc arguments: -c -S -E -o -shared -I -D -U -O -g -f -W -Wl, -L -l] FILES...",
		rawArgs: true,
		run: func(e *env, args []string) int {
			return runCC(args, e.stdout, e.stderr)
		},
	})
}

// runCC runs one halite cc invocation and returns the exit code.
func runCC(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "halite cc: no input files")
		return exitUsage
	}
	if len(args) == 1 && args[0] == "--print-sandbox-flags" {
		fmt.Fprintln(stdout, strings.Join(sfi.SandboxFlags, " "))
		return exitOK
	}
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			fmt.Fprintln(stdout, "usage: halite cc [gcc arguments] FILES...\n\nCompiles C (.c) and assembly (.s, .S) with gcc into code that follows the\nhalite SFI rules, links shared objects (links always produce shared objects,\nwithout start files), and validates everything it writes.")
			return exitOK
		}
	}
	if err := sfi.Run(sfi.Config{Stdout: stdout, Stderr: stderr, Check: ccChecker()}, args); err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailure
	}
	return exitOK
}

// ccChecker is the validator run on everything halite cc produces.
func ccChecker() sfi.Checker {
	return sfi.ValidatorChecker()
}
