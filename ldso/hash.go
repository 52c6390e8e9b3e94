package ldso

// GNUHash is the DT_GNU_HASH hash function (h = h*33 + c, starting at 5381),
// as specified by the GNU ELF extensions.
func GNUHash(name string) uint32 {
	h := uint32(5381)
	for i := 0; i < len(name); i++ {
		h = h*33 + uint32(name[i])
	}
	return h
}

// SysVHash is the System V ABI ELF hash function (DT_HASH), also used for
// the vd_hash and vna_hash fields of symbol versions.
func SysVHash(name string) uint32 {
	var h uint32
	for i := 0; i < len(name); i++ {
		h = h<<4 + uint32(name[i])
		g := h & 0xf0000000
		h ^= g >> 24
		h &^= g
	}
	return h
}
