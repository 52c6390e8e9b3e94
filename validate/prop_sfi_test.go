package validate

import (
	"debug/elf"
	"os"
	"path/filepath"
	"testing"
)

// TestOracleSFICode runs the x86asm/objdump oracle over real SFI-compiled
// code: the executable segments of the shared objects BenchmarkValidateValid
// caches in $HALITE_CACHE/bench (halite cc output, e.g. SQLite). Each must
// be valid under the Halite profile and clean under the oracle. It skips
// when no such object is cached (run the benchmarks once to create them).
func TestOracleSFICode(t *testing.T) {
	cache := os.Getenv("HALITE_CACHE")
	if cache == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			t.Skip(err)
		}
		cache = filepath.Join(d, "halite")
	}
	files, _ := filepath.Glob(filepath.Join(cache, "bench", "*.so"))
	if len(files) == 0 {
		t.Skipf("no SFI objects cached in %s/bench", cache)
	}
	var unchecked []uncheckedChunk
	sawSkip := false
	oracleSkipped = func([]byte) { sawSkip = true }
	defer func() { oracleSkipped = nil }()
	total := 0
	for _, f := range files {
		ef, err := elf.Open(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for _, p := range ef.Progs {
			if p.Type != elf.PT_LOAD || p.Flags&elf.PF_X == 0 {
				continue
			}
			if p.Filesz > 64<<20 {
				t.Errorf("%s: segment too large", f)
				continue
			}
			data := make([]byte, p.Filesz)
			if _, err := p.ReadAt(data, 0); err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			for len(data)%32 != 0 {
				data = append(data, 0xf4)
			}
			vd := Code(data, p.Vaddr, Options{Profile: Halite, Features: AllFeatures})
			if !vd.Valid() {
				t.Errorf("%s: SFI code rejected: %v", f, vd.Err())
				continue
			}
			total += len(data)
			sawSkip = false
			for _, pr := range checkAccepted(data, vd, Halite) {
				t.Errorf("%s: ACCEPTED: %s", f, pr)
			}
			if sawSkip {
				unchecked = append(unchecked, uncheckedChunk{data, vd, Halite})
			}
		}
		ef.Close()
	}
	objdumpCheck(t, unchecked)
	t.Logf("oracle over %d bytes of SFI code from %d cached objects", total, len(files))
}
