package sandbox

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"testing"
)

// kernelPerms returns the kernel's permission string ("r-xp", ...) for each
// page of [lo, lo+n pages), "" where nothing is mapped.
func kernelPerms(t testing.TB, lo uint64, n int) []string {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, n)
	hi := lo + uint64(n)*pageSize
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var a, z uint64
		var perm string
		if _, err := fmt.Sscanf(sc.Text(), "%x-%x %s", &a, &z, &perm); err != nil {
			continue
		}
		for p := max(a, lo); p < min(z, hi); p += pageSize {
			out[(p-lo)/pageSize] = perm
		}
	}
	return out
}

// checkRegions verifies the runtime's view of memory against the kernel's
// over the first pages of the mappable area, and the bookkeeping itself.
func checkRegions(t testing.TB, s *Sandbox, pages int) {
	t.Helper()
	var committed, last uint64
	for i, r := range s.regions {
		if r.start >= r.end || r.start < last || r.end > Size || r.start%pageSize != 0 || r.end%pageSize != 0 {
			t.Fatalf("bad region %d %+v (previous end %#x)", i, r, last)
		}
		if r.prot&ProtWrite != 0 && r.prot&ProtExec != 0 {
			t.Fatalf("region %+v is w+x", r)
		}
		last = r.end
		if r.prot != ProtNone {
			committed += r.end - r.start
		}
	}
	if committed != s.committed {
		t.Fatalf("committed %d, regions sum to %d", s.committed, committed)
	}
	lo := s.b + UserOffset
	kp := kernelPerms(t, lo, pages)
	for i := range pages {
		off := uint64(UserOffset + i*pageSize)
		want := "---p"
		a, b := s.overlapping(off, off+1)
		if b > a {
			want = s.regions[a].prot.String() + "p"
		}
		if kp[i] != want {
			t.Fatalf("page B+%#x: kernel %q, runtime %q", off, kp[i], want)
		}
	}
}

// FuzzMemoryOps applies a random sequence of memory operations to a fresh
// sandbox and checks that nothing panics, no w+x page appears, and the
// runtime's map agrees with the kernel's.
func FuzzMemoryOps(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 1, 0, 2, 5, 4, 3, 1, 7})
	f.Add([]byte{5, 0, 1, 0, 2, 3, 6, 1, 1, 4, 0, 0, 3, 2, 2, 7, 7, 7})
	f.Add([]byte{6, 2, 0, 6, 3, 1, 1, 2, 6, 0, 2, 1})
	const pages = 32
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 300 {
			ops = ops[:300]
		}
		s, err := New(Config{MaxMemory: 24 * pageSize})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		base := s.Base() + UserOffset
		nop := make([]byte, 40)
		for i := range nop {
			nop[i] = 0x90
		}
		buf := make([]byte, 3*pageSize)
		for i := 0; i+2 < len(ops); i += 3 {
			op, a, n := ops[i]%8, uint64(ops[i+1]%(pages+4)), uint64(ops[i+2]%6)
			addr := base + a*pageSize
			size := n * pageSize
			prot := Prot(ops[i+2] >> 3 & 7)
			switch op {
			case 0:
				s.Map(addr, size, prot)
			case 1:
				s.Unmap(addr, size)
			case 2:
				s.Protect(addr, size, prot)
			case 3:
				s.Alloc(size, pageSize<<(n%3), prot)
			case 4:
				s.Read(addr+uint64(ops[i+2]), buf[:size%uint64(len(buf))])
			case 5:
				s.Write(addr-uint64(ops[i+2]), buf[:size%uint64(len(buf))])
			case 6:
				s.MapCode(addr+32*uint64(ops[i+2]%8), nop[:1+n*7])
			case 7:
				s.ReadString(addr+uint64(ops[i+2]), int(n*1000))
			}
		}
		s.mu.RLock()
		checkRegions(t, s, pages+8)
		s.mu.RUnlock()
		checkNoWX(t)
	})
}
