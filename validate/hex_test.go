package validate

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func pad90(b ...byte) []byte {
	for len(b)%32 != 0 {
		b = append(b, 0x90)
	}
	return b
}

func TestParseHex(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		code   []byte
		groups []int
	}{
		{"empty", "", nil, nil},
		{"comments only", "# nothing\n   # here\n\n", nil, nil},
		{"one line", "48 83 e4 ff\n", pad90(0x48, 0x83, 0xe4, 0xff), []int{0}},
		{"no final newline", "90\nc3", pad90(0x90, 0xc3), []int{0, 1}},
		{"upper case and trailing comment", "  4C 01 FA # add\n", pad90(0x4c, 0x01, 0xfa), []int{0}},
		{"packed token", "4c01fa\n", pad90(0x4c, 0x01, 0xfa), []int{0}},
		{"crlf", "90\r\n90\r\n", pad90(0x90, 0x90), []int{0, 1}},
		{"group", "83 e2 e0 \\\\\n4c 01 fa \\\\\nff e2\n90\n",
			pad90(0x83, 0xe2, 0xe0, 0x4c, 0x01, 0xfa, 0xff, 0xe2, 0x90), []int{0, 8}},
		{"single backslash group", "89 c0 \\\n8b 04 07\n", pad90(0x89, 0xc0, 0x8b, 0x04, 0x07), []int{0}},
		{"comment inside group", "89 c0 \\\\\n# note\n\n8b 04 07\n", pad90(0x89, 0xc0, 0x8b, 0x04, 0x07), []int{0}},
		{"leading lone continuation", "\\\\\n90\n90\n", pad90(0x90, 0x90), []int{0, 1}},
		{"exact bundle", strings.Repeat("90 ", 32), bytes.Repeat([]byte{0x90}, 32), []int{0}},
		{"bundle plus one", strings.Repeat("90 ", 32) + "\ncc", append(bytes.Repeat([]byte{0x90}, 32), pad90(0xcc)...), []int{0, 32}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hc, err := ParseHex([]byte(tt.text))
			if err != nil {
				t.Fatalf("ParseHex: %v", err)
			}
			if diff := cmp.Diff(tt.code, hc.Code); diff != "" {
				t.Errorf("code (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.groups, hc.Groups); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseHexErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		line int
		msg  string
	}{
		{"odd digits", "90\n4c 0 fa\n", 2, "odd number"},
		{"not hex", "90\n90\n  zz\n", 3, "not hex"},
		{"continuation in middle", "90 \\\\ 90\n", 1, "last token"},
		{"dangling continuation", "90\n90 \\\\\n# end\n", 2, "no bytes after"},
		{"section header", "@hex:\n90\n", 1, "not hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseHex([]byte(tt.text))
			var he *HexError
			if !errors.As(err, &he) {
				t.Fatalf("err = %v, want *HexError", err)
			}
			if he.Line != tt.line || !strings.Contains(he.Error(), tt.msg) {
				t.Errorf("err = %q (line %d), want line %d containing %q", he, he.Line, tt.line, tt.msg)
			}
			if !strings.Contains(he.Error(), fmt.Sprintf("line %d", tt.line)) {
				t.Errorf("message %q does not name line %d", he, tt.line)
			}
		})
	}
}

func TestParseHexTooLarge(t *testing.T) {
	line := strings.Repeat("90", 1<<16) + "\n"
	text := strings.Repeat(line, MaxHexBytes/(1<<16)+1)
	_, err := ParseHex([]byte(text))
	var he *HexError
	if !errors.As(err, &he) || !strings.Contains(he.Msg, "more than") {
		t.Fatalf("err = %v, want size error", err)
	}
}

// formatHex writes hc's groups back as hex text, one group per line.
func formatHex(hc *HexCase) []byte {
	var b bytes.Buffer
	for i, g := range hc.Groups {
		end := hc.Len
		if i+1 < len(hc.Groups) {
			end = hc.Groups[i+1]
		}
		for j := g; j < end; j++ {
			if j > g {
				if (j-g)%4 == 0 {
					b.WriteString(" \\\\\n")
				} else {
					b.WriteByte(' ')
				}
			}
			fmt.Fprintf(&b, "%02x", hc.Code[j])
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func FuzzParseHex(f *testing.F) {
	for _, s := range []string{"", "90\n", "83 e2 e0 \\\\\n4c 01 fa \\\\\nff e2\n", "# c\n4c01fa # x\n", "90 \\\\ 90", "zz", "\\\n90"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		hc, err := ParseHex(text)
		if err != nil {
			var he *HexError
			if !errors.As(err, &he) || he.Line < 1 || he.Line > bytes.Count(text, []byte("\n"))+1 {
				t.Fatalf("bad error %v", err)
			}
			return
		}
		if len(hc.Code)%32 != 0 || hc.Len > len(hc.Code) || len(hc.Code)-hc.Len >= 32 {
			t.Fatalf("bad padding: len %d, Len %d", len(hc.Code), hc.Len)
		}
		for _, c := range hc.Code[hc.Len:] {
			if c != 0x90 {
				t.Fatalf("padding byte %#x", c)
			}
		}
		prev := -1
		for _, g := range hc.Groups {
			if g <= prev || g >= hc.Len {
				t.Fatalf("groups %v not increasing within [0,%d)", hc.Groups, hc.Len)
			}
			prev = g
		}
		if (hc.Len > 0) != (len(hc.Groups) > 0) || (hc.Len > 0 && hc.Groups[0] != 0) {
			t.Fatalf("groups %v for %d bytes", hc.Groups, hc.Len)
		}
		again, err := ParseHex(formatHex(hc))
		if err != nil {
			t.Fatalf("reparse: %v", err)
		}
		if !bytes.Equal(again.Code, hc.Code) || !cmp.Equal(again.Groups, hc.Groups) {
			t.Fatalf("round trip differs: %x %v vs %x %v", again.Code, again.Groups, hc.Code, hc.Groups)
		}
	})
}
