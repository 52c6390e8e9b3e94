package pthread

import (
	"errors"
	"fmt"
	"sort"
	"testing"
)

// FuzzTLSOps drives a TLS runtime with a sequence of Load (static or
// dynamic, odd sizes, alignments and p_vaddr), Unload, NewThread and
// FreeThread, and after every step checks that each thread's blocks hold
// their templates, are aligned as their p_vaddr requires, do not overlap
// each other or the TCB, and that nothing leaks at the end.
func FuzzTLSOps(f *testing.F) {
	f.Add([]byte{0, 10, 3, 1, 3, 1, 40, 7, 5, 3, 2, 0, 4, 0})
	f.Add([]byte{3, 3, 1, 200, 12, 3, 1, 9, 4, 7, 2, 1, 0, 250, 12, 9, 4, 1})
	f.Add([]byte{0, 255, 12, 255, 0, 255, 12, 255, 3, 0, 255, 12, 255, 0, 255, 12, 255})
	f.Fuzz(func(t *testing.T, prog []byte) {
		if len(prog) > 256 {
			prog = prog[:256]
		}
		a := newArena(16 << 20)
		r, err := NewTLS(a, Config{StaticSurplus: 8192, TCBReserved: 32})
		if err != nil {
			t.Fatal(err)
		}
		var mods []*Module
		var threads []*ThreadTLS
		next := func() byte {
			if len(prog) == 0 {
				return 0
			}
			b := prog[0]
			prog = prog[1:]
			return b
		}
		for step := 0; len(prog) > 0 && step < 64; step++ {
			switch op := next() % 5; op {
			case 0, 1:
				memsz := uint64(next()) * 33
				align := uint64(1) << (next() % 13)
				init := make([]byte, min(memsz, uint64(next())))
				for i := range init {
					init[i] = byte(step + i + 1)
				}
				vaddr := uint64(next()) * 8
				m, err := r.Load(fmt.Sprintf("m%d", step), Template{Init: init, Memsz: memsz, Align: align, Vaddr: vaddr}, op == 0)
				var se *StaticTLSError
				switch {
				case err == nil:
					mods = append(mods, m)
				case errors.As(err, &se) && op == 0 && r.StaticSize() != 0:
					if se.Needed <= se.Available {
						t.Fatalf("StaticTLSError although it fits: %v", err)
					}
				case errors.Is(err, ErrTooManyModules):
				case errors.Is(err, errArenaFull):
					return // the fake memory is small; not a runtime bug
				default:
					t.Fatalf("Load: %v", err)
				}
			case 2:
				if len(mods) == 0 {
					continue
				}
				i := int(next()) % len(mods)
				if err := r.Unload(mods[i]); err != nil {
					t.Fatal(err)
				}
				mods = append(mods[:i], mods[i+1:]...)
			case 3:
				if len(threads) >= 8 {
					continue
				}
				th, err := r.NewThread()
				if errors.Is(err, errArenaFull) {
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				threads = append(threads, th)
			case 4:
				if len(threads) == 0 {
					continue
				}
				i := int(next()) % len(threads)
				if err := r.FreeThread(threads[i]); err != nil {
					t.Fatal(err)
				}
				threads = append(threads[:i], threads[i+1:]...)
			}
			checkThreads(t, a, r, threads, mods)
		}
		for _, th := range threads {
			if err := r.FreeThread(th); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Trim(); err != nil {
			t.Fatal(err)
		}
		if n := a.liveCount(); n != 0 {
			t.Fatalf("%d allocations leaked", n)
		}
	})
}

func checkThreads(t *testing.T, a *arena, r *TLS, threads []*ThreadTLS, mods []*Module) {
	t.Helper()
	type iv struct {
		lo, hi uint64
		what   string
	}
	for _, th := range threads {
		ivs := []iv{{th.TP(), th.TP() + 16 + 32, "TCB"}}
		for _, m := range mods {
			checkBlock(t, a, r, th, m)
			b := r.Block(th, m)
			if off, ok := m.TPOffset(); ok && uint64(-off) > r.StaticSize() && r.StaticSize() != 0 {
				t.Fatalf("module %s: offset %d beyond the static area %d", m.Name(), off, r.StaticSize())
			}
			if m.Template().Memsz > 0 {
				ivs = append(ivs, iv{b, b + m.Template().Memsz, m.Name()})
			}
		}
		sort.Slice(ivs, func(i, j int) bool { return ivs[i].lo < ivs[j].lo })
		for i := 1; i < len(ivs); i++ {
			if ivs[i].lo < ivs[i-1].hi {
				t.Fatalf("thread %#x: %s [%#x,%#x) overlaps %s [%#x,%#x)", th.TP(), ivs[i].what, ivs[i].lo, ivs[i].hi, ivs[i-1].what, ivs[i-1].lo, ivs[i-1].hi)
			}
		}
	}
	// Blocks of different threads never overlap either.
	seen := map[uint64]bool{}
	for _, th := range threads {
		for _, m := range mods {
			if b := r.Block(th, m); m.Template().Memsz > 0 {
				if seen[b] {
					t.Fatalf("module %s: block %#x shared between threads", m.Name(), b)
				}
				seen[b] = true
			}
		}
	}
}
