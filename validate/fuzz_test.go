package validate

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzValidate checks the validator's properties (see checkChunk) on
// arbitrary bytes, padded with nops to a multiple of 32 (at most
// maxPropChunk bytes). The seed corpus is every reference case and the
// hand-written rule cases in hex (testdata/rules/*.hex); testdata/fuzz/FuzzValidate holds
// regression inputs.
func FuzzValidate(f *testing.F) {
	for _, c := range refCases(f) {
		f.Add(c.Hex.Code[:c.Hex.Len])
	}
	hexes, _ := filepath.Glob("testdata/rules/*.hex")
	for _, h := range hexes {
		text, err := os.ReadFile(h)
		if err != nil {
			f.Fatal(err)
		}
		hc, err := ParseHex(text)
		if err != nil {
			f.Fatalf("%s: %v", h, err)
		}
		f.Add(hc.Code[:hc.Len])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		code := chunkFrom(data)
		stop := watchdog(10*time.Second, func() []byte { return code })
		defer stop()
		for _, p := range checkChunk(code) {
			t.Errorf("chunk %x: %s", code, p)
		}
	})
}
