package validate

import "strings"

// Features is a set of optional CPU features (bit set). An instruction that
// needs a feature outside Options.Features is rejected with RuleCPUFeature.
type Features uint64

// The CPU features the decoder distinguishes (CPUID names).
const (
	FeatX87 Features = 1 << iota
	FeatCMOV
	FeatMMX
	FeatSSE
	FeatSSE2
	FeatSSE3
	FeatSSSE3
	FeatSSE41
	FeatSSE42
	FeatPOPCNT
	FeatLZCNT
	FeatBMI1
	FeatBMI2
	FeatAES
	FeatPCLMUL
	FeatAVX
	FeatAVX2
	FeatFMA
	FeatF16C
	FeatMOVBE
	FeatCX8
	FeatCX16
	FeatCLFLUSH
	FeatFXSR
	FeatLAHF
	FeatTSC
	Feat3DNow
	FeatE3DNow
	FeatEMMX // AMD MMX extensions (sfence/pextrw... subset reported by AMD)
	FeatSSE4A
	FeatPRFCHW // prefetchw
	FeatXOP
	FeatFMA4
	FeatTBM
	FeatLWP
	FeatRDRAND
	FeatRDSEED
	FeatADX
	FeatSHA
	FeatRDTSCP
	FeatXSAVE

	featCount = iota
)

// AllFeatures enables every feature (reference tests).
const AllFeatures Features = 1<<featCount - 1

// neverFeatures are the features outside NaCl's maximal feature set
// (kValidatorCPUIDFeatures in NaCl's validator_ragel: AES, CLMUL, BMI1,
// F16C, FXSR, LWP, TBM are 0 there; MON has no bit here, monitor/mwait
// are rejected by the opcode tables). Instructions needing one of them
// are rejected in every profile whatever Options.Features says. tzcnt is
// the exception (NaCl allows it unconditionally; see run). NaCl's PRE is
// also 0, but prefetch/prefetchw need "3DNOW or PRE" there and 3DNOW is
// in the maximal set, so FeatPRFCHW is not listed.
const neverFeatures = FeatAES | FeatPCLMUL | FeatBMI1 | FeatF16C | FeatFXSR | FeatLWP | FeatTBM

var featNames = [...]string{
	"x87", "cmov", "mmx", "sse", "sse2", "sse3", "ssse3", "sse4.1", "sse4.2",
	"popcnt", "lzcnt", "bmi1", "bmi2", "aes", "pclmulqdq", "avx", "avx2", "fma",
	"f16c", "movbe", "cx8", "cx16", "clflush", "fxsr", "lahf", "tsc", "3dnow",
	"3dnowext", "mmxext", "sse4a", "prfchw", "xop", "fma4", "tbm", "lwp",
	"rdrand", "rdseed", "adx", "sha", "rdtscp", "xsave",
}

// String lists the feature names joined by "+".
func (f Features) String() string {
	if f == AllFeatures {
		return "all"
	}
	var parts []string
	for i, n := range featNames {
		if f&(1<<uint(i)) != 0 {
			parts = append(parts, n)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "+")
}
