package validate

import (
	"fmt"

	"halite/elfload"
)

// SegmentVerdict is the verdict on one executable PT_LOAD segment.
type SegmentVerdict struct {
	// Index is the segment's index in Plan.Segments.
	Index   int
	Segment elfload.Segment
	// Start is the (link-time) address of the validated chunk: Vaddr
	// rounded down to 32. The chunk ends at Vaddr+Filesz rounded up to 32;
	// offsets in Verdict are relative to Start.
	Start uint64
	// Code is the validated chunk: the segment's file bytes, with hlt
	// (0xf4) before Vaddr and after Vaddr+Filesz up to the 32-byte
	// boundaries. A loader must map exactly these bytes.
	Code    []byte
	Verdict *Verdict
}

// hlt fills the chunk outside the segment's file bytes.
const hlt = 0xf4

// maxSegment bounds the size of a code segment ELF validates (1 GiB).
const maxSegment = 1 << 30

// ELF validates every executable PT_LOAD segment of p, each as its own
// chunk (see SegmentVerdict for how a segment becomes a chunk). Segments
// whose memory size exceeds their file size are validated over their file
// bytes only; the zero-filled tail must not be executable, which the
// loader enforces. The error is non-nil only when a segment's bytes cannot
// be read or are too large; rule violations are in the verdicts.
func ELF(p *elfload.Plan, opts Options) ([]SegmentVerdict, error) {
	var out []SegmentVerdict
	for i, s := range p.Segments {
		if s.Prot&elfload.ProtExec == 0 {
			continue
		}
		if s.Filesz > maxSegment {
			return out, fmt.Errorf("validate: segment %d: %d bytes of code is more than the %d this validator accepts", i, s.Filesz, maxSegment)
		}
		data, err := p.SegmentData(i)
		if err != nil {
			return out, fmt.Errorf("validate: segment %d: %w", i, err)
		}
		start := s.Vaddr &^ (bundleSize - 1)
		head := int(s.Vaddr - start)
		n := (head + len(data) + bundleSize - 1) &^ (bundleSize - 1)
		code := make([]byte, n)
		for j := range code {
			code[j] = hlt
		}
		copy(code[head:], data)
		out = append(out, SegmentVerdict{Index: i, Segment: s, Start: start, Code: code, Verdict: Code(code, start, opts)})
	}
	return out, nil
}
