package conformance

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Env is what a backend written in Go (halite's) provides to run a
// scenario's operations with Interpret: the dl* calls of one process (one
// sandbox) and its threads. Handles and addresses are opaque values compared
// only for identity. thread is "" for the main thread or a name given to
// StartThread; every call must run on that thread (TLS results depend on it).
//
// An error of type *DLError is a dlerror()-style failure and goes into the
// log as "error: MSG"; any other error aborts the scenario as a failure of
// the backend itself.
type Env interface {
	// Open is dlopen(path, flags) called from the main program; path ""
	// is dlopen(NULL). (0, nil) is a NULL result without a message.
	Open(thread, path string, flags int) (handle uint64, err error)
	// Sym is dlsym (version "") or dlvsym on handle, or on RTLD_DEFAULT /
	// RTLD_NEXT (from the main program) when scope says so.
	Sym(thread string, scope Scope, handle uint64, name, version string) (addr uint64, err error)
	// Close is dlclose.
	Close(thread string, handle uint64) error
	// Call calls addr as long (*)(void).
	Call(thread string, addr uint64) (int64, error)
	// Read and Write access the long at addr.
	Read(thread string, addr uint64) (int64, error)
	Write(thread string, addr uint64, v int64) error
	// StartThread and JoinThread create and end a scenario thread.
	StartThread(name string) error
	JoinThread(name string) error
	// Exit ends the process the way exit(0) does: destructors of what is
	// still loaded run (and log) in glibc's order.
	Exit() error
}

// Scope says what Env.Sym searches.
type Scope uint8

// The scopes of a symbol lookup.
const (
	ScopeHandle  Scope = iota // the handle and its dependencies
	ScopeDefault              // RTLD_DEFAULT
	ScopeNext                 // RTLD_NEXT from the main program
)

// DLError is a dl* failure with dlerror()'s message.
type DLError struct{ Msg string }

func (e *DLError) Error() string { return e.Msg }

// Log collects a scenario's log lines from several goroutines, in order.
// Env implementations write the "log: TEXT" lines of conf_log through Log.
type Log struct {
	mu    sync.Mutex
	lines []string
}

// Line appends one line.
func (l *Log) Line(s string) {
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.mu.Unlock()
}

// ConfLog appends the line conf_log(text) prints.
func (l *Log) ConfLog(text string) { l.Line("log: " + text) }

// Lines returns a copy of the lines so far.
func (l *Log) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// interp is the state of one Interpret call.
type interp struct {
	env   Env
	log   *Log
	names map[string]uint64 // handles and symbols
	mu    sync.Mutex        // guards names (started operations run concurrently)
	async map[string]*pendingOp
}

type pendingOp struct {
	done chan struct{}
	line string
	err  error
}

// Interpret runs s's operations on env, printing each operation's line into
// log exactly as the native driver does (LANGUAGE.md), then "exit", then
// calls env.Exit. It returns an error only for failures of env itself.
// Callers normalise log.Lines() with Normalize.
func Interpret(ctx context.Context, s *Scenario, env Env, log *Log) error {
	in := &interp{env: env, log: log, names: map[string]uint64{}, async: map[string]*pendingOp{}}
	for _, op := range s.Ops {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch {
		case op.Kind == "thread":
			if err := env.StartThread(op.Args[0]); err != nil {
				return fmt.Errorf("%s: %w", op.Echo(), err)
			}
			log.Line(op.Echo() + ": ok")
		case op.Kind == "join":
			if err := env.JoinThread(op.Args[0]); err != nil {
				return fmt.Errorf("%s: %w", op.Echo(), err)
			}
			log.Line(op.Echo() + ": ok")
		case op.Kind == "wait":
			p := in.async[op.Args[0]]
			if p == nil {
				return fmt.Errorf("%s: nothing started", op.Echo())
			}
			<-p.done
			delete(in.async, op.Args[0])
			if p.err != nil {
				return p.err
			}
			log.Line(p.line)
		case op.Kind == "pending":
			busy := "no"
			if p := in.async[op.Args[0]]; p != nil {
				select {
				case <-p.done:
				default:
					busy = "yes"
				}
			}
			log.Line(op.Echo() + ": " + busy)
		case op.Async:
			p := &pendingOp{done: make(chan struct{})}
			in.async[op.Thread] = p
			go func() {
				defer close(p.done)
				p.line, p.err = in.execute(ctx, op)
			}()
		default:
			line, err := in.execute(ctx, op)
			if err != nil {
				return err
			}
			if line != "" {
				log.Line(line)
			}
		}
	}
	for _, p := range in.async { // the parser forbids this; be safe anyway
		<-p.done
	}
	log.Line("exit")
	return env.Exit()
}

func (in *interp) get(name string) (uint64, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	v, ok := in.names[name]
	return v, ok
}

func (in *interp) set(name string, v uint64) {
	in.mu.Lock()
	in.names[name] = v
	in.mu.Unlock()
}

// execute runs one operation and returns its line (write prints its own
// line before storing and returns "").
func (in *interp) execute(ctx context.Context, op Op) (string, error) {
	echo := op.Echo()
	th := op.Thread
	dl := func(err error) (string, error) {
		var de *DLError
		if errors.As(err, &de) {
			return echo + ": error: " + de.Msg, nil
		}
		return "", fmt.Errorf("%s: %w", echo, err)
	}
	nullSym := echo + ": error: null symbol"
	switch op.Kind {
	case "open":
		path := op.Args[1]
		if path == "NULL" {
			path = ""
		}
		flags := 0
		for _, f := range op.Flags {
			flags |= OpenFlags[f]
		}
		h, err := in.env.Open(th, path, flags)
		in.set(op.Args[0], h)
		if err != nil {
			return dl(err)
		}
		if h == 0 {
			return echo + ": null", nil
		}
		return echo + ": ok", nil
	case "sym", "vsym":
		scope, h := ScopeHandle, uint64(0)
		switch op.Args[1] {
		case "default":
			scope = ScopeDefault
		case "next":
			scope = ScopeNext
		default:
			var ok bool
			if h, ok = in.get(op.Args[1]); !ok || h == 0 {
				in.set(op.Args[0], 0)
				return echo + ": error: null handle", nil
			}
		}
		ver := ""
		if op.Kind == "vsym" {
			ver = op.Args[3]
		}
		a, err := in.env.Sym(th, scope, h, op.Args[2], ver)
		in.set(op.Args[0], a)
		if err != nil {
			return dl(err)
		}
		if a == 0 {
			return echo + ": null", nil
		}
		return echo + ": ok", nil
	case "call", "read":
		a, ok := in.get(op.Args[0])
		if !ok || a == 0 {
			return nullSym, nil
		}
		var v int64
		var err error
		if op.Kind == "call" {
			v, err = in.env.Call(th, a)
		} else {
			v, err = in.env.Read(th, a)
		}
		if err != nil {
			return "", fmt.Errorf("%s: %w", echo, err)
		}
		return echo + ": " + strconv.FormatInt(v, 10), nil
	case "write":
		a, ok := in.get(op.Args[0])
		if !ok || a == 0 {
			return nullSym, nil
		}
		v, err := strconv.ParseInt(op.Args[1], 0, 64)
		if err != nil {
			return "", fmt.Errorf("%s: %w", echo, err)
		}
		line := ""
		if op.Async {
			line = echo + ": ok" // printed by wait
		} else {
			in.log.Line(echo + ": ok") // before the store, as the driver does
		}
		if err := in.env.Write(th, a, v); err != nil {
			return "", fmt.Errorf("%s: %w", echo, err)
		}
		return line, nil
	case "close":
		h, ok := in.get(op.Args[0])
		if !ok || h == 0 {
			return echo + ": error: null handle", nil
		}
		if err := in.env.Close(th, h); err != nil {
			return dl(err)
		}
		return echo + ": ok", nil
	case "same":
		a, _ := in.get(op.Args[0])
		b, _ := in.get(op.Args[1])
		if a == b {
			return echo + ": yes", nil
		}
		return echo + ": no", nil
	case "loaded":
		h, err := in.env.Open(th, op.Args[0], OpenFlags["LAZY"]|OpenFlags["NOLOAD"])
		var de *DLError
		if err != nil && !errors.As(err, &de) {
			return "", fmt.Errorf("%s: %w", echo, err)
		}
		if err != nil || h == 0 {
			return echo + ": no", nil
		}
		if err := in.env.Close(th, h); err != nil && !errors.As(err, &de) {
			return "", fmt.Errorf("%s: %w", echo, err)
		}
		return echo + ": yes", nil
	case "echo":
		return echo, nil
	case "sleep":
		ms, _ := strconv.Atoi(op.Args[0])
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-ctx.Done():
			return "", ctx.Err()
		}
		return echo + ": ok", nil
	case "until":
		a, ok := in.get(op.Args[0])
		if !ok || a == 0 {
			return nullSym, nil
		}
		for i := 0; i < 10000; i++ {
			v, err := in.env.Read(th, a)
			if err != nil {
				return "", fmt.Errorf("%s: %w", echo, err)
			}
			if v != 0 {
				return echo + ": ok", nil
			}
			time.Sleep(time.Millisecond)
		}
		return echo + ": error: timeout", nil
	}
	return "", fmt.Errorf("%s: operation %q cannot be executed here", echo, op.Kind)
}
