package validate

import (
	"encoding/binary"
	"testing"
)

// The jump-target check of NaCl's test runner: for every valid reference
// case, a direct jump to each byte offset must be accepted exactly when the
// offset is an instruction boundary outside indivisible groups, i.e. a
// Groups entry of the hex text or a padding nop. Verdict.IsTarget must
// report the same set.

// expectedTargets returns, for the case's padded code, whether each offset
// is a boundary declared by the hex text (Groups) or a padding nop.
func expectedTargets(hc *HexCase) []bool {
	want := make([]bool, len(hc.Code))
	for _, g := range hc.Groups {
		want[g] = true
	}
	for o := hc.Len; o < len(hc.Code); o++ {
		want[o] = true
	}
	return want
}

// jumpBundle returns a 32-byte bundle of nops holding one direct jump or
// call that, with the bundle at chunk offset at, targets chunk offset
// target. kind selects the encoding: 0 jmp rel32, 1 jcc rel32, 2 call
// rel32 ending at the bundle end, 3 jmp rel8 / jcc rel8 when in range
// (else jmp rel32).
func jumpBundle(at, target, kind int) []byte {
	b := make([]byte, 32)
	for i := range b {
		b[i] = 0x90
	}
	rel32 := func(pos, n int) {
		binary.LittleEndian.PutUint32(b[pos+n-4:], uint32(int32(target-(at+pos+n))))
	}
	switch kind {
	case 0:
		b[0] = 0xe9
		rel32(0, 5)
	case 1:
		b[3], b[4] = 0x0f, 0x85 // jne
		rel32(3, 6)
	case 2:
		b[27] = 0xe8
		rel32(27, 5)
	default:
		pos := 7
		d := target - (at + pos + 2)
		if d < -128 || d > 127 {
			b[0] = 0xe9
			rel32(0, 5)
			break
		}
		b[pos] = 0xeb
		if target%2 == 1 {
			b[pos] = 0x74 // je
		}
		b[pos+1] = byte(int8(d))
	}
	return b
}

func TestJumpTargets(t *testing.T) {
	cases := refCases(t)
	val := New(refOpts)
	var checked, jumps, skipped int
	for _, c := range cases {
		if !c.Valid {
			continue
		}
		code := c.Hex.Code
		vd := val.Validate(code, refBase)
		if !vd.Valid() {
			skipped++ // a reference mismatch, reported by TestReferenceSuite
			continue
		}
		checked++
		want := expectedTargets(c.Hex)
		for o := range code {
			if vd.IsTarget(o) != want[o] {
				t.Errorf("%s: IsTarget(%#x) = %v, want %v", c.ID, o, vd.IsTarget(o), want[o])
			}
		}
		if vd.IsTarget(-1) || vd.IsTarget(len(code)) {
			t.Errorf("%s: IsTarget true outside the chunk", c.ID)
		}
		n := len(code)
		for o := 0; o <= n; o++ {
			wantOK := o == n || want[o]
			// A jump after the case, backward to o.
			after := append(append(make([]byte, 0, n+32), code...), jumpBundle(n, o, o%4)...)
			// A jump before the case, forward to o (offsets shift by 32).
			before := append(jumpBundle(0, 32+o, (o+1)%4), code...)
			for _, chunk := range []struct {
				name    string
				code    []byte
				jumpAt  int // bundle holding the jump
				caseOff int // where the case starts
			}{{"after", after, n, 0}, {"before", before, 0, 32}} {
				jumps++
				vd := val.Validate(chunk.code, refBase)
				if vd.Valid() != wantOK {
					t.Errorf("%s: jump %s the case to offset %#x: valid=%v, want %v; %v", c.ID, chunk.name, o, vd.Valid(), wantOK, vd.Err())
					continue
				}
				if !wantOK {
					for _, v := range vd.Violations {
						if v.Offset < chunk.jumpAt || v.Offset >= chunk.jumpAt+32 || v.Rule != RuleBadJumpTarget {
							t.Errorf("%s: jump %s the case to offset %#x: unexpected violation %v", c.ID, chunk.name, o, v)
						}
					}
				}
				if o < n && vd.IsTarget(chunk.caseOff+o) != want[o] {
					t.Errorf("%s: jump %s: IsTarget(%#x) = %v, want %v", c.ID, chunk.name, chunk.caseOff+o, !want[o], want[o])
				}
			}
		}
	}
	if checked == 0 {
		t.Fatalf("no valid reference case is accepted (%d skipped)", skipped)
	}
	t.Logf("jump targets: %d valid cases checked (%d skipped as reference mismatches), %d jump chunks validated", checked, skipped, jumps)
}

// TestJumpOutside checks targets outside the chunk: 32-aligned ones are
// accepted, others rejected with RuleJumpOutOfRange.
func TestJumpOutside(t *testing.T) {
	val := New(refOpts)
	for _, target := range []int{-64, -33, -32, -31, -1, 64, 65, 95, 96, 1 << 20, 1<<20 + 3, -(1 << 20)} {
		for kind := 0; kind < 4; kind++ {
			code := append(jumpBundle(0, target, kind), jumpBundle(32, target, (kind+1)%4)...)
			vd := val.Validate(code, refBase)
			wantOK := target%32 == 0
			if vd.Valid() != wantOK {
				t.Errorf("target %d kind %d: valid=%v, want %v: %v", target, kind, vd.Valid(), wantOK, vd.Err())
				continue
			}
			for _, v := range vd.Violations {
				if v.Rule != RuleJumpOutOfRange {
					t.Errorf("target %d kind %d: %v, want rule %s", target, kind, v, RuleJumpOutOfRange)
				}
			}
			if !wantOK && len(vd.Violations) != 2 {
				t.Errorf("target %d kind %d: %d violations, want 2 (one per jump)", target, kind, len(vd.Violations))
			}
		}
	}
}
