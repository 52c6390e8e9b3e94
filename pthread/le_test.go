package pthread

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestStaticOffsetMatchesLinker builds executables whose local-exec TLS
// accesses carry the offsets GNU ld computed (%fs:disp32), loads each PT_TLS
// as module 1 and checks that pthread's TPOffset puts every variable where
// the code reads it, for alignments up to 4 KiB.
func TestStaticOffsetMatchesLinker(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed (scripts/setup installs it)")
	}
	dir := t.TempDir()
	for _, tc := range []struct{ align, size int }{{1, 3}, {16, 24}, {64, 72}, {256, 8}, {4096, 100}, {4096, 5000}} {
		t.Run(fmt.Sprintf("align%d_size%d", tc.align, tc.size), func(t *testing.T) {
			exe := filepath.Join(dir, fmt.Sprintf("le-%d-%d", tc.align, tc.size))
			out, err := exec.Command("gcc", "-O2", "-fno-pie", "-no-pie", fmt.Sprintf("-DALIGN=%d", tc.align),
				fmt.Sprintf("-DSIZE=%d", tc.size), "-o", exe, "testdata/le/le.c").CombinedOutput()
			if err != nil {
				t.Fatalf("gcc: %v\n%s", err, out)
			}
			f, err := elf.Open(exe)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var tmplt Template
			for _, p := range f.Progs {
				if p.Type == elf.PT_TLS {
					tmplt = Template{Memsz: p.Memsz, Align: p.Align, Vaddr: p.Vaddr, Init: make([]byte, p.Filesz)}
					if _, err := p.ReadAt(tmplt.Init, 0); err != nil {
						t.Fatal(err)
					}
				}
			}
			if tmplt.Memsz == 0 {
				t.Fatal("no PT_TLS")
			}
			r, err := NewTLS(newArena(1<<20), Config{})
			if err != nil {
				t.Fatal(err)
			}
			m, err := r.Load("le", tmplt, true)
			if err != nil {
				t.Fatal(err)
			}
			off, _ := m.TPOffset()
			syms, err := f.Symbols()
			if err != nil {
				t.Fatal(err)
			}
			sym := map[string]elf.Symbol{}
			for _, s := range syms {
				sym[s.Name] = s
			}
			text := f.Section(".text")
			code, err := text.Data()
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range []struct{ fn, tlsVar string }{{"get_big", "big"}, {"get_small", "small"}, {"get_zero", "zero"}} {
				fn := sym[v.fn]
				body := code[fn.Value-text.Addr : fn.Value-text.Addr+fn.Size]
				disp, ok := fsDisp(body)
				if !ok {
					t.Fatalf("%s: no %%fs:disp32 access in % x", v.fn, body)
				}
				// For executables, a TLS symbol's value is its offset in
				// the TLS segment.
				if want := off + int64(sym[v.tlsVar].Value); disp != want {
					t.Errorf("%s: code reads %%fs:%d, pthread places it at %d", v.tlsVar, disp, want)
				}
			}
		})
	}
}

// fsDisp finds `64 <opcode bytes> 04 25 disp32` (an %fs-relative absolute
// access) in code.
func fsDisp(code []byte) (int64, bool) {
	for i := 0; i+1 < len(code); i++ {
		if code[i] != 0x64 {
			continue
		}
		j := bytes.Index(code[i:min(i+6, len(code))], []byte{0x04, 0x25})
		if j < 0 || i+j+6 > len(code) {
			continue
		}
		return int64(int32(binary.LittleEndian.Uint32(code[i+j+2:]))), true
	}
	return 0, false
}
