//go:build amd64

package validate

import (
	"sync"

	"golang.org/x/sys/cpu"
)

// HostFeatures returns the features this machine's CPU reports (CPUID), as
// far as the operating system enables them (AVX state saving).
func HostFeatures() Features { return hostOnce() }

var hostOnce = sync.OnceValue(hostFeatures)

func hostFeatures() Features {
	f := FeatX87 | FeatCMOV | FeatMMX | FeatSSE | FeatSSE2 | FeatCX8 | FeatFXSR | FeatTSC | FeatCLFLUSH
	x := cpu.X86
	set := func(ok bool, b Features) {
		if ok {
			f |= b
		}
	}
	set(x.HasSSE3, FeatSSE3)
	set(x.HasSSSE3, FeatSSSE3)
	set(x.HasSSE41, FeatSSE41)
	set(x.HasSSE42, FeatSSE42)
	set(x.HasPOPCNT, FeatPOPCNT)
	set(x.HasBMI1, FeatBMI1)
	set(x.HasBMI2, FeatBMI2)
	set(x.HasAES, FeatAES)
	set(x.HasPCLMULQDQ, FeatPCLMUL)
	set(x.HasAVX, FeatAVX)
	set(x.HasAVX2, FeatAVX2)
	set(x.HasFMA, FeatFMA)
	set(x.HasMOVBE, FeatMOVBE)
	set(x.HasCX16, FeatCX16)
	set(x.HasRDRAND, FeatRDRAND)
	set(x.HasRDSEED, FeatRDSEED)
	set(x.HasADX, FeatADX)
	set(x.HasOSXSAVE, FeatXSAVE)
	ext := cpuidExt()
	set(ext.lahf, FeatLAHF)
	set(ext.lzcnt, FeatLZCNT)
	set(ext.sse4a, FeatSSE4A)
	set(ext.prfchw, FeatPRFCHW)
	set(ext.xop, FeatXOP)
	set(ext.fma4, FeatFMA4)
	set(ext.tbm, FeatTBM)
	set(ext.rdtscp, FeatRDTSCP)
	set(ext.f16c, FeatF16C)
	set(ext.sha, FeatSHA)
	return f
}

func cpuidRaw(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

type extFeatures struct {
	lahf, lzcnt, sse4a, prfchw, xop, fma4, tbm, rdtscp, f16c, sha bool
}

func cpuidExt() extFeatures {
	var e extFeatures
	_, _, ecx1, _ := cpuidRaw(1, 0)
	e.f16c = ecx1&(1<<29) != 0 && cpu.X86.HasAVX
	max, _, _, _ := cpuidRaw(0, 0)
	if max >= 7 {
		_, ebx7, _, _ := cpuidRaw(7, 0)
		e.sha = ebx7&(1<<29) != 0
	}
	maxExt, _, _, _ := cpuidRaw(0x80000000, 0)
	if maxExt >= 0x80000001 {
		_, _, ecx, edx := cpuidRaw(0x80000001, 0)
		e.lahf = ecx&(1<<0) != 0
		e.lzcnt = ecx&(1<<5) != 0
		e.sse4a = ecx&(1<<6) != 0
		e.prfchw = ecx&(1<<8) != 0
		e.xop = ecx&(1<<11) != 0 && cpu.X86.HasAVX
		e.fma4 = ecx&(1<<16) != 0 && cpu.X86.HasAVX
		e.tbm = ecx&(1<<21) != 0
		e.rdtscp = edx&(1<<27) != 0
	}
	return e
}
