package validate

import (
	"fmt"

	"golang.org/x/arch/x86/x86asm"
)

const bundleSize = 32

func layoutMessage(base uint64, size int) string {
	if base%bundleSize != 0 {
		return fmt.Sprintf("load address %#x is not 32-byte aligned", base)
	}
	return fmt.Sprintf("chunk size %d is not a multiple of 32", size)
}

// report records a violation at off unless MaxErrors is reached.
func (v *Validator) report(code []byte, off int, rule Rule, msg string) {
	vd := &v.verdict
	if v.opts.MaxErrors > 0 && len(vd.Violations) >= v.opts.MaxErrors {
		vd.Truncated = true
		return
	}
	d := ""
	if !v.opts.NoDisasm {
		d = disasm(code, off)
	}
	vd.Violations = append(vd.Violations, Violation{Offset: off, Rule: rule, Message: msg, Disasm: d})
}

// disasm returns x86asm's GNU-syntax disassembly of the instruction at off,
// or "" when x86asm cannot decode it. Diagnostics only.
func disasm(code []byte, off int) string {
	if off < 0 || off >= len(code) {
		return ""
	}
	end := min(off+15, len(code))
	in, err := x86asm.Decode(code[off:end], 64)
	if err != nil {
		return ""
	}
	return x86asm.GNUSyntax(in, 0, nil)
}
