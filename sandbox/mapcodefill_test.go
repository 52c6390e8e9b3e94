package sandbox

import (
	"bytes"
	"context"
	"errors"
	"runtime/debug"
	"testing"
)

// bigRetCode is a valid chunk of more than three copy chunks: nops, then
// retCode's unique return.
func bigRetCode(t *testing.T) ([]byte, uint32) {
	t.Helper()
	ret, imm := retCode(t)
	code := bytes.Repeat([]byte{0x90}, 3*codeChunk+4096+32)
	return append(code, ret...), imm
}

// TestMapCodeFillCacheKey: the key MapCode hashes while copying equals
// the one MapCodeFill hashes after the copy is read-only (each hits the
// other's cache entry), and both install code that runs.
func TestMapCodeFillCacheKey(t *testing.T) {
	const addr = 0x200000
	for _, fillFirst := range []bool{false, true} {
		code, imm := bigRetCode(t)
		entry := uint64(3*codeChunk + 4096 + 32) // where the nops end
		for i := range 2 {
			s := newCacheSandbox(t, Config{Validate: haliteOpts()})
			var err error
			if (i == 0) == fillFirst {
				err = s.MapCodeFill(s.Base()+addr, len(code), func(dst []byte) error {
					if len(dst) != len(code) {
						t.Errorf("fill got %d bytes, want %d", len(dst), len(code))
					}
					copy(dst, code)
					return nil
				})
			} else {
				err = s.MapCode(s.Base()+addr, code)
			}
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				checkStats(t, "first", s, 0, 1, 1)
			} else {
				checkStats(t, "second (other way of copying)", s, 1, 0, 0)
			}
			got := make([]byte, len(code))
			if err := s.Read(s.Base()+addr, got); err != nil || !bytes.Equal(got, code) {
				t.Errorf("installed code differs (%v)", err)
			}
			if r, err := s.Call(context.Background(), s.Base()+addr+entry); err != nil || r != uint64(imm) {
				t.Errorf("call = %#x, %v; want %#x", r, err, imm)
			}
		}
	}
}

// TestMapCodeFillErrors: a fill error is returned and maps nothing; bad
// sizes are refused; a fill that writes after returning faults instead
// of changing validated code.
func TestMapCodeFillErrors(t *testing.T) {
	s := newCacheSandbox(t, Config{Validate: haliteOpts()})
	a := s.Base() + 0x200000
	boom := errors.New("boom")
	if err := s.MapCodeFill(a, 64, func([]byte) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("fill error: %v", err)
	}
	for _, n := range []int{0, -1} {
		if err := s.MapCodeFill(a, n, func([]byte) error { return nil }); err == nil {
			t.Errorf("n = %d accepted", n)
		}
	}
	code, _ := retCode(t)
	var kept []byte
	if err := s.MapCodeFill(a, len(code), func(dst []byte) error {
		copy(dst, code)
		kept = dst
		return nil
	}); err != nil {
		t.Fatalf("map after a failed fill: %v", err)
	}
	faulted := func() (f bool) {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() { f = recover() != nil }()
		kept[0] = 0xcc
		return false
	}()
	if !faulted {
		t.Error("a write to the private copy after fill returned did not fault")
	}
	got := make([]byte, len(code))
	if err := s.Read(a, got); err != nil || !bytes.Equal(got, code) {
		t.Errorf("installed code changed (%v)", err)
	}
}

// BenchmarkMapCodeFillWarm: BenchmarkMapCodeWarm through MapCodeFill
// (hashed after the copy, no caller buffer).
func BenchmarkMapCodeFillWarm(b *testing.B) {
	s, err := New(Config{Validate: haliteOpts()})
	if err != nil {
		b.Skip(err)
	}
	defer s.Close()
	code := bytes.Repeat([]byte{0x90}, 1<<20)
	a := s.Base() + 0x200000
	b.SetBytes(int64(len(code)))
	for i := 0; i < b.N; i++ {
		if err := s.MapCodeFill(a, len(code), func(dst []byte) error { copy(dst, code); return nil }); err != nil {
			b.Fatal(err)
		}
		if err := s.Unmap(a, uint64(len(code))); err != nil {
			b.Fatal(err)
		}
	}
}
