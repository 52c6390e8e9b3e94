package pthread

import (
	"bytes"
	"testing"

	"halite/internal/rtobjtest"
)

// TestRuntimeCodeMatchesSource reassembles testdata/tls_get_addr.S and
// compares it with the embedded bytes and the symbol table.
func TestRuntimeCodeMatchesSource(t *testing.T) {
	rt := Runtime()
	rtobjtest.MatchesSource(t, "testdata/tls_get_addr.S", rtObject(rt))
	// Runtime returns a copy.
	rt.Code[0] = 0
	if Runtime().Code[0] != 0x64 {
		t.Errorf("Runtime shares its code slice")
	}
}

// TestRuntimeCodeValidates: the runtime object is valid SFI code under the
// halite profile, and the nacl profile rejects exactly its thread-pointer
// reads (in __tls_get_addr and _dl_tlsdesc_dynamic).
func TestRuntimeCodeValidates(t *testing.T) {
	rtobjtest.Validates(t, rtObject(Runtime()), 0x10000, 2, func(c []byte) bool {
		return bytes.HasPrefix(c, []byte{0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0})
	})
}

// rtObject is o as the shared runtime-object checks take it.
func rtObject(o *RuntimeObject) rtobjtest.Object {
	r := rtobjtest.Object{Code: o.Code, Symbols: map[string]rtobjtest.Symbol{}, NSymbols: len(o.Symbols)}
	for _, s := range o.Symbols {
		r.Symbols[s.Name] = rtobjtest.Symbol{Offset: s.Offset, Size: s.Size}
	}
	return r
}
