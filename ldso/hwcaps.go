package ldso

import "golang.org/x/sys/cpu"

// x86 ISA level bits (GNU_PROPERTY_X86_ISA_1_*), as glibc's ld.so.cache
// hwcaps entries record them.
const (
	isaBaseline = 1 << iota
	isaV2
	isaV3
	isaV4
)

// hostISALevel is the set of x86-64 psABI micro-architecture levels the
// host CPU supports.
func hostISALevel() uint64 {
	l := uint64(isaBaseline)
	x := cpu.X86
	if x.HasSSE3 && x.HasSSSE3 && x.HasSSE41 && x.HasSSE42 && x.HasPOPCNT && x.HasCX16 {
		l |= isaV2
		if x.HasAVX && x.HasAVX2 && x.HasBMI1 && x.HasBMI2 && x.HasFMA && x.HasOSXSAVE {
			l |= isaV3
			if x.HasAVX512F && x.HasAVX512BW && x.HasAVX512CD && x.HasAVX512DQ && x.HasAVX512VL {
				l |= isaV4
			}
		}
	}
	return l
}

// hostHWCaps lists the glibc-hwcaps subdirectories glibc 2.36 searches on
// this host, best first (what `ld.so --help` prints as "supported").
func hostHWCaps() []string {
	l := hostISALevel()
	var s []string
	if l&isaV4 != 0 {
		s = append(s, "x86-64-v4")
	}
	if l&isaV3 != 0 {
		s = append(s, "x86-64-v3")
	}
	if l&isaV2 != 0 {
		s = append(s, "x86-64-v2")
	}
	return s
}

// searchSubdirs returns the subdirectories glibc 2.36 tries, in order,
// inside every search-path directory before the directory itself: the
// supported glibc-hwcaps levels, then the legacy hwcaps combinations for
// platform "x86_64" (some appear twice, as in glibc; the repeats are
// harmless). The last element is "" (the directory itself).
func searchSubdirs() []string {
	var s []string
	for _, h := range hostHWCaps() {
		s = append(s, "glibc-hwcaps/"+h+"/")
	}
	return append(s, "tls/x86_64/x86_64/", "tls/x86_64/", "tls/", "x86_64/x86_64/", "x86_64/", "")
}
