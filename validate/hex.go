package validate

import (
	"bytes"
	"fmt"
)

// HexCase is code given as NaCl-style hex text (see ParseHex).
type HexCase struct {
	// Code is the bytes, padded with 0x90 (nop) to a multiple of 32.
	Code []byte
	// Groups holds the start offset of each line or continued group of
	// lines, in increasing order: the instruction boundaries outside
	// indivisible groups that the text declares. Padding is not listed.
	Groups []int
	// Len is the number of bytes the text gave, before padding.
	Len int
}

// MaxHexBytes bounds the code ParseHex accepts (16 MiB).
const MaxHexBytes = 16 << 20

// HexError is a ParseHex error at a 1-based line of the text.
type HexError struct {
	Line int
	Msg  string
}

func (e *HexError) Error() string { return fmt.Sprintf("hex line %d: %s", e.Line, e.Msg) }

// ParseHex parses NaCl-style hex text, the format of the `@hex:` section
// of NaCl's validator test files: each line holds hex byte pairs separated
// by white space (a token may also hold several pairs, e.g. "4c01fa"); `#`
// starts a comment that runs to the end of the line; blank lines are
// ignored. Each line is one instruction or one indivisible group; a line
// whose last token is `\\` (or a single `\`) continues the same group on
// the next line. The result is padded with 0x90 to a multiple of 32 and
// Groups lists the start offset of every group.
//
// Errors (a non-hex token, an odd number of hex digits, a continuation
// that is not the last token or has no following line, more than
// MaxHexBytes bytes) are *HexError values naming the line.
func ParseHex(text []byte) (*HexCase, error) {
	hc := &HexCase{}
	continuing := false // the previous line ended with a continuation
	contLine := 0
	lineNo := 0
	for len(text) > 0 {
		lineNo++
		var line []byte
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			line, text = text, nil
		}
		if i := bytes.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := bytes.Fields(line)
		cont := false
		if n := len(fields); n > 0 && isContinuation(fields[n-1]) {
			cont = true
			fields = fields[:n-1]
		}
		start := len(hc.Code)
		for _, f := range fields {
			if isContinuation(f) {
				return nil, &HexError{lineNo, fmt.Sprintf("continuation %q must be the last token of the line", f)}
			}
			for _, c := range f {
				if _, ok := hexDigit(c); !ok {
					if f[0] == '@' {
						return nil, &HexError{lineNo, fmt.Sprintf("token %q is not hex (a test-file section header? give only the @hex section's text)", clip(f))}
					}
					return nil, &HexError{lineNo, fmt.Sprintf("token %q is not hex", clip(f))}
				}
			}
			if len(f)%2 != 0 {
				return nil, &HexError{lineNo, fmt.Sprintf("token %q has an odd number of hex digits", clip(f))}
			}
			if len(hc.Code)+len(f)/2 > MaxHexBytes {
				return nil, &HexError{lineNo, fmt.Sprintf("more than %d bytes of code", MaxHexBytes)}
			}
			for i := 0; i < len(f); i += 2 {
				hi, _ := hexDigit(f[i])
				lo, _ := hexDigit(f[i+1])
				hc.Code = append(hc.Code, hi<<4|lo)
			}
		}
		if len(hc.Code) > start && (!continuing || len(hc.Groups) == 0) {
			hc.Groups = append(hc.Groups, start)
		}
		if cont {
			if !continuing {
				contLine = lineNo
			}
			continuing = true
		} else if len(fields) > 0 {
			continuing = false
		}
	}
	if continuing {
		return nil, &HexError{contLine, "continuation `\\\\` with no bytes after it"}
	}
	hc.Len = len(hc.Code)
	for len(hc.Code)%bundleSize != 0 {
		hc.Code = append(hc.Code, 0x90)
	}
	return hc, nil
}

// isContinuation reports whether f is the group-continuation token.
func isContinuation(f []byte) bool {
	return string(f) == `\\` || string(f) == `\`
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// clip shortens a token for an error message.
func clip(f []byte) []byte {
	if len(f) > 40 {
		return append(append([]byte(nil), f[:40]...), "..."...)
	}
	return f
}
