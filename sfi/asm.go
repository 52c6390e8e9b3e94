package sfi

import (
	"fmt"
	"strings"
)

// stmtKind classifies one statement of a GNU as source line.
type stmtKind uint8

const (
	stmtLabel stmtKind = iota + 1
	stmtDirective
	stmtInstr
)

// stmt is one parsed statement. A source line may hold several statements
// (labels followed by an instruction, or ';'-separated statements in inline
// assembly).
type stmt struct {
	kind stmtKind
	line int    // 1-based line in the .s file
	src  string // "file.c:12" for inline assembly (from gcc's "# 12 "file.c" 1" markers), else ""
	text string // the statement's text as written (no comment)

	// label
	label string

	// directive: name (with the leading dot, lower case) and raw arguments.
	dir  string
	args string

	// instruction
	prefixes []string // rep, repz, lock, notrack, ...
	mnem     string   // lower-case mnemonic
	ops      []operand
}

// operandKind classifies an AT&T operand.
type operandKind uint8

const (
	opReg  operandKind = iota + 1 // %rax
	opImm                         // $expr
	opMem                         // disp(base,index,scale) or a bare expression
	opExpr                        // a branch target expression (jmp label)
)

// operand is one parsed AT&T operand.
type operand struct {
	kind     operandKind
	star     bool   // '*' before an indirect branch operand
	text     string // as written, without the '*'
	reg      string // opReg: register name without '%'
	seg      string // opMem: segment register (without '%'), "" if none
	disp     string // opMem: displacement expression ("" if none)
	base     string // opMem: base register without '%', "" if none
	index    string // opMem: index register without '%', "" if none
	scale    string // opMem: scale as written, "" if none
	hasParen bool   // opMem: had a (base,index,scale) group
}

// memString renders a memory operand (without its segment).
func (o operand) memString() string {
	if !o.hasParen {
		return o.disp
	}
	var b strings.Builder
	b.WriteString(o.disp)
	b.WriteByte('(')
	if o.base != "" {
		b.WriteString("%" + o.base)
	}
	if o.index != "" {
		b.WriteString(",%" + o.index)
		if o.scale != "" {
			b.WriteString("," + o.scale)
		}
	}
	b.WriteByte(')')
	return b.String()
}

// String renders the operand as AT&T text.
func (o operand) String() string {
	s := o.text
	switch o.kind {
	case opReg:
		s = "%" + o.reg
	case opMem:
		s = o.memString()
		if o.seg != "" {
			s = "%" + o.seg + ":" + s
		}
	}
	if o.star {
		s = "*" + s
	}
	return s
}

// maxLineLen bounds a single source line; longer lines are an error.
const maxLineLen = 1 << 20

// splitStatements cuts one source line into statements: it removes comments
// ('#' to end of line and /* */ on one line), honours string literals, and
// splits at ';'. Block comments spanning lines are handled by the caller
// through inComment.
func splitStatements(line string, inComment *bool) ([]string, error) {
	var out []string
	var cur strings.Builder
	inStr := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		if *inComment {
			if c == '*' && i+1 < len(line) && line[i+1] == '/' {
				*inComment = false
				i++
			}
			continue
		}
		if inStr {
			cur.WriteByte(c)
			if c == '\\' && i+1 < len(line) {
				cur.WriteByte(line[i+1])
				i++
			} else if c == '"' {
				inStr = false
			}
			continue
		}
		switch {
		case c == '"':
			inStr = true
			cur.WriteByte(c)
		case c == '#':
			i = len(line)
		case c == '/' && i+1 < len(line) && line[i+1] == '*':
			*inComment = true
			i++
		case c == ';':
			out = append(out, cur.String())
			cur.Reset()
		case c == '\'' && i+1 < len(line):
			// character constant 'c (GNU as) — copy it verbatim.
			cur.WriteByte(c)
			cur.WriteByte(line[i+1])
			i++
		default:
			cur.WriteByte(c)
		}
	}
	if inStr {
		return nil, fmt.Errorf("unterminated string")
	}
	out = append(out, cur.String())
	return out, nil
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '.' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool {
	return isIdentStart(c) || (c >= '0' && c <= '9')
}

// parseStatement parses one statement (already comment-free) and appends
// the results (labels first) to dst.
func parseStatement(dst []stmt, s string, line int) ([]stmt, error) {
	for {
		s = strings.TrimSpace(s)
		if s == "" {
			return dst, nil
		}
		// label?
		n := 0
		if s[0] == '"' {
			if j := strings.IndexByte(s[1:], '"'); j >= 0 {
				n = j + 2
			}
		} else if isIdentStart(s[0]) || (s[0] >= '0' && s[0] <= '9') {
			for n < len(s) && isIdentChar(s[n]) {
				n++
			}
		}
		if n > 0 && n < len(s) && s[n] == ':' {
			dst = append(dst, stmt{kind: stmtLabel, line: line, text: s[:n+1], label: s[:n]})
			s = s[n+1:]
			continue
		}
		break
	}
	if s[0] == '.' {
		name, args := cutSpace(s)
		dst = append(dst, stmt{kind: stmtDirective, line: line, text: s, dir: strings.ToLower(name), args: strings.TrimSpace(args)})
		return dst, nil
	}
	// symbol assignment: "sym = expr"
	if isAssign(s) {
		dst = append(dst, stmt{kind: stmtDirective, line: line, text: s, dir: "=", args: s})
		return dst, nil
	}
	st := stmt{kind: stmtInstr, line: line, text: s}
	rest := s
	for {
		word, r := cutSpace(rest)
		lw := strings.ToLower(word)
		if isPrefix(lw) && strings.TrimSpace(r) != "" {
			st.prefixes = append(st.prefixes, lw)
			rest = r
			continue
		}
		if isPrefix(lw) && strings.TrimSpace(r) == "" {
			// a lone prefix line (e.g. "rep" before "stosb" on the next line)
			st.mnem = lw
			dst = append(dst, st)
			return dst, nil
		}
		st.mnem = lw
		rest = r
		break
	}
	if st.mnem == "" {
		return dst, fmt.Errorf("empty instruction")
	}
	ops, err := splitOperands(strings.TrimSpace(rest))
	if err != nil {
		return dst, err
	}
	for _, o := range ops {
		po, err := parseOperand(o)
		if err != nil {
			return dst, err
		}
		st.ops = append(st.ops, po)
	}
	dst = append(dst, st)
	return dst, nil
}

func isAssign(s string) bool {
	eq := strings.IndexByte(s, '=')
	if eq <= 0 || (eq+1 < len(s) && s[eq+1] == '=') {
		return false
	}
	name := strings.TrimSpace(s[:eq])
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isIdentChar(name[i]) {
			return false
		}
	}
	return true
}

func cutSpace(s string) (string, string) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i+1:]
}

var prefixWords = map[string]bool{
	"rep": true, "repe": true, "repz": true, "repne": true, "repnz": true,
	"lock": true, "notrack": true, "data16": true, "data32": true,
	"addr32": true, "rex": true, "rex64": true, "bnd": true,
	"xacquire": true, "xrelease": true, "cs": true, "ds": true, "es": true,
	"ss": true, "fs": true, "gs": true, "{vex}": true, "{vex3}": true,
	"{evex}": true, "{disp8}": true, "{disp32}": true, "{load}": true, "{store}": true,
}

func isPrefix(w string) bool { return prefixWords[w] }

// splitOperands splits at top-level commas (outside parentheses/strings).
func splitOperands(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var out []string
	depth := 0
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("unbalanced ')' in operands %q", s)
			}
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("unbalanced '(' in operands %q", s)
	}
	out = append(out, strings.TrimSpace(s[start:]))
	for _, o := range out {
		if o == "" {
			return nil, fmt.Errorf("empty operand in %q", s)
		}
	}
	return out, nil
}

// parseOperand parses one AT&T operand.
func parseOperand(s string) (operand, error) {
	o := operand{text: s}
	if strings.HasPrefix(s, "*") {
		o.star = true
		s = strings.TrimSpace(s[1:])
		o.text = s
	}
	if s == "" {
		return o, fmt.Errorf("empty operand")
	}
	switch {
	case s[0] == '$':
		o.kind = opImm
		return o, nil
	case s[0] == '%':
		// register, or segment-prefixed memory %fs:...
		if c := strings.IndexByte(s, ':'); c > 0 {
			o.seg = strings.ToLower(s[1:c])
			if !segRegs[o.seg] {
				return o, fmt.Errorf("bad segment register in %q", s)
			}
			s = strings.TrimSpace(s[c+1:])
			break
		}
		name := strings.ToLower(s[1:])
		if !validRegName(name) {
			return o, fmt.Errorf("unknown register %q", s)
		}
		o.kind = opReg
		o.reg = name
		return o, nil
	}
	o.kind = opMem
	if strings.HasSuffix(s, ")") {
		// find the '(' matching the final ')'
		depth := 0
		open := -1
		for i := len(s) - 1; i >= 0; i-- {
			if s[i] == ')' {
				depth++
			} else if s[i] == '(' {
				depth--
				if depth == 0 {
					open = i
					break
				}
			}
		}
		if open < 0 {
			return o, fmt.Errorf("unbalanced parentheses in %q", s)
		}
		inner := strings.TrimSpace(s[open+1 : len(s)-1])
		if inner == "" || inner[0] == '%' || inner[0] == ',' {
			o.hasParen = true
			o.disp = strings.TrimSpace(s[:open])
			parts := strings.Split(inner, ",")
			if len(parts) > 3 {
				return o, fmt.Errorf("bad memory operand %q", s)
			}
			for i := range parts {
				parts[i] = strings.TrimSpace(parts[i])
			}
			if parts[0] != "" {
				if parts[0][0] != '%' || !validRegName(strings.ToLower(parts[0][1:])) {
					return o, fmt.Errorf("bad base register in %q", s)
				}
				o.base = strings.ToLower(parts[0][1:])
			}
			if len(parts) >= 2 && parts[1] != "" {
				if parts[1][0] != '%' || !validRegName(strings.ToLower(parts[1][1:])) {
					return o, fmt.Errorf("bad index register in %q", s)
				}
				o.index = strings.ToLower(parts[1][1:])
			}
			if len(parts) == 3 {
				o.scale = parts[2]
			}
			return o, nil
		}
	}
	o.disp = s
	return o, nil
}

var segRegs = map[string]bool{"cs": true, "ds": true, "es": true, "ss": true, "fs": true, "gs": true}

// reg64 maps every general-purpose register name to its 64-bit family name
// and its width in bits.
var regInfo = map[string]struct {
	fam   string
	width int
}{}

var reg32of = map[string]string{}

func init() {
	legacy := []struct{ q, d, w, b string }{
		{"rax", "eax", "ax", "al"}, {"rbx", "ebx", "bx", "bl"}, {"rcx", "ecx", "cx", "cl"},
		{"rdx", "edx", "dx", "dl"}, {"rsi", "esi", "si", "sil"}, {"rdi", "edi", "di", "dil"},
		{"rbp", "ebp", "bp", "bpl"}, {"rsp", "esp", "sp", "spl"},
	}
	for _, r := range legacy {
		regInfo[r.q] = struct {
			fam   string
			width int
		}{r.q, 64}
		regInfo[r.d] = struct {
			fam   string
			width int
		}{r.q, 32}
		regInfo[r.w] = struct {
			fam   string
			width int
		}{r.q, 16}
		regInfo[r.b] = struct {
			fam   string
			width int
		}{r.q, 8}
		reg32of[r.q] = r.d
	}
	for _, h := range []string{"ah", "bh", "ch", "dh"} {
		regInfo[h] = struct {
			fam   string
			width int
		}{"r" + string(h[0]) + "x", 8}
	}
	for i := 8; i <= 15; i++ {
		q := fmt.Sprintf("r%d", i)
		for _, v := range []struct {
			n string
			w int
		}{{q, 64}, {q + "d", 32}, {q + "w", 16}, {q + "b", 8}, {q + "l", 8}} {
			regInfo[v.n] = struct {
				fam   string
				width int
			}{q, v.w}
		}
		reg32of[q] = q + "d"
	}
	regInfo["rip"] = struct {
		fam   string
		width int
	}{"rip", 64}
	regInfo["eip"] = struct {
		fam   string
		width int
	}{"rip", 32}
}

func validRegName(n string) bool {
	if _, ok := regInfo[n]; ok {
		return true
	}
	if segRegs[n] {
		return true
	}
	// vector, x87, mask, control/debug registers
	for _, p := range []string{"xmm", "ymm", "zmm", "mm", "st", "k", "cr", "dr", "tmm"} {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

// family returns the 64-bit GPR family of a register name, or "".
func family(n string) string { return regInfo[n].fam }

// isHighByte reports whether n is %ah, %bh, %ch or %dh.
func isHighByte(n string) bool { return n == "ah" || n == "bh" || n == "ch" || n == "dh" }
