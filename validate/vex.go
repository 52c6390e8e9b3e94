package validate

// vop describes a VEX-encoded instruction.
type vop struct {
	flags uint32
	imm   uint8
	feat  uint8
}

func buildVEX() {}

// decodeVEX decodes a VEX-prefixed instruction whose c4/c5 byte is at
// code[v]. VEX support is not implemented yet: every VEX instruction is
// rejected.
func decodeVEX(code []byte, start, v, end int, in *inst) int {
	in.msg = "VEX-encoded instructions are not supported"
	return stUnrecognized
}
