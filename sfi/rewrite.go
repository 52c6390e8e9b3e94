package sfi

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// RewriteError is a problem found in one line of assembly: an instruction
// the sandbox forbids, a construct the rewriter cannot make safe, or a
// syntax error. It names the .s file and line and, when .loc directives
// were present, the C source line.
type RewriteError struct {
	File   string // the assembly file
	Line   int    // 1-based line in File
	Source string // "file.c:12" from the last .loc, or ""
	Text   string // the statement
	Msg    string
}

func (e *RewriteError) Error() string {
	if e.Source != "" {
		return fmt.Sprintf("%s: %s: %q [assembly line %d of %s]", e.Source, e.Msg, e.Text, e.Line, e.File)
	}
	return fmt.Sprintf("%s:%d: %s: %q", e.File, e.Line, e.Msg, e.Text)
}

// RewriteErrors lists every problem found in one file.
type RewriteErrors []*RewriteError

func (es RewriteErrors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// asmMarker matches gcc's markers around inline assembly in its output:
// `# 12 "file.c" 1` opens a block, `# 0 "" 2` closes it.
var asmMarker = regexp.MustCompile(`^#\s*(\d+)\s+"([^"]*)"\s+([12])\s*$`)

// maxErrors bounds the number of errors collected for one file.
const maxErrors = 50

// section is the assembler's current section as the rewriter tracks it.
type section struct {
	key   string // name plus comdat group
	exec  bool
	debug bool
}

type rewriter struct {
	file string
	out  bytes.Buffer
	errs RewriteErrors

	cur, prev section
	stack     []section
	seen      map[string]string // section key -> base label (exec sections)
	nbase     int
	nlock     int // locked groups so far (their size labels)

	inCFI   bool
	files   map[string]string // .file number -> name
	srcFile string
	srcLine int

	align   map[string]bool // labels to align to a bundle
	defined map[string]bool // every label defined in the file
	// preemptible holds the symbols a direct branch may not reach without
	// the dynamic linker's say: global or weak with default visibility (an
	// earlier object in the search order may interpose them, as glibc
	// allows) and IFUNC symbols (their address is the resolver's answer).
	preemptible map[string]bool
	ifunc       map[string]bool // symbols typed @gnu_indirect_function
	st          *stmt
}

// Rewrite turns GNU as AT&T assembly (compiler output, hand-written .s, or
// the output of the C preprocessor on a .S file) into assembly for bundle
// mode that follows the halite SFI rules. file names the input in errors.
// The result must still be assembled with GNU as and validated.
func Rewrite(src []byte, file string) ([]byte, error) {
	stmts, perr := parseFile(src, file)
	if perr != nil {
		return nil, perr
	}
	r := &rewriter{file: file, seen: map[string]string{}, files: map[string]string{}}
	stmts = stripTLSPadding(stmts)
	r.align, r.defined = collectAlignLabels(stmts)
	r.preemptible, r.ifunc = collectPreemptible(stmts)
	r.out.WriteString("\t.bundle_align_mode 5\n")
	r.cur = section{key: ".text", exec: true}
	r.out.WriteString("\t.text\n")
	r.enterSection()
	for i := range stmts {
		r.st = &stmts[i]
		r.statement(&stmts[i])
		if len(r.errs) >= maxErrors {
			break
		}
	}
	if len(r.errs) > 0 {
		return nil, r.errs
	}
	return r.out.Bytes(), nil
}

// parseFile parses every line into statements.
func parseFile(src []byte, file string) ([]stmt, error) {
	var stmts []stmt
	var errs RewriteErrors
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 64*1024), maxLineLen)
	inComment := false
	n := 0
	asmFile, asmLine := "", 0 // inside an inline asm block: its source position
	for sc.Scan() {
		n++
		line := sc.Text()
		if m := asmMarker.FindStringSubmatch(line); m != nil {
			if m[3] == "1" {
				asmFile = m[2]
				asmLine, _ = strconv.Atoi(m[1]) // the asm statement's line
			} else {
				asmFile = ""
			}
			continue
		}
		src := ""
		if asmFile != "" {
			src = fmt.Sprintf("%s:%d", asmFile, asmLine)
		}
		first := len(stmts)
		parts, err := splitStatements(line, &inComment)
		if err != nil {
			errs = append(errs, &RewriteError{File: file, Line: n, Text: line, Msg: err.Error()})
			continue
		}
		for _, p := range parts {
			stmts, err = parseStatement(stmts, p, n)
			if err != nil {
				errs = append(errs, &RewriteError{File: file, Line: n, Source: src, Text: strings.TrimSpace(p), Msg: err.Error()})
			}
		}
		for i := first; i < len(stmts); i++ {
			stmts[i].src = src
		}
		if len(errs) >= maxErrors {
			break
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, &RewriteError{File: file, Line: n + 1, Msg: "reading: " + err.Error()})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return stmts, nil
}

func (r *rewriter) errorf(format string, args ...any) {
	e := &RewriteError{File: r.file, Msg: fmt.Sprintf(format, args...)}
	if r.st != nil {
		e.Line = r.st.line
		e.Text = r.st.text
	}
	if r.st != nil && r.st.src != "" {
		e.Source = r.st.src + " (inline assembly)"
	} else if r.srcFile != "" && r.srcLine > 0 {
		e.Source = fmt.Sprintf("%s:%d", r.srcFile, r.srcLine)
	}
	r.errs = append(r.errs, e)
}

func (r *rewriter) emit(s string) {
	r.out.WriteByte('\t')
	r.out.WriteString(s)
	r.out.WriteByte('\n')
}

// enterSection emits the base label of an executable section the first
// time it is entered; call-alignment padding is computed relative to it.
func (r *rewriter) enterSection() {
	if !r.cur.exec {
		return
	}
	if _, ok := r.seen[r.cur.key]; ok {
		return
	}
	r.nbase++
	lbl := fmt.Sprintf(".Lhalite_base%d", r.nbase)
	r.seen[r.cur.key] = lbl
	r.emit(".p2align 5")
	r.out.WriteString(lbl + ":\n")
}

// parseSection interprets a section-switching directive. It returns false
// if st does not switch sections.
func sectionOf(dir, args string) (section, bool, error) {
	switch dir {
	case ".text":
		if args != "" {
			return section{}, true, fmt.Errorf("subsections are not supported")
		}
		return section{key: ".text", exec: true}, true, nil
	case ".data", ".bss":
		if args != "" {
			return section{}, true, fmt.Errorf("subsections are not supported")
		}
		return section{key: dir}, true, nil
	case ".section", ".pushsection":
		parts, err := splitOperands(args)
		if err != nil || len(parts) == 0 {
			return section{}, true, fmt.Errorf("bad section directive")
		}
		name := strings.Trim(parts[0], "\"")
		s := section{key: name}
		if len(parts) >= 4 {
			s.key += "|" + parts[3]
		}
		if len(parts) >= 2 && strings.HasPrefix(parts[1], "\"") {
			s.exec = strings.Contains(parts[1], "x")
		} else {
			s.exec = name == ".text" || strings.HasPrefix(name, ".text.") || name == ".init" || name == ".fini"
		}
		s.debug = strings.HasPrefix(name, ".debug") || name == ".eh_frame" || strings.HasPrefix(name, ".note") || name == ".comment" || name == ".gcc_except_table"
		if len(parts) >= 2 && dir == ".pushsection" && !strings.HasPrefix(parts[1], "\"") {
			return section{}, true, fmt.Errorf("subsections are not supported")
		}
		return s, true, nil
	}
	return section{}, false, nil
}

// stripTLSPadding removes the padding of general-dynamic TLS sequences
// (`data16 leaq x@tlsgd(%rip), %rdi`, then `.value 0x6666` or `.byte 0x66`
// and `rex64` before the call to __tls_get_addr). The prefixes only exist so
// that a linker can relax the sequence in place, which it never does for a
// shared object; the call itself is sandboxed like any other. Nothing else
// is touched: a 0x66 byte that is not part of such a sequence stays and is
// refused as data in code.
func stripTLSPadding(stmts []stmt) []stmt {
	isTLSCall := func(st *stmt) bool {
		if st.kind != stmtInstr || !strings.HasPrefix(st.mnem, "call") || len(st.ops) != 1 {
			return false
		}
		d := st.ops[0].disp
		return d == "__tls_get_addr@PLT" || d == "__tls_get_addr@plt" || d == "__tls_get_addr" ||
			(d == "__tls_get_addr@GOTPCREL" && st.ops[0].base == "rip")
	}
	isTLSGD := func(st *stmt) bool {
		return st.kind == stmtInstr && (st.mnem == "lea" || st.mnem == "leaq") && len(st.ops) == 2 &&
			st.ops[0].kind == opMem && st.ops[0].base == "rip" && strings.HasSuffix(st.ops[0].disp, "@tlsgd")
	}
	isPad := func(st *stmt) bool {
		if st.kind == stmtInstr {
			return st.mnem == "rex64" || st.mnem == "data16"
		}
		if st.kind != stmtDirective {
			return false
		}
		switch st.dir {
		case ".byte":
			return st.args == "0x66"
		case ".value", ".word", ".short", ".2byte":
			return st.args == "0x6666"
		}
		return false
	}
	// stripPrefixes drops data16/rex64 from an instruction and renders its
	// text again.
	stripPrefixes := func(st *stmt) {
		var keep []string
		for _, p := range st.prefixes {
			if p != "data16" && p != "rex64" {
				keep = append(keep, p)
			}
		}
		if len(keep) == len(st.prefixes) {
			return
		}
		st.prefixes = keep
		var b strings.Builder
		for _, p := range keep {
			b.WriteString(p + " ")
		}
		b.WriteString(st.mnem)
		if len(st.ops) > 0 {
			b.WriteString(" " + joinOps(st.ops))
		}
		st.text = b.String()
	}
	out := stmts[:0:0]
	for i := 0; i < len(stmts); i++ {
		st := stmts[i]
		if isPad(&st) {
			// Padding must sit between the lea and the call (or before the
			// lea): look past further padding for either.
			j := i + 1
			for j < len(stmts) && isPad(&stmts[j]) {
				j++
			}
			if j < len(stmts) && (isTLSCall(&stmts[j]) || isTLSGD(&stmts[j])) {
				continue
			}
		}
		if isTLSGD(&st) || isTLSCall(&st) {
			stripPrefixes(&st)
		}
		out = append(out, st)
	}
	return out
}

// collectPreemptible finds the symbols of a file that a direct branch must
// not bind to at link time: those made global or weak without hidden,
// internal or protected visibility, and IFUNC symbols (also returned alone).
func collectPreemptible(stmts []stmt) (out, ifunc map[string]bool) {
	global := map[string]bool{}
	bound := map[string]bool{}
	out = map[string]bool{}
	ifunc = map[string]bool{}
	for i := range stmts {
		st := &stmts[i]
		if st.kind != stmtDirective {
			continue
		}
		switch st.dir {
		case ".globl", ".global", ".weak":
			for _, p := range strings.Split(st.args, ",") {
				global[strings.TrimSpace(p)] = true
			}
		case ".hidden", ".internal", ".protected":
			for _, p := range strings.Split(st.args, ",") {
				bound[strings.TrimSpace(p)] = true
			}
		case ".type":
			if parts, err := splitOperands(st.args); err == nil && len(parts) == 2 && strings.Contains(parts[1], "gnu_indirect_function") {
				out[parts[0]] = true
				ifunc[parts[0]] = true
			}
		}
	}
	for s := range global {
		if !bound[s] {
			out[s] = true
		}
	}
	return out, ifunc
}

// collectAlignLabels finds the labels in executable sections whose address
// is taken (referenced outside direct branches and debug sections: jump
// tables, computed goto, function pointers, exported or aliased symbols) and
// IFUNC resolvers: all are possible indirect-branch targets and must start a
// bundle. A function only ever branched to directly (a static function whose
// address is not taken) stays unaligned: its entry is an ordinary direct
// branch target.
func collectAlignLabels(stmts []stmt) (align, defined map[string]bool) {
	inExec := map[string]bool{}
	defined = map[string]bool{}
	refs := map[string]bool{}
	cur := section{key: ".text", exec: true}
	var prev section
	var stack []section
	for i := range stmts {
		st := &stmts[i]
		switch st.kind {
		case stmtLabel:
			defined[st.label] = true
			if cur.exec {
				inExec[st.label] = true
			}
		case stmtDirective:
			if s, ok, err := sectionOf(st.dir, st.args); ok && err == nil {
				if st.dir == ".pushsection" {
					stack = append(stack, cur)
				}
				prev, cur = cur, s
				continue
			}
			switch st.dir {
			case ".popsection":
				if len(stack) > 0 {
					prev, cur = cur, stack[len(stack)-1]
					stack = stack[:len(stack)-1]
				}
			case ".previous":
				prev, cur = cur, prev
			case ".type":
				// An IFUNC resolver is called by the loader. A plain
				// function needs no alignment for being one: only its
				// address being taken or exported makes it an
				// indirect-branch target.
				if parts, err := splitOperands(st.args); err == nil && len(parts) == 2 && strings.Contains(parts[1], "gnu_indirect_function") {
					refs[parts[0]] = true
				}
			case ".size", ".loc", ".loc_view", ".file", ".ident", ".p2align", ".align", ".balign", ".p2alignw", ".p2alignl", ".balignw", ".balignl":
				// Names here never take an address.
			case ".set", ".equ", ".equiv", ".eqv":
				if parts, err := splitOperands(st.args); err == nil && len(parts) == 2 {
					defined[parts[0]] = true
					for _, id := range identifiers(parts[1]) {
						refs[id] = true
					}
				}
			case "=":
				if eq := strings.IndexByte(st.args, '='); eq > 0 {
					defined[strings.TrimSpace(st.args[:eq])] = true
					for _, id := range identifiers(st.args[eq+1:]) {
						refs[id] = true
					}
				}
			default:
				// Data (outside debug sections, whose label references
				// are not branch targets) and every other directive
				// naming a symbol (.globl, .weak, .symver, .weakref,
				// .cfi_personality, ...) count as taking its address.
				if !cur.debug || !dataDirectives[st.dir] {
					for _, id := range identifiers(st.args) {
						refs[id] = true
					}
				}
			}
		case stmtInstr:
			if isDirectBranch(st) {
				continue
			}
			for _, o := range st.ops {
				if o.kind == opImm || o.kind == opMem {
					for _, id := range identifiers(o.text) {
						refs[id] = true
					}
				}
			}
		}
	}
	align = map[string]bool{}
	for l := range refs {
		if inExec[l] {
			align[l] = true
		}
	}
	return align, defined
}

// identifiers returns the symbol names in an expression (not relocation
// specifiers after '@', not numbers, not registers).
func identifiers(expr string) []string {
	var ids []string
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '%' || c == '@':
			i++
			for i < len(expr) && isIdentChar(expr[i]) {
				i++
			}
		case c == '"':
			j := strings.IndexByte(expr[i+1:], '"')
			if j < 0 {
				return ids
			}
			i += j + 2
		case c >= '0' && c <= '9':
			for i < len(expr) && isIdentChar(expr[i]) {
				i++
			}
		case isIdentStart(c):
			j := i
			for j < len(expr) && isIdentChar(expr[j]) {
				j++
			}
			if expr[i:j] != "." {
				ids = append(ids, expr[i:j])
			}
			i = j
		default:
			i++
		}
	}
	return ids
}

var dataDirectives = map[string]bool{
	".byte": true, ".2byte": true, ".4byte": true, ".8byte": true, ".short": true,
	".word": true, ".hword": true, ".value": true, ".long": true, ".int": true,
	".quad": true, ".octa": true, ".ascii": true, ".asciz": true, ".string": true,
	".fill": true, ".zero": true, ".skip": true, ".space": true, ".dc": true,
	".dc.b": true, ".dc.w": true, ".dc.l": true, ".dc.a": true, ".inst": true,
	".insn": true, ".incbin": true, ".float": true, ".double": true, ".single": true,
	".uleb128": true, ".sleb128": true, ".string8": true, ".string16": true,
}

func (r *rewriter) statement(st *stmt) {
	switch st.kind {
	case stmtLabel:
		if r.cur.exec && r.align[st.label] {
			r.emit(".p2align 5")
		}
		r.out.WriteString(st.text + "\n")
	case stmtDirective:
		r.directive(st)
	case stmtInstr:
		if !r.cur.exec {
			r.emit(st.text)
			return
		}
		r.instruction(st)
	}
}

func (r *rewriter) directive(st *stmt) {
	if s, ok, err := sectionOf(st.dir, st.args); ok {
		if err != nil {
			r.errorf("%v", err)
			return
		}
		if st.dir == ".pushsection" {
			r.stack = append(r.stack, r.cur)
		}
		r.prev, r.cur = r.cur, s
		r.emit(st.text)
		r.enterSection()
		return
	}
	switch st.dir {
	case ".popsection":
		if len(r.stack) == 0 {
			r.errorf(".popsection without .pushsection")
			return
		}
		r.prev, r.cur = r.cur, r.stack[len(r.stack)-1]
		r.stack = r.stack[:len(r.stack)-1]
	case ".previous":
		r.prev, r.cur = r.cur, r.prev
	case ".subsection":
		r.errorf("subsections are not supported")
		return
	case ".bundle_align_mode", ".bundle_lock", ".bundle_unlock", ".code16", ".code32", ".code16gcc":
		r.errorf("directive %s is not allowed in halite cc input", st.dir)
		return
	case ".cfi_startproc":
		r.inCFI = true
	case ".cfi_endproc":
		r.inCFI = false
	case ".file":
		parts := strings.Fields(st.args)
		if len(parts) >= 2 {
			if _, err := strconv.Atoi(parts[0]); err == nil {
				name := parts[len(parts)-1]
				if len(parts) >= 3 && strings.HasPrefix(parts[1], "\"") && strings.HasPrefix(parts[2], "\"") {
					name = parts[2]
				}
				r.files[parts[0]] = strings.Trim(name, "\"")
			}
		} else if len(parts) == 1 {
			r.srcFile = strings.Trim(parts[0], "\"")
		}
	case ".loc":
		parts := strings.Fields(st.args)
		if len(parts) >= 2 {
			if f, ok := r.files[parts[0]]; ok {
				r.srcFile = f
			}
			if n, err := strconv.Atoi(parts[1]); err == nil {
				r.srcLine = n
			}
		}
	default:
		if r.cur.exec && dataDirectives[st.dir] {
			r.errorf("data directive %s in an executable section (encoded instructions cannot be checked or rewritten)", st.dir)
			return
		}
	}
	r.emit(st.text)
}

// --- instructions ---

var forbidden = map[string]string{}

func init() {
	for _, m := range strings.Fields(`syscall sysenter sysexit sysret sysretq sysretl int int1 int3 into iret iretq iretl iretw
		in inb inw inl out outb outw outl ins insb insw insl insd outs outsb outsw outsl outsd
		pushf pushfq pushfw popf popfq popfw enter enterq leavew xlat xlatb lgdt lidt lldt ltr sgdt sidt sldt str
		cli sti clts invd wbinvd invlpg rdmsr wrmsr swapgs rdfsbase rdgsbase wrfsbase wrgsbase
		lcall ljmp lret lretq lretl lcallq ljmpq lds les lfs lgs lss vmcall vmlaunch vmresume vmxoff
		monitor mwait xsetbv rdpmc`) {
		forbidden[m] = "instruction " + m + " is forbidden in the sandbox"
	}
}

var stringBase = map[string]string{"movs": "sd", "stos": "d", "lods": "s", "scas": "d", "cmps": "sd"}

// stringOp reports whether st is a string instruction and which of rsi
// ('s') and rdi ('d') it uses.
func stringOp(st *stmt) (string, bool) {
	m := st.mnem
	if len(m) < 4 {
		return "", false
	}
	uses, ok := stringBase[m[:4]]
	if !ok {
		return "", false
	}
	suf := m[4:]
	if suf != "" && suf != "b" && suf != "w" && suf != "l" && suf != "q" && suf != "d" {
		return "", false
	}
	for _, o := range st.ops {
		if o.kind != opMem || !o.hasParen || (o.base != "rsi" && o.base != "rdi" && o.base != "esi" && o.base != "edi") || o.index != "" {
			return "", false
		}
	}
	return uses, true
}

func isDirectBranch(st *stmt) bool {
	if len(st.ops) != 1 || st.ops[0].star || st.ops[0].kind == opReg {
		return false
	}
	m := st.mnem
	return m == "jmp" || m == "call" || m == "callq" || m == "jmpq" || (m[0] == 'j' && m != "jmpl") || strings.HasPrefix(m, "loop") || m == "xbegin"
}

// writesLast reports whether the instruction writes its last operand.
func writesLast(m string) bool {
	for _, p := range []string{"cmp", "test", "push", "bt", "ucomis", "comis", "ptest", "vptest"} {
		if strings.HasPrefix(m, p) && !strings.HasPrefix(m, "btc") && !strings.HasPrefix(m, "btr") && !strings.HasPrefix(m, "bts") && !strings.HasPrefix(m, "cmpxchg") && !strings.HasPrefix(m, "cmov") {
			return false
		}
	}
	return true
}

// needsSandbox reports whether a memory operand must be rewritten through
// %r11: any base other than %rsp, %rbp (the frame pointer, fixed by the
// flags), %r15 or %rip, or any index register.
func needsSandbox(o operand) bool {
	if o.kind != opMem {
		return false
	}
	if o.base == "rip" {
		return false
	}
	if o.index == "" && (o.base == "rsp" || o.base == "rbp" || o.base == "r15") {
		return false
	}
	return true
}

// nopsPad returns the two .nops directives that place an instruction
// sequence of n bytes so that it ends exactly at a bundle end: the first
// skips to the next bundle if the sequence does not fit in this one, the
// second pads up to 32-n. Both sizes are expressions over the offset from
// the section's base label, resolved by GNU as during relaxation.
func (r *rewriter) nopsPad(n int) {
	r.fitPad(n)
	r.emit(fmt.Sprintf(".nops %d - ((. - %s) & 31)", 32-n, r.seen[r.cur.key]))
}

// fitPad moves to the next bundle, with long nops, when a locked group of
// n bytes would not fit in the rest of this one (the assembler's own
// bundle padding uses one-byte nops).
func (r *rewriter) fitPad(n int) {
	r.fitPadExpr(fmt.Sprint(n - 1))
}

// fitPadExpr is fitPad for a group whose size minus one is an assembler
// expression.
func (r *rewriter) fitPadExpr(sizeMinus1 string) {
	b := r.seen[r.cur.key]
	off := fmt.Sprintf("((. - %s) & 31)", b)
	r.emit(fmt.Sprintf(".nops (32 - %s) * ((%s + %s) >> 5)", off, off, sizeMinus1))
}

// lock emits lines as one bundle-locked group, preceded by the long nops
// that move it to the next bundle when it would not fit in this one (GNU
// as pads a locked group with one-byte nops, one executed instruction per
// byte). The group's size is measured by two labels around it: the
// assembler resolves the padding during relaxation (when the padding is
// taken, its own is zero, so the measured size is the group's).
func (r *rewriter) lock(lines ...string) {
	r.nlock++
	start := fmt.Sprintf(".Lhalite_ls%d", r.nlock)
	end := fmt.Sprintf(".Lhalite_le%d", r.nlock)
	r.fitPadExpr("(" + end + " - " + start + " - 1)")
	r.out.WriteString(start + ":\n")
	r.rawLock(lines...)
	r.out.WriteString(end + ":\n")
}

// rawLock emits lines as one bundle-locked group, with no padding of its
// own (the caller has placed it).
func (r *rewriter) rawLock(lines ...string) {
	r.emit(".bundle_lock")
	for _, l := range lines {
		r.emit(l)
	}
	r.emit(".bundle_unlock")
}

// maskedBranch emits the masked indirect branch through %r11.
func (r *rewriter) maskedBranch(kind string) {
	if kind == "call" {
		r.nopsPad(10)
	} else {
		r.fitPad(10)
	}
	r.rawLock("andl $-32, %r11d", "addq %r15, %r11", kind+" *%r11")
}

// loadR11 loads the value of operand o (a register or memory operand, the
// target of an indirect branch) into %r11.
func (r *rewriter) loadR11(o operand) bool {
	o.star = false
	switch o.kind {
	case opReg:
		fam := family(o.reg)
		if fam == "" || regInfo[o.reg].width != 64 {
			r.errorf("indirect branch through %%%s: need a 64-bit general register", o.reg)
			return false
		}
		r.emit("movq %" + o.reg + ", %r11")
		return true
	case opMem:
		if o.seg != "" {
			r.errorf("indirect branch through a segment-relative operand")
			return false
		}
		if needsSandbox(o) {
			load, rep := sandboxMem(o)
			r.lock(load, "movq "+rep.String()+", %r11")
		} else {
			r.emit("movq " + o.memString() + ", %r11")
		}
		return true
	}
	r.errorf("bad indirect branch operand")
	return false
}

func (r *rewriter) ret() {
	r.emit("popq %r11")
	if r.inCFI {
		r.emit(".cfi_adjust_cfa_offset -8")
	}
	r.fitPad(10)
	r.rawLock("andl $-32, %r11d", "addq %r15, %r11", "jmp *%r11")
	if r.inCFI {
		r.emit(".cfi_adjust_cfa_offset 8")
	}
}

// popBase emits a pop into %rbp or %rsp in its sandboxed form.
func (r *rewriter) popBase(fam string) {
	r.emit("popq %r11")
	r.lock("movl %r11d, %"+reg32of[fam], "addq %r15, %"+fam)
}

func (r *rewriter) instruction(st *stmt) {
	m := st.mnem
	if msg, bad := forbidden[m]; bad {
		r.errorf("%s", msg)
		return
	}
	var prefixes []string
	for _, p := range st.prefixes {
		switch p {
		case "notrack", "bnd":
			continue
		case "cs", "ds", "es", "ss", "fs", "gs":
			r.errorf("segment override prefix %s is forbidden", p)
			return
		}
		prefixes = append(prefixes, p)
	}
	pre := strings.Join(prefixes, " ")
	if pre != "" {
		pre += " "
	}
	// Registers reserved for the sandbox.
	for i, o := range st.ops {
		regs := []string{}
		if o.kind == opReg {
			regs = append(regs, o.reg)
		} else if o.kind == opMem {
			regs = append(regs, o.base, o.index)
		}
		for _, g := range regs {
			switch family(g) {
			case "r11":
				r.errorf("uses %%r11, which halite cc reserves as its scratch register")
				return
			case "r15":
				if o.kind == opReg && (i == len(st.ops)-1 && writesLast(m) || m == "xchg" || strings.HasPrefix(m, "xadd") || strings.HasPrefix(m, "xchg")) {
					r.errorf("writes %%r15, the sandbox base register")
					return
				}
			}
		}
	}
	switch m {
	case "ret", "retq", "retl", "retw":
		if len(st.ops) != 0 {
			r.errorf("ret with an immediate is not supported")
			return
		}
		r.ret()
		return
	case "leave", "leaveq", "leavel":
		r.emit("movq %rbp, %rsp")
		r.popBase("rbp")
		return
	case "pop", "popq":
		if len(st.ops) == 1 && st.ops[0].kind == opReg && (st.ops[0].reg == "rbp" || st.ops[0].reg == "rsp") {
			r.popBase(st.ops[0].reg)
			return
		}
	}
	if m == "call" || m == "callq" || m == "jmp" || m == "jmpq" {
		kind := "jmp"
		if strings.HasPrefix(m, "call") {
			kind = "call"
		}
		if len(st.ops) != 1 {
			r.errorf("%s needs one operand", m)
			return
		}
		o := st.ops[0]
		if o.star {
			if r.loadR11(o) {
				r.maskedBranch(kind)
			}
			return
		}
		if o.kind != opMem || o.hasParen {
			r.errorf("bad branch target")
			return
		}
		sym, plt := strings.CutSuffix(o.disp, "@PLT")
		if !plt {
			sym, plt = strings.CutSuffix(o.disp, "@plt")
		}
		if !plt && isSymbol(o.disp) && (!r.defined[o.disp] || r.preemptible[o.disp]) && !strings.HasPrefix(o.disp, ".L") {
			// A direct branch to a symbol this file does not define, or
			// defines but may not bind to, would need a PLT stub: go
			// through the GOT instead.
			sym, plt = o.disp, true
		}
		if plt {
			r.emit("movq " + sym + "@GOTPCREL(%rip), %r11")
			r.maskedBranch(kind)
			return
		}
		if kind == "call" {
			r.nopsPad(5)
		}
		r.emit(pre + m + " " + o.disp)
		return
	}
	if isDirectBranch(st) {
		r.emit(st.text)
		return
	}
	if uses, ok := stringOp(st); ok {
		var seq []string
		if strings.Contains(uses, "s") {
			seq = append(seq, "movl %esi, %esi", "leaq (%r15,%rsi), %rsi")
		}
		if strings.Contains(uses, "d") {
			seq = append(seq, "movl %edi, %edi", "leaq (%r15,%rdi), %rdi")
		}
		seq = append(seq, pre+m)
		r.lock(seq...)
		return
	}
	if m == "rep" || m == "repz" || m == "repe" || m == "repnz" || m == "repne" || m == "lock" {
		r.errorf("lone prefix %s: put it on the same line as its instruction", m)
		return
	}
	if strings.HasPrefix(m, "bt") && len(st.ops) == 2 && st.ops[0].kind == opReg && st.ops[1].kind == opMem {
		r.errorf("bit test with a register bit offset into memory is forbidden")
		return
	}
	if (m == "lea" || m == "leaq") && len(st.ops) == 2 && st.ops[0].kind == opMem && st.ops[0].base == "rip" && st.ops[0].index == "" && r.ifunc[st.ops[0].disp] && st.ops[1].kind == opReg {
		// The address of an IFUNC defined here: a PC-relative lea would make
		// the linker point it at a PLT stub (an unvalidatable indirect
		// jump); load the resolved address from the GOT instead.
		r.emit(pre + "movq " + st.ops[0].disp + "@GOTPCREL(%rip), " + st.ops[1].text)
		return
	}
	if m == "lea" || m == "leaq" || m == "leal" || m == "leaw" || strings.HasPrefix(m, "nop") || strings.HasPrefix(m, "prefetch") {
		r.final(st, pre, nil, "")
		return
	}
	// Memory operands.
	memIdx := -1
	for i, o := range st.ops {
		if o.kind != opMem {
			continue
		}
		if o.seg != "" {
			r.segment(st, pre, i)
			return
		}
		if needsSandbox(o) {
			if memIdx >= 0 {
				r.errorf("two memory operands that need sandboxing")
				return
			}
			memIdx = i
		}
	}
	if memIdx < 0 {
		r.final(st, pre, nil, "")
		return
	}
	mem := st.ops[memIdx]
	// %ah..%dh cannot be encoded with the REX prefix that %r15/%r11 need:
	// go through a free legacy register.
	hi := ""
	for _, o := range st.ops {
		if o.kind == opReg && isHighByte(o.reg) {
			hi = o.reg
		}
	}
	if hi != "" {
		used := map[string]bool{family(mem.base): true, family(mem.index): true}
		for _, o := range st.ops {
			if o.kind == opReg {
				used[family(o.reg)] = true
			}
		}
		tmp := ""
		for _, c := range []string{"rbx", "rcx", "rdx", "rax"} {
			if !used[c] {
				tmp = c
				break
			}
		}
		if tmp == "" || mem.base == "rsp" {
			r.errorf("cannot rewrite %%%s with a sandboxed memory operand", hi)
			return
		}
		low := map[string]string{"rax": "al", "rbx": "bl", "rcx": "cl", "rdx": "dl"}[tmp]
		ops := append([]operand(nil), st.ops...)
		for i := range ops {
			if ops[i].kind == opReg && ops[i].reg == hi {
				ops[i].reg = low
			}
		}
		load, rep := sandboxMem(st.ops[memIdx])
		ops[memIdx] = rep
		r.emit("pushq %" + tmp)
		r.emit("movb %" + hi + ", %" + low)
		r.lock(load, pre+m+" "+joinOps(ops))
		r.emit("movb %" + low + ", %" + hi)
		r.emit("popq %" + tmp)
		return
	}
	ops := append([]operand(nil), st.ops...)
	load, rep := sandboxMem(mem)
	ops[memIdx] = rep
	r.final(st, pre, ops, load)
}

// isSymbol reports whether s is a plain symbol name.
func isSymbol(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isIdentChar(s[i]) {
			return false
		}
	}
	return true
}

// sandboxMem returns the instruction that puts the sandbox offset of
// memory operand o into %r11d (zero-extending, so that %r11 may index from
// %r15) and the operand that replaces o. A base register alone is copied
// with a 32-bit mov (which the CPU eliminates at rename) and keeps its
// displacement on the access (the guard regions absorb it); anything with
// an index is computed exactly with lea. A displacement with a relocation
// operator (x@dtpoff, the local-dynamic TLS form) cannot be assembled into a
// 32-bit lea (GNU as refuses the signedness), so the address is computed in
// 64 bits and then truncated by a 32-bit move.
func sandboxMem(o operand) (string, operand) {
	if o.base != "" && o.index == "" && regInfo[o.base].width == 64 && family(o.base) != "rip" {
		return "movl %" + reg32of[family(o.base)] + ", %r11d", operand{kind: opMem, hasParen: true, disp: o.disp, base: "r15", index: "r11"}
	}
	if strings.Contains(o.disp, "@") {
		return "leaq " + o.memString() + ", %r11\n\tmovl %r11d, %r11d", operand{kind: opMem, hasParen: true, base: "r15", index: "r11"}
	}
	return "leal " + o.memString() + ", %r11d", operand{kind: opMem, hasParen: true, base: "r15", index: "r11"}
}

func joinOps(ops []operand) string {
	s := make([]string, len(ops))
	for i, o := range ops {
		s[i] = o.String()
	}
	return strings.Join(s, ", ")
}

// segment handles an instruction with a segment-relative memory operand:
// only %fs:0 (the thread pointer) may be read.
func (r *rewriter) segment(st *stmt, pre string, i int) {
	o := st.ops[i]
	if o.seg != "fs" || o.base != "" || o.index != "" || (o.disp != "0" && o.disp != "0x0") {
		r.errorf("segment-relative memory access (only %%fs:0 may be read)")
		return
	}
	m := st.mnem
	if (m == "mov" || m == "movq") && i == 0 && len(st.ops) == 2 && st.ops[1].kind == opReg && regInfo[st.ops[1].reg].width == 64 {
		r.emit(pre + "movq %fs:0, %" + st.ops[1].reg)
		return
	}
	if !strings.HasSuffix(m, "q") && !(len(st.ops) == 2 && st.ops[1].kind == opReg && regInfo[st.ops[1].reg].width == 64) {
		r.errorf("only 64-bit operations may use %%fs:0")
		return
	}
	ops := append([]operand(nil), st.ops...)
	ops[i] = operand{kind: opReg, reg: "r11"}
	r.emit("movq %fs:0, %r11")
	r.final(st, pre, ops, "")
}

// final emits an instruction (with its operands possibly replaced, and
// preceded in one bundle by load, the instruction that puts a sandboxed
// operand's offset into %r11d), rewriting writes to %rsp and %rbp.
func (r *rewriter) final(st *stmt, pre string, ops []operand, load string) {
	if ops == nil {
		ops = st.ops
	}
	var seq []string
	if load != "" {
		seq = append(seq, load)
	}
	m := st.mnem
	last := len(ops) - 1
	if last >= 0 && ops[last].kind == opReg && writesLast(m) && (family(ops[last].reg) == "rsp" || family(ops[last].reg) == "rbp") {
		dst := ops[last].reg
		fam := family(dst)
		if regInfo[dst].width != 64 {
			r.errorf("write to %%%s (only 64-bit writes to %%rsp/%%rbp can be sandboxed)", dst)
			return
		}
		if (m == "mov" || m == "movq") && len(ops) == 2 && ops[0].kind == opReg && (ops[0].reg == "rsp" || ops[0].reg == "rbp") && load == "" {
			r.emit(pre + m + " " + joinOps(ops)) // mov %rsp,%rbp / mov %rbp,%rsp
			return
		}
		if fam == "rsp" && (m == "and" || m == "andq") && ops[0].kind == opImm && load == "" {
			if v, err := strconv.ParseInt(strings.TrimPrefix(ops[0].text, "$"), 0, 64); err == nil && v < 0 && v >= -128 {
				r.emit(pre + m + " " + joinOps(ops))
				return
			}
		}
		if m == "xchg" || m == "xchgq" || strings.HasPrefix(m, "xadd") || strings.HasPrefix(m, "cmpxchg") || strings.HasPrefix(m, "pop") {
			r.errorf("cannot sandbox this write to %%%s", dst)
			return
		}
		m32 := m
		if strings.HasSuffix(m, "q") && len(m) > 1 {
			m32 = m[:len(m)-1] + "l"
		}
		ops32 := append([]operand(nil), ops...)
		for i := range ops32 {
			if ops32[i].kind == opReg && regInfo[ops32[i].reg].width == 64 && family(ops32[i].reg) != "" && family(ops32[i].reg) != "rip" {
				ops32[i].reg = reg32of[family(ops32[i].reg)]
			}
		}
		seq = append(seq, pre+m32+" "+joinOps(ops32), "addq %r15, %"+fam)
		r.lock(seq...)
		return
	}
	text := pre + m
	if len(ops) > 0 {
		text += " " + joinOps(ops)
	}
	if len(seq) == 0 {
		r.emit(text)
		return
	}
	seq = append(seq, text)
	r.lock(seq...)
}
