package validate

// Validator validates chunks with fixed Options, reusing its buffers: on
// valid code Validate allocates nothing. A Validator is not safe for
// concurrent use.
type Validator struct {
	opts    Options
	verdict Verdict
	jumps   []jump // direct jumps recorded during decoding
	mask    uint32 // jump targets of the bundle being checked
}

// jump is a direct jump or call: the offset of the instruction and its
// target offset relative to the chunk start.
type jump struct {
	from   int32
	target int64
}

// New returns a Validator for opts.
func New(opts Options) *Validator {
	return &Validator{opts: opts}
}

// Options returns the validator's options.
func (v *Validator) Options() Options { return v.opts }

// Validate validates code loaded at base. base must be 32-byte aligned and
// len(code) a multiple of 32, else the verdict holds a RuleChunkLayout
// violation. The returned Verdict is owned by v and valid until the next
// call.
func (v *Validator) Validate(code []byte, base uint64) *Verdict {
	vd := &v.verdict
	vd.Violations = vd.Violations[:0]
	vd.Instructions = 0
	vd.Bundles = len(code) / bundleSize
	vd.Size = len(code)
	vd.Base = base
	vd.Truncated = false
	nw := (len(code) + 63) / 64
	if cap(vd.targets) < nw {
		vd.targets = make([]uint64, nw)
	}
	vd.targets = vd.targets[:nw]
	clear(vd.targets)
	v.jumps = v.jumps[:0]
	if base%bundleSize != 0 || len(code)%bundleSize != 0 {
		v.report(code, 0, RuleChunkLayout, layoutMessage(base, len(code)))
		return vd
	}
	v.run(code)
	return vd
}
