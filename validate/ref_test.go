package validate

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The reference suite: NaCl's validator test cases (see
// ../shared/nacl-validator-tests/README.md). Every case is validated with
// profile NaCl and AllFeatures at a 32-aligned base; the return code and
// the set of error offsets must match @rdfa_output. Cases that do not match
// yet are listed in testdata/ref_known_mismatches.txt, which may only
// shrink: the test fails on an unlisted mismatch and on a listed case that
// now matches.

// refBase is the load address used for reference cases (32-aligned, not 0).
const refBase = 0x20000

// refCase is one case of a reference .test file.
type refCase struct {
	ID      string // "file.test#N", N 1-based
	Line    int    // line of the case's first section in the file
	Hex     *HexCase
	Valid   bool  // @rdfa_output return code 0
	Offsets []int // sorted, de-duplicated error offsets of @rdfa_output
}

var refOnce struct {
	sync.Once
	dir   string
	cases []*refCase
	err   error
}

// refDir locates the reference directory: $HALITE_NACL_TESTS, else
// ../shared/nacl-validator-tests/64 relative to the module root.
func refDir() (string, error) {
	if d := os.Getenv("HALITE_NACL_TESTS"); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "..", "shared", "nacl-validator-tests", "64"), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s", wd)
		}
	}
}

// refCases loads every reference case once; it fails the test when the
// directory is missing or a file does not parse.
func refCases(t testing.TB) []*refCase {
	t.Helper()
	refOnce.Do(func() {
		refOnce.dir, refOnce.err = refDir()
		if refOnce.err != nil {
			return
		}
		files, err := filepath.Glob(filepath.Join(refOnce.dir, "*.test"))
		if err != nil {
			refOnce.err = err
			return
		}
		if len(files) == 0 {
			refOnce.err = fmt.Errorf("no .test files in %s: the NaCl reference cases are required (set HALITE_NACL_TESTS to their directory)", refOnce.dir)
			return
		}
		sort.Strings(files)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				refOnce.err = err
				return
			}
			cs, err := parseRefFile(filepath.Base(f), data)
			if err != nil {
				refOnce.err = err
				return
			}
			refOnce.cases = append(refOnce.cases, cs...)
		}
	})
	if refOnce.err != nil {
		t.Fatalf("reference suite: %v", refOnce.err)
	}
	return refOnce.cases
}

// parseRefFile splits a .test file into cases (separated by lines of
// dashes) and sections (`@name:` lines, content indented by two spaces).
func parseRefFile(name string, data []byte) ([]*refCase, error) {
	var cases []*refCase
	sections := map[string][]string{}
	var cur string
	start, lineNo := 0, 0
	flush := func() error {
		if len(sections) == 0 {
			return nil
		}
		id := fmt.Sprintf("%s#%d", name, len(cases)+1)
		c, err := makeRefCase(id, sections)
		if err != nil {
			return fmt.Errorf("%s:%d: %v", name, start, err)
		}
		c.Line = start
		cases = append(cases, c)
		sections = map[string][]string{}
		cur = ""
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		lineNo++
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.HasPrefix(line, "---"):
			if err := flush(); err != nil {
				return nil, err
			}
		case strings.HasPrefix(line, "@") && strings.HasSuffix(line, ":"):
			if len(sections) == 0 {
				start = lineNo
			}
			cur = strings.TrimSuffix(line[1:], ":")
			if _, dup := sections[cur]; dup {
				return nil, fmt.Errorf("%s:%d: duplicate section @%s", name, lineNo, cur)
			}
			sections[cur] = []string{}
		case cur != "":
			sections[cur] = append(sections[cur], strings.TrimPrefix(line, "  "))
		case strings.TrimSpace(line) != "":
			return nil, fmt.Errorf("%s:%d: text outside a section", name, lineNo)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return cases, nil
}

func makeRefCase(id string, sections map[string][]string) (*refCase, error) {
	hexText, ok := sections["hex"]
	if !ok {
		return nil, fmt.Errorf("case %s has no @hex section", id)
	}
	out, ok := sections["rdfa_output"]
	if !ok {
		return nil, fmt.Errorf("case %s has no @rdfa_output section", id)
	}
	hc, err := ParseHex([]byte(strings.Join(hexText, "\n")))
	if err != nil {
		return nil, fmt.Errorf("case %s: %v", id, err)
	}
	c := &refCase{ID: id, Hex: hc}
	rc := -1
	seen := map[int]bool{}
	for _, l := range out {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if s, ok := strings.CutPrefix(l, "return code:"); ok {
			rc, err = strconv.Atoi(strings.TrimSpace(s))
			if err != nil || (rc != 0 && rc != 1) {
				return nil, fmt.Errorf("case %s: bad %q", id, l)
			}
			continue
		}
		offText, _, ok := strings.Cut(l, ":")
		if !ok {
			return nil, fmt.Errorf("case %s: bad @rdfa_output line %q", id, l)
		}
		off, err := strconv.ParseUint(offText, 16, 32)
		if err != nil {
			return nil, fmt.Errorf("case %s: bad offset in %q", id, l)
		}
		if !seen[int(off)] {
			seen[int(off)] = true
			c.Offsets = append(c.Offsets, int(off))
		}
	}
	if rc < 0 {
		return nil, fmt.Errorf("case %s: @rdfa_output has no return code", id)
	}
	c.Valid = rc == 0
	if c.Valid != (len(c.Offsets) == 0) {
		return nil, fmt.Errorf("case %s: return code %d with %d error offsets", id, rc, len(c.Offsets))
	}
	sort.Ints(c.Offsets)
	return c, nil
}

var refOpts = Options{Profile: NaCl, Features: AllFeatures}

// verdictOffsets returns the sorted set of violation offsets.
func verdictOffsets(vd *Verdict) []int {
	seen := map[int]bool{}
	var offs []int
	for _, v := range vd.Violations {
		if !seen[v.Offset] {
			seen[v.Offset] = true
			offs = append(offs, v.Offset)
		}
	}
	sort.Ints(offs)
	return offs
}

// refMismatch validates c and describes how the verdict differs from the
// reference ("" when it matches).
func refMismatch(val *Validator, c *refCase) string {
	vd := val.Validate(c.Hex.Code, refBase)
	got := verdictOffsets(vd)
	if vd.Valid() == c.Valid && fmt.Sprint(got) == fmt.Sprint(c.Offsets) {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "want valid=%v offsets %x, got valid=%v offsets %x", c.Valid, c.Offsets, vd.Valid(), got)
	for i, v := range vd.Violations {
		if i == 6 {
			b.WriteString("; ...")
			break
		}
		b.WriteString("; ")
		b.WriteString(v.String())
	}
	return b.String()
}

const knownMismatchesFile = "testdata/ref_known_mismatches.txt"

// readKnownMismatches reads case ids (first field of each line; lines
// starting with `#` and blank lines ignored) with the rest of the line as
// the reason.
func readKnownMismatches(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(knownMismatchesFile)
	if err != nil {
		t.Fatalf("reading %s: %v", knownMismatchesFile, err)
	}
	known := map[string]string{}
	for i, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if _, dup := known[f[0]]; dup {
			t.Fatalf("%s:%d: duplicate entry %s", knownMismatchesFile, i+1, f[0])
		}
		known[f[0]] = strings.Join(f[1:], " ")
	}
	return known
}

func TestReferenceSuite(t *testing.T) {
	cases := refCases(t)
	known := readKnownMismatches(t)
	val := New(refOpts)
	ids := map[string]bool{}
	var matching, valid, mismatched int
	for _, c := range cases {
		ids[c.ID] = true
		if c.Valid {
			valid++
		}
		m := refMismatch(val, c)
		_, isKnown := known[c.ID]
		switch {
		case m == "" && isKnown:
			t.Errorf("%s now matches the reference: remove it from %s (the list may only shrink)", c.ID, knownMismatchesFile)
			matching++
		case m == "":
			matching++
		case isKnown:
			mismatched++
			t.Logf("known mismatch %s (line %d): %s", c.ID, c.Line, m)
		default:
			mismatched++
			t.Errorf("%s (line %d, hex % x): %s", c.ID, c.Line, c.Hex.Code[:c.Hex.Len], m)
		}
	}
	for id := range known {
		if !ids[id] {
			t.Errorf("%s lists %s, which is not a reference case", knownMismatchesFile, id)
		}
	}
	t.Logf("reference suite: %d cases (%d valid, %d invalid), %d match, %d known mismatches listed",
		len(cases), valid, len(cases)-valid, matching, len(known))
}

// TestReferenceParse checks the reference loader on a small inline file.
func TestReferenceParse(t *testing.T) {
	file := "@hex:\n  # c\n  83 e2 e0 \\\\\n  ff e2\n@dis:\n  junk\n@rdfa_output:\n  return code: 0\n" +
		"------\n@hex:\n  0f 05\n  90\n@rdfa_output:\n  1a: x\n  0: unrecognized instruction\n  0: again\n  return code: 1\n"
	cs, err := parseRefFile("x.test", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 {
		t.Fatalf("got %d cases", len(cs))
	}
	if cs[0].ID != "x.test#1" || !cs[0].Valid || fmt.Sprint(cs[0].Hex.Groups) != "[0]" || cs[0].Hex.Len != 5 {
		t.Errorf("case 1: %+v %+v", cs[0], cs[0].Hex)
	}
	if cs[1].Valid || fmt.Sprint(cs[1].Offsets) != "[0 26]" || fmt.Sprint(cs[1].Hex.Groups) != "[0 2]" || cs[1].Line != 10 {
		t.Errorf("case 2: %+v", cs[1])
	}
	for _, bad := range []string{
		"@hex:\n  90\n", // no rdfa_output
		"@hex:\n  9\n@rdfa_output:\n  return code: 0\n",           // bad hex
		"@hex:\n  90\n@rdfa_output:\n  0: x\n  return code: 0\n",  // rc 0 with errors
		"@hex:\n  90\n@rdfa_output:\n  zz: x\n  return code: 1\n", // bad offset
		"@hex:\n  90\n@rdfa_output:\n",                            // no return code
	} {
		if _, err := parseRefFile("bad.test", []byte(bad)); err == nil {
			t.Errorf("parseRefFile(%q) succeeded", bad)
		}
	}
}
