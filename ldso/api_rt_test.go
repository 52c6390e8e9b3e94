package ldso

import (
	"testing"

	"halite/internal/rtobjtest"
	"halite/pthread"
)

// TestAPIRuntimeMatchesSource reassembles testdata/api/rt.S and compares
// it with the embedded bytes and symbol table.
func TestAPIRuntimeMatchesSource(t *testing.T) {
	rt := APIRuntime()
	rtobjtest.MatchesSource(t, "testdata/api/rt.S", rtObject(rt))
	rt.Code[0] = 0
	if APIRuntime().Code[0] == 0 {
		t.Errorf("APIRuntime shares its code slice")
	}
}

// TestAPIRuntimeValidates: the code is valid under the halite profile,
// every symbol is a bundle-aligned instruction start, the size is a
// multiple of 32, and the nacl profile rejects exactly the three
// thread-pointer reads (in dlsym, dlvsym and dl_iterate_phdr).
func TestAPIRuntimeValidates(t *testing.T) {
	rtobjtest.Validates(t, rtObject(APIRuntime()), 0x20000, 3, func(c []byte) bool { return c[0] == 0x64 })
}

// rtObject is o as the shared runtime-object checks take it.
func rtObject(o *pthread.RuntimeObject) rtobjtest.Object {
	r := rtobjtest.Object{Code: o.Code, Symbols: map[string]rtobjtest.Symbol{}, NSymbols: len(o.Symbols)}
	for _, s := range o.Symbols {
		r.Symbols[s.Name] = rtobjtest.Symbol{Offset: s.Offset, Size: s.Size}
	}
	return r
}
