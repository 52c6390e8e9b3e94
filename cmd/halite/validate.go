package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"time"

	"halite/elfload"
	"halite/validate"
)

func init() {
	register(&command{
		name:    "validate",
		summary: "check x86-64 code against the NaCl SFI rules (ELF files, raw bytes or NaCl hex text)",
		usage:   "[--profile nacl|halite] [--json] [--max-errors N] [--cpu all|host] FILE... | --raw FILE --base 0xADDR | --hex FILE|-",
		setup: func(fs *flag.FlagSet) {
			fs.String("profile", "halite", "rule set: nacl (exactly NaCl's) or halite (NaCl plus mov %fs:0x0,%reg64)")
			fs.Bool("json", false, "print the result as JSON")
			fs.Int("max-errors", 0, "report at most N violations per chunk (0: all)")
			fs.String("cpu", "host", "CPU features whose instructions are accepted: host (CPUID) or all")
			fs.String("raw", "", "validate the raw bytes of `FILE` (size a multiple of 32)")
			fs.String("hex", "", "validate NaCl-style hex text from `FILE` (- for standard input), padded with nops")
			fs.String("base", "0x0", "load address of --raw or --hex code (32-byte aligned)")
		},
		run: runValidate,
	})
}

// chunkResult is one validated chunk: an executable segment of an ELF
// file, or the whole of --raw/--hex input.
type chunkResult struct {
	File         string          `json:"file"`
	Segment      int             `json:"segment"` // index in the ELF's PT_LOAD list, -1 for raw/hex
	Start        uint64          `json:"start"`   // address of offset 0
	Size         int             `json:"size"`
	Instructions int             `json:"instructions"`
	Bundles      int             `json:"bundles"`
	Valid        bool            `json:"valid"`
	Truncated    bool            `json:"truncated,omitempty"`
	Violations   []violationJSON `json:"violations"`
	verdict      *validate.Verdict
}

type violationJSON struct {
	Offset  int    `json:"offset"`
	Address uint64 `json:"address"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
	Disasm  string `json:"disasm,omitempty"`
}

type validateReport struct {
	Profile      string         `json:"profile"`
	CPU          string         `json:"cpu"`
	Valid        bool           `json:"valid"`
	Bytes        int            `json:"bytes"`
	Instructions int            `json:"instructions"`
	Bundles      int            `json:"bundles"`
	ByRule       map[string]int `json:"violations_by_rule"`
	Seconds      float64        `json:"seconds"`
	Chunks       []chunkResult  `json:"chunks"`
}

func flagString(fs *flag.FlagSet, name string) string {
	return fs.Lookup(name).Value.(flag.Getter).Get().(string)
}

func runValidate(e *env, args []string) int {
	fs := e.fs
	prof, err := validate.ParseProfile(flagString(fs, "profile"))
	if err != nil {
		return e.usageError("%v", err)
	}
	opts := validate.Options{Profile: prof, MaxErrors: fs.Lookup("max-errors").Value.(flag.Getter).Get().(int)}
	if opts.MaxErrors < 0 {
		return e.usageError("--max-errors must be >= 0")
	}
	switch cpu := flagString(fs, "cpu"); cpu {
	case "host":
		opts.Features = validate.HostFeatures()
	case "all":
		opts.Features = validate.AllFeatures
	default:
		return e.usageError("--cpu %q: want all or host", cpu)
	}
	raw, hexFile := flagString(fs, "raw"), flagString(fs, "hex")
	base, err := strconv.ParseUint(flagString(fs, "base"), 0, 64)
	if err != nil {
		return e.usageError("--base: %v", err)
	}
	baseSet := false
	fs.Visit(func(f *flag.Flag) { baseSet = baseSet || f.Name == "base" })
	rep := validateReport{Profile: prof.String(), CPU: flagString(fs, "cpu"), Valid: true, ByRule: map[string]int{}}
	var elapsed time.Duration
	check := func(file string, seg int, start uint64, code []byte) {
		t0 := time.Now()
		vd := validate.Code(code, start, opts)
		elapsed += time.Since(t0)
		rep.Chunks = append(rep.Chunks, chunkResult{File: file, Segment: seg, Start: start, Size: len(code),
			Instructions: vd.Instructions, Bundles: vd.Bundles, Valid: vd.Valid(), Truncated: vd.Truncated, verdict: vd})
	}
	switch {
	case raw != "" && hexFile != "":
		return e.usageError("--raw and --hex are exclusive")
	case raw != "" || hexFile != "":
		if len(args) != 0 {
			return e.usageError("--raw/--hex take no further FILE arguments")
		}
		if raw != "" {
			if !baseSet {
				return e.usageError("--raw needs --base 0xADDR")
			}
			code, err := os.ReadFile(raw)
			if err != nil {
				e.errorf("%v", err)
				return exitUsage
			}
			check(raw, -1, base, code)
		} else {
			var text []byte
			if hexFile == "-" {
				text, err = io.ReadAll(io.LimitReader(os.Stdin, 64<<20))
			} else {
				text, err = os.ReadFile(hexFile)
			}
			if err != nil {
				e.errorf("%v", err)
				return exitUsage
			}
			hc, err := validate.ParseHex(text)
			if err != nil {
				e.errorf("%s: %v", hexFile, err)
				return exitUsage
			}
			check(hexFile, -1, base, hc.Code)
		}
	default:
		if baseSet {
			return e.usageError("--base applies to --raw and --hex only")
		}
		if len(args) == 0 {
			return e.usageError("want at least one FILE (or --raw/--hex)")
		}
		for _, file := range args {
			f, err := elfload.Open(file)
			if err != nil {
				e.errorf("%v", err)
				return exitUsage
			}
			t0 := time.Now()
			vs, err := validate.ELF(f.Plan, opts)
			elapsed += time.Since(t0)
			f.Close()
			if err != nil {
				e.errorf("%s: %v", file, err)
				return exitUsage
			}
			if len(vs) == 0 {
				e.errorf("warning: %s has no executable segment", file)
			}
			for _, sv := range vs {
				rep.Chunks = append(rep.Chunks, chunkResult{File: file, Segment: sv.Index, Start: sv.Start, Size: len(sv.Code),
					Instructions: sv.Verdict.Instructions, Bundles: sv.Verdict.Bundles, Valid: sv.Verdict.Valid(), Truncated: sv.Verdict.Truncated, verdict: sv.Verdict})
			}
		}
	}
	for i := range rep.Chunks {
		c := &rep.Chunks[i]
		rep.Valid = rep.Valid && c.Valid
		rep.Bytes += c.Size
		rep.Instructions += c.Instructions
		rep.Bundles += c.Bundles
		c.Violations = make([]violationJSON, 0, len(c.verdict.Violations))
		for _, v := range c.verdict.Violations {
			rep.ByRule[string(v.Rule)]++
			c.Violations = append(c.Violations, violationJSON{Offset: v.Offset, Address: c.Start + uint64(v.Offset), Rule: string(v.Rule), Message: v.Message, Disasm: v.Disasm})
		}
	}
	rep.Seconds = elapsed.Seconds()
	if fs.Lookup("json").Value.(flag.Getter).Get().(bool) {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			e.errorf("%v", err)
			return exitUsage
		}
	} else {
		writeValidateText(e.stdout, &rep)
	}
	if !rep.Valid {
		return exitFailure
	}
	return exitOK
}

func writeValidateText(w io.Writer, rep *validateReport) {
	for _, c := range rep.Chunks {
		where := c.File
		if c.Segment >= 0 {
			where = fmt.Sprintf("%s segment %d", c.File, c.Segment)
		}
		verdict := "valid"
		if !c.Valid {
			verdict = fmt.Sprintf("INVALID, %d violation(s)", len(c.Violations))
			if c.Truncated {
				verdict += " (more not reported)"
			}
		}
		fmt.Fprintf(w, "%s [%#x, %#x): %d bytes, %d instructions, %d bundles: %s\n",
			where, c.Start, c.Start+uint64(c.Size), c.Size, c.Instructions, c.Bundles, verdict)
		for _, v := range c.Violations {
			fmt.Fprintf(w, "  %#x (offset %d): %s: %s", v.Address, v.Offset, v.Rule, v.Message)
			if v.Disasm != "" {
				fmt.Fprintf(w, "  [%s]", v.Disasm)
			}
			fmt.Fprintln(w)
		}
	}
	rules := make([]string, 0, len(rep.ByRule))
	for r := range rep.ByRule {
		rules = append(rules, r)
	}
	sort.Strings(rules)
	fmt.Fprintf(w, "profile %s, cpu %s: %d bytes, %d instructions, %d bundles", rep.Profile, rep.CPU, rep.Bytes, rep.Instructions, rep.Bundles)
	if rep.Seconds > 0 {
		fmt.Fprintf(w, ", %.1f MB/s", float64(rep.Bytes)/1e6/rep.Seconds)
	}
	fmt.Fprintln(w)
	if len(rules) == 0 {
		fmt.Fprintln(w, "valid")
		return
	}
	fmt.Fprintln(w, "violations by rule:")
	for _, r := range rules {
		fmt.Fprintf(w, "  %-26s %d\n", r, rep.ByRule[r])
	}
}
