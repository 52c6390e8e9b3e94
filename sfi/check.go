package sfi

import "halite/validate"

// ValidatorChecker returns the Checker halite cc uses on everything it
// writes: the validate package, profile Halite, with the host's CPU
// features.
func ValidatorChecker() Checker {
	opts := validate.Options{Profile: validate.Halite, Features: validate.HostFeatures(), MaxErrors: 50}
	return func(code []byte, base uint64) []Violation {
		v := validate.Code(code, base, opts)
		if v.Valid() {
			return nil
		}
		out := make([]Violation, 0, len(v.Violations)+1)
		for _, x := range v.Violations {
			out = append(out, Violation{Addr: base + uint64(x.Offset), Rule: string(x.Rule), Message: x.Message, Disasm: x.Disasm})
		}
		if v.Truncated {
			out = append(out, Violation{Addr: base, Rule: "truncated", Message: "more violations not reported"})
		}
		return out
	}
}

// bothCheckers runs the validator and then BasicCheck (a second, independent
// opinion used by the tests).
func bothCheckers(a, b Checker) Checker {
	return func(code []byte, base uint64) []Violation {
		return append(a(code, base), b(code, base)...)
	}
}
