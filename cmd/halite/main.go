// Command halite inspects, validates, builds and runs native x86-64 code for
// the halite SFI sandbox.
//
// Every subcommand lives in a file of its own in this directory and
// registers itself from an init function; main only dispatches. Exit codes
// are shared by all subcommands: 0 success, 1 failure (an invalid file, a
// missing dependency, a fault), 2 usage errors.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Exit codes shared by every subcommand.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// command is one subcommand of halite.
type command struct {
	name    string
	summary string // one line for `halite help`
	usage   string // the argument synopsis, e.g. "[--json] FILE"
	// setup declares the subcommand's flags on fs; it may be nil.
	setup func(fs *flag.FlagSet)
	// rawArgs passes every argument to run unparsed (for `halite cc`, whose
	// arguments are gcc's); `halite help CMD` still prints its usage.
	rawArgs bool
	// run executes the subcommand with the arguments left after flag
	// parsing and returns the exit code.
	run func(env *env, args []string) int
}

// env is what a subcommand may touch: its output streams and parsed flags.
type env struct {
	stdout, stderr io.Writer
	fs             *flag.FlagSet
}

// errorf prints one clear error line, prefixed with the command name.
func (e *env) errorf(format string, args ...any) {
	fmt.Fprintf(e.stderr, "halite %s: %s\n", e.fs.Name(), fmt.Sprintf(format, args...))
}

// usageError reports a usage problem and returns exitUsage.
func (e *env) usageError(format string, args ...any) int {
	e.errorf(format, args...)
	fmt.Fprintf(e.stderr, "run 'halite help %s' for usage\n", e.fs.Name())
	return exitUsage
}

var commands = map[string]*command{}

// register adds c to the command table; it is called from init functions.
func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("halite: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches args to a subcommand and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printHelp(stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			printHelp(stdout)
			return exitOK
		}
		c, ok := commands[rest[0]]
		if !ok {
			fmt.Fprintf(stderr, "halite help: unknown command %q\n", rest[0])
			return exitUsage
		}
		fs := newFlagSet(c, stdout)
		fs.Usage()
		return exitOK
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "halite: unknown command %q\n", name)
		printHelp(stderr)
		return exitUsage
	}
	fs := newFlagSet(c, stderr)
	if c.rawArgs {
		return c.run(&env{stdout: stdout, stderr: stderr, fs: fs}, rest)
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	return c.run(&env{stdout: stdout, stderr: stderr, fs: fs}, fs.Args())
}

func newFlagSet(c *command, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(out)
	if c.setup != nil {
		c.setup(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(out, "usage: halite %s %s\n\n%s\n", c.name, c.usage, c.summary)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(out, "\nflags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "halite: a sandbox for native x86-64 code\n\nusage: halite COMMAND [flags] [args]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nrun 'halite help COMMAND' or 'halite COMMAND -h' for a command's flags")
}

// version is set at link time with -ldflags "-X main.version=..."; builds
// without it report the module's build information.
var version = ""

func init() {
	register(&command{
		name:    "version",
		summary: "print halite's version",
		usage:   "",
		run: func(e *env, args []string) int {
			if len(args) != 0 {
				return e.usageError("takes no arguments")
			}
			fmt.Fprintf(e.stdout, "halite %s\n", versionString())
			return exitOK
		},
	})
}

func versionString() string {
	if version != "" {
		return version
	}
	v := "devel"
	if bi, ok := readBuildInfo(); ok {
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if rev != "" {
			if len(rev) > 12 {
				rev = rev[:12]
			}
			v += " " + rev + dirty
		}
		v += " " + strings.TrimPrefix(bi.GoVersion, "go")
	}
	return v
}
