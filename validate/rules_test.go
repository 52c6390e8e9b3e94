package validate

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Hand-written cases, one per file in testdata/rules/: `.s` files are
// assembled with GNU as at test time (use `.bundle_align_mode 5` and
// `.bundle_lock` where bundling matters), `.hex` files are ParseHex text.
// A comment header states what the case checks:
//
//	# rule: RULE              the rule the case exercises (required)
//	# want: valid             the chunk must be accepted
//	# want: invalid [R1|R2...] [@0xOFF...]
//	                          rejected, with a violation of one of the rules
//	                          (default: the `rule:` one), at each offset given
//	# absent: @0xOFF...       no violation may be reported at these offsets
//	# profile: nacl|halite|both   (default both: same verdict in each)
//	# known-bug: WHY          the validator gets it wrong for now: the test
//	                          logs it and fails once it passes (remove then)
//	# features: all|none|f1+f2    (default all; names as Features.String)
//
// The .text (padded with nops to a multiple of 32) is validated at a
// 32-aligned base. Every rule must have cases both ways.

type ruleCase struct {
	file     string
	rule     Rule
	valid    bool
	rules    []Rule // acceptable violation rules when invalid
	offsets  []int
	absent   []int  // offsets where no violation may be reported
	knownBug string // the validator is known to get this case wrong (see /work/coord/validate-bugs.md)
	profiles []Profile
	features Features
}

// allRules lists every Rule with the cases required for it.
var allRules = []Rule{
	RuleUnrecognized, RuleForbidden, RuleBundleCrossing, RuleIndirectJump,
	RuleSegmentPrefix, RuleBadBase, RuleBadIndex, RuleR15Modified,
	RuleRSPModified, RuleRBPModified, RuleRSPSandboxing, RuleRBPSandboxing,
	RuleBadJumpTarget, RuleJumpOutOfRange, RuleCPUFeature,
}

func knownRule(r Rule) bool {
	for _, k := range allRules {
		if k == r {
			return true
		}
	}
	return r == RuleChunkLayout
}

func parseFeatures(s string) (Features, error) {
	switch s {
	case "all":
		return AllFeatures, nil
	case "none":
		return 0, nil
	}
	var f Features
	for _, n := range strings.Split(s, "+") {
		i := 0
		for i < len(featNames) && featNames[i] != n {
			i++
		}
		if i == len(featNames) {
			return 0, fmt.Errorf("unknown feature %q", n)
		}
		f |= 1 << uint(i)
	}
	return f, nil
}

// parseRuleHeader reads the `# key: value` lines of a case file.
func parseRuleHeader(file string, text []byte) (*ruleCase, error) {
	rc := &ruleCase{file: file, profiles: []Profile{NaCl, Halite}, features: AllFeatures}
	var want string
	for i, l := range strings.Split(string(text), "\n") {
		l = strings.TrimSpace(l)
		body, ok := strings.CutPrefix(l, "#")
		if !ok {
			continue
		}
		key, val, ok := strings.Cut(strings.TrimSpace(body), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch strings.TrimSpace(key) {
		case "rule":
			rc.rule = Rule(val)
			if !knownRule(rc.rule) {
				return nil, fmt.Errorf("line %d: unknown rule %q", i+1, val)
			}
		case "want":
			want = val
		case "known-bug":
			rc.knownBug = val
		case "absent":
			for _, a := range strings.Fields(val) {
				n, err := strconv.ParseInt(strings.TrimPrefix(a, "@"), 0, 32)
				if err != nil {
					return nil, fmt.Errorf("line %d: bad offset %q", i+1, a)
				}
				rc.absent = append(rc.absent, int(n))
			}
		case "profile":
			switch val {
			case "nacl":
				rc.profiles = []Profile{NaCl}
			case "halite":
				rc.profiles = []Profile{Halite}
			case "both":
			default:
				return nil, fmt.Errorf("line %d: bad profile %q", i+1, val)
			}
		case "features":
			f, err := parseFeatures(val)
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", i+1, err)
			}
			rc.features = f
		}
	}
	if rc.rule == "" || want == "" {
		return nil, fmt.Errorf("header needs `# rule:` and `# want:`")
	}
	f := strings.Fields(want)
	switch f[0] {
	case "valid":
		if len(f) != 1 {
			return nil, fmt.Errorf("`want: valid` takes no arguments")
		}
		rc.valid = true
	case "invalid":
		for _, a := range f[1:] {
			if o, ok := strings.CutPrefix(a, "@"); ok {
				n, err := strconv.ParseInt(o, 0, 32)
				if err != nil {
					return nil, fmt.Errorf("bad offset %q", a)
				}
				rc.offsets = append(rc.offsets, int(n))
				continue
			}
			for _, r := range strings.Split(a, "|") {
				if !knownRule(Rule(r)) {
					return nil, fmt.Errorf("unknown rule %q in want", r)
				}
				rc.rules = append(rc.rules, Rule(r))
			}
		}
		if len(rc.rules) == 0 {
			rc.rules = []Rule{rc.rule}
		}
	default:
		return nil, fmt.Errorf("bad want %q", want)
	}
	return rc, nil
}

// assemble runs GNU as on src and returns the .text bytes.
func assemble(t testing.TB, src string) []byte {
	t.Helper()
	obj := filepath.Join(t.TempDir(), "out.o")
	out, err := exec.Command("as", "--64", "-o", obj, src).CombinedOutput()
	if err != nil {
		t.Fatalf("as %s: %v\n%s", src, err, out)
	}
	f, err := elf.Open(obj)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if rel := f.Section(".rela.text"); rel != nil && rel.Size > 0 {
		t.Fatalf("%s: .text has relocations; use only local labels", src)
	}
	sec := f.Section(".text")
	if sec == nil {
		t.Fatalf("%s: no .text", src)
	}
	data, err := sec.Data()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestRules(t *testing.T) {
	files, err := filepath.Glob("testdata/rules/*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("as"); err != nil {
		t.Fatalf("GNU as is required (binutils, installed by scripts/setup): %v", err)
	}
	type count struct{ valid, invalid int }
	cover := map[Rule]*count{}
	for _, r := range allRules {
		cover[r] = &count{}
	}
	n := 0
	for _, file := range files {
		ext := filepath.Ext(file)
		if ext != ".s" && ext != ".hex" {
			continue
		}
		n++
		t.Run(filepath.Base(file), func(t *testing.T) {
			text, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			rc, err := parseRuleHeader(file, text)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if c := cover[rc.rule]; c != nil {
				if rc.valid {
					c.valid++
				} else {
					c.invalid++
				}
			}
			var code []byte
			if ext == ".s" {
				code = assemble(t, file)
				for len(code)%32 != 0 {
					code = append(code, 0x90)
				}
			} else {
				hc, err := ParseHex(text)
				if err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				code = hc.Code
			}
			errorf := t.Errorf
			var problems []string
			if rc.knownBug != "" {
				errorf = func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
				defer func() {
					if len(problems) == 0 {
						t.Errorf("%s: marked `known-bug: %s` but passes now: remove the marker", file, rc.knownBug)
					}
					for _, p := range problems {
						t.Logf("known bug (%s): %s", rc.knownBug, p)
					}
				}()
			}
			for _, p := range rc.profiles {
				vd := Code(code, refBase, Options{Profile: p, Features: rc.features})
				where := fmt.Sprintf("%s (profile %s, features %s, code % x)", file, p, rc.features, bytes.TrimRight(code, "\x90"))
				for _, v := range vd.Violations {
					for _, o := range rc.absent {
						if v.Offset == o {
							errorf("%s: want no violation at %#x, got %v", where, o, v)
						}
					}
				}
				if rc.valid {
					if !vd.Valid() {
						errorf("%s: want valid, got %v", where, vd.Err())
					}
					continue
				}
				if vd.Valid() {
					errorf("%s: want invalid (%v), got valid", where, rc.rules)
					continue
				}
				match := func(v Violation) bool {
					for _, r := range rc.rules {
						if v.Rule == r {
							return true
						}
					}
					return false
				}
				found := false
				for _, v := range vd.Violations {
					found = found || match(v)
				}
				if !found {
					errorf("%s: want a violation of %v, got %v", where, rc.rules, vd.Err())
				}
				for _, o := range rc.offsets {
					ok := false
					for _, v := range vd.Violations {
						ok = ok || (v.Offset == o && match(v))
					}
					if !ok {
						errorf("%s: want %v at %#x, got %v", where, rc.rules, o, vd.Err())
					}
				}
			}
		})
	}
	var missing []string
	for r, c := range cover {
		if c.valid == 0 || c.invalid == 0 {
			missing = append(missing, fmt.Sprintf("%s (%d accepted, %d rejected)", r, c.valid, c.invalid))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("rules without cases both ways: %s", strings.Join(missing, ", "))
	}
	t.Logf("%d per-rule cases", n)
}

func TestChunkLayout(t *testing.T) {
	nops := bytes.Repeat([]byte{0x90}, 64)
	for _, tc := range []struct {
		size  int
		base  uint64
		valid bool
	}{
		{0, refBase, true}, {32, refBase, true}, {64, 0, true}, {64, 1 << 40, true},
		{31, refBase, false}, {33, refBase, false}, {1, refBase, false},
		{32, refBase + 16, false}, {32, refBase + 1, false}, {64, 0x1f, false},
	} {
		vd := Code(nops[:tc.size], tc.base, refOpts)
		if vd.Valid() != tc.valid {
			t.Errorf("size %d base %#x: valid=%v, want %v (%v)", tc.size, tc.base, vd.Valid(), tc.valid, vd.Err())
			continue
		}
		if !tc.valid && (len(vd.Violations) == 0 || vd.Violations[0].Rule != RuleChunkLayout) {
			t.Errorf("size %d base %#x: %v, want %s", tc.size, tc.base, vd.Err(), RuleChunkLayout)
		}
	}
}
