package validate

import (
	"fmt"
	"strings"
)

// Profile selects the rule set.
type Profile uint8

const (
	// NaCl is exactly Native Client's x86-64 rule set.
	NaCl Profile = iota
	// Halite is NaCl plus one extra form: the thread-pointer read
	// `mov %fs:0x0,%reg64` (any 64-bit destination other than %r15,
	// %rsp and %rbp).
	Halite
)

// String returns "nacl" or "halite".
func (p Profile) String() string {
	switch p {
	case NaCl:
		return "nacl"
	case Halite:
		return "halite"
	}
	return fmt.Sprintf("Profile(%d)", uint8(p))
}

// ParseProfile maps "nacl" or "halite" to a Profile.
func ParseProfile(s string) (Profile, error) {
	switch s {
	case "nacl":
		return NaCl, nil
	case "halite":
		return Halite, nil
	}
	return 0, fmt.Errorf("validate: unknown profile %q (want nacl or halite)", s)
}

// Options configures a validation.
type Options struct {
	// Profile is the rule set (NaCl by default).
	Profile Profile
	// Features are the CPU features whose instructions are accepted;
	// instructions of any other feature are rejected with RuleCPUFeature.
	// Use HostFeatures() for this machine or AllFeatures for reference
	// tests. The zero value accepts only instructions that need no
	// optional feature.
	Features Features
	// MaxErrors stops collecting violations after this many; 0 means all.
	MaxErrors int
	// NoDisasm leaves Violation.Disasm empty, saving an x86asm decode per
	// violation (bulk scans of non-SFI code).
	NoDisasm bool
}

// Rule is a stable identifier of one SFI rule; every Violation names one.
type Rule string

// The rules. Their string values are stable and appear in the CLI's JSON.
const (
	// RuleChunkLayout: the chunk's base is not 32-byte aligned or its size
	// is not a multiple of 32.
	RuleChunkLayout Rule = "chunk-layout"
	// RuleUnrecognized: bytes that do not decode to an instruction the
	// validator accepts (undefined, invalid in 64-bit mode, or a prefix
	// combination NaCl does not allow). Validation resumes at the next
	// bundle.
	RuleUnrecognized Rule = "unrecognized-instruction"
	// RuleForbidden: a decodable instruction that sandboxed code may never
	// use (system, privileged, I/O, far transfers, ret, int, syscall,
	// segment register moves, ...). Validation resumes at the next bundle.
	RuleForbidden Rule = "forbidden-instruction"
	// RuleBundleCrossing: an instruction or superinstruction crosses a
	// 32-byte bundle boundary.
	RuleBundleCrossing Rule = "bundle-crossing"
	// RuleIndirectJump: an indirect jmp/call that is not the last part of
	// the masked superinstruction `and $-32,%eXX; add %r15,%rXX; jmp *%rXX`.
	RuleIndirectJump Rule = "unmasked-indirect-jump"
	// RuleSegmentPrefix: a segment override prefix (only the Halite
	// profile's `mov %fs:0x0,%reg64` is allowed).
	RuleSegmentPrefix Rule = "segment-prefix"
	// RuleBadBase: a memory operand whose base is not %r15, %rip, %rsp or
	// %rbp (or that has no base).
	RuleBadBase Rule = "bad-base-register"
	// RuleBadIndex: a memory operand whose index register was not
	// restricted (zero-extended) by the immediately preceding instruction,
	// or is %r15/%rsp/%rbp.
	RuleBadIndex Rule = "bad-index-register"
	// RuleR15Modified: an instruction writes %r15 (or part of it).
	RuleR15Modified Rule = "r15-modified"
	// RuleRSPModified: %spl or %sp is written.
	RuleRSPModified Rule = "rsp-partial-write"
	// RuleRBPModified: %bpl or %bp is written.
	RuleRBPModified Rule = "rbp-partial-write"
	// RuleRSPSandboxing: %rsp is changed other than by an allowed form, a
	// restricted %esp is not followed by `add/or %r15,%rsp` or `lea
	// (%rsp,%r15,1),%rsp`, or such a fix-up has no restricted %esp before
	// it, or %rsp is left restricted at the end of a bundle.
	RuleRSPSandboxing Rule = "rsp-sandboxing"
	// RuleRBPSandboxing: the same as RuleRSPSandboxing for %rbp.
	RuleRBPSandboxing Rule = "rbp-sandboxing"
	// RuleBadJumpTarget: a direct jump or call inside the chunk whose target
	// is not an instruction start outside superinstructions.
	RuleBadJumpTarget Rule = "bad-jump-target"
	// RuleJumpOutOfRange: a direct jump or call to a target outside the
	// chunk that is not 32-byte aligned.
	RuleJumpOutOfRange Rule = "jump-out-of-range"
	// RuleCPUFeature: the instruction needs a CPU feature not in
	// Options.Features.
	RuleCPUFeature Rule = "cpu-feature"
)

// Violation is one rule violation at a byte offset of the chunk.
type Violation struct {
	Offset  int    // byte offset in the chunk
	Rule    Rule   // stable rule identifier
	Message string // human-readable explanation
	Disasm  string // x86asm disassembly of the instruction at Offset ("" if undecodable)
}

// String formats v as "0x1f: rule: message (disasm)".
func (v Violation) String() string {
	s := fmt.Sprintf("%#x: %s: %s", v.Offset, v.Rule, v.Message)
	if v.Disasm != "" {
		s += " (" + v.Disasm + ")"
	}
	return s
}

// Verdict is the result of validating one chunk.
type Verdict struct {
	// Violations lists every violation found (up to Options.MaxErrors) in
	// order of discovery: the instruction-level ones by offset, then the
	// direct-jump ones (RuleBadJumpTarget, RuleJumpOutOfRange) by offset.
	// With MaxErrors, the list is a prefix of the full one.
	Violations []Violation
	// Instructions is the number of instructions decoded.
	Instructions int
	// Bundles is the number of 32-byte bundles in the chunk.
	Bundles int
	// Size is the chunk size in bytes; Base its load address.
	Size int
	Base uint64
	// Truncated is true when violations were dropped because of MaxErrors.
	Truncated bool

	targets []uint64 // bit i: offset i is a valid jump target
}

// Valid reports whether the chunk obeys every rule.
func (v *Verdict) Valid() bool { return v != nil && len(v.Violations) == 0 && !v.Truncated }

// IsTarget reports whether off is a valid direct jump target: the start of
// an instruction that is not inside a superinstruction. Offsets outside
// the chunk report false.
func (v *Verdict) IsTarget(off int) bool {
	if v == nil || off < 0 || off >= v.Size {
		return false
	}
	w := off >> 6
	if w >= len(v.targets) {
		return false
	}
	return v.targets[w]&(1<<(uint(off)&63)) != 0
}

// Err returns nil when the chunk is valid, otherwise an *Error listing the
// violations.
func (v *Verdict) Err() error {
	if v.Valid() {
		return nil
	}
	e := &Error{Violations: append([]Violation(nil), v.Violations...), Truncated: v.Truncated}
	return e
}

// Error is the error returned by Verdict.Err.
type Error struct {
	Violations []Violation
	Truncated  bool
}

// Error lists up to ten violations.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "validate: %d violation(s)", len(e.Violations))
	if e.Truncated {
		b.WriteString(" (more not reported)")
	}
	for i, v := range e.Violations {
		if i == 10 {
			fmt.Fprintf(&b, "; ... and %d more", len(e.Violations)-10)
			break
		}
		b.WriteString("; ")
		b.WriteString(v.String())
	}
	return b.String()
}

// Code validates code loaded at base with a fresh Validator. base must be
// 32-byte aligned and len(code) a multiple of 32, else the verdict holds a
// RuleChunkLayout violation.
func Code(code []byte, base uint64, opts Options) *Verdict {
	return New(opts).Validate(code, base)
}
