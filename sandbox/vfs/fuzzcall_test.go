package vfs

import (
	"os"
	"slices"
	"sort"
	"strconv"
	"testing"

	"halite/sandbox"
)

// FuzzHostCalls runs sequences of host calls with hostile arguments
// (guest pointers near and outside mapped memory, huge counts, random
// descriptors, flags and paths) against a read-only mount: no panic, the
// descriptor table stays within its limit, Close releases every host
// descriptor, and the mounted tree is unchanged.
func FuzzHostCalls(f *testing.F) {
	f.Add([]byte{0, 2, 0, 0, 0, 0, 0})
	f.Add([]byte{17, 4, 1, 3, 0, 0, 0, 20, 1, 2, 1, 0, 0, 0})
	f.Add([]byte{9, 4, 1, 2, 0, 0, 0, 16, 0, 1, 0, 0, 0, 0, 11, 0, 1, 0, 0, 0, 0})
	root, _, other := tree(f)
	snap := snapshot(f, root)
	s, err := sandbox.New(sandbox.Config{})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	scratch, err := s.Alloc(1<<20, 4096, sandbox.ProtRead|sandbox.ProtWrite)
	if err != nil {
		f.Fatal(err)
	}
	var strs []uint64
	for _, p := range []string{"/data/a.txt", "/data", "/data/sub/rel", "/data/loop1", "rel", "..", "", "/data/abs",
		"/lib/deep", "/", "/data/fifo", "/data/shadow/o.txt", "/data/up/data/sub"} {
		a := scratch + uint64(len(strs))*256
		if err := s.Write(a, append([]byte(p), 0)); err != nil {
			f.Fatal(err)
		}
		strs = append(strs, a)
	}
	buf := scratch + 64<<10
	nrs := []int{SysRead, SysClose, SysFstat, SysLseek, SysPread64, SysPwrite64, SysReadv, SysWritev, SysDup, SysDup2,
		SysFcntl, SysFsync, SysFtruncate, SysGetcwd, SysChdir, SysFchdir, SysGetdents64, SysOpenat, SysNewfstatat,
		SysReadlinkat, SysFaccessat, SysDup3, SysPreadv, SysPwritev, SysFaccessat2, SysOpen, SysStat, SysLstat, SysAccess,
		SysReadlink}
	fdsBefore := countFDs(f)
	f.Fuzz(func(t *testing.T, prog []byte) {
		v, err := New(Config{Mounts: []Mount{{Host: root, Guest: "/data"}, {Host: other, Guest: "/lib/deep"}}, MaxFiles: 8})
		if err != nil {
			t.Fatal(err)
		}
		table := v.table()
		table[SysWritev] = v.onFD(v.sysWritev)
		for step := 0; len(prog) >= 7 && step < 32; step++ {
			nr := nrs[int(prog[0])%len(nrs)]
			var a [6]uint64
			for i := range 6 {
				b := prog[1+i]
				switch b >> 4 {
				case 0:
					a[i] = uint64(b & 15) // small numbers: fds, flags, whence
				case 1:
					a[i] = strs[int(b&15)%len(strs)]
				case 2:
					a[i] = buf + uint64(b&15)*4096
				case 3:
					a[i] = scratch + 1<<20 - uint64(b&15) // running off the end
				case 4:
					a[i] = s.Base() + uint64(b&15)*0x4000 // unmapped or trampolines
				case 5:
					a[i] = 1 << (48 + b&15)
				case 6:
					a[i] = ^uint64(b & 15)
				case 7:
					a[i] = 0o100000 | uint64(b&15)<<6 // O_LARGEFILE|O_NOFOLLOW|O_DIRECTORY bits and friends
				default:
					a[i] = uint64(b) << 8
				}
			}
			prog = prog[7:]
			table[nr](s, &a)
			if n := v.NumOpen(); n > 8 {
				t.Fatalf("%d descriptors open, limit 8", n)
			}
		}
		v.Close()
		if n := countFDs(t); n != fdsBefore {
			t.Fatalf("%d host descriptors after Close, %d before", n, fdsBefore)
		}
	})
	if got := snapshot(f, root); !slices.Equal(got, snap) {
		f.Errorf("read-only tree changed:\n%v\n%v", snap, got)
	}
}

func countFDs(t testing.TB) int {
	e, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(e)
}

// snapshot lists a tree's names, sizes and modes.
func snapshot(t testing.TB, root string) []string {
	var out []string
	var walk func(string)
	walk = func(d string) {
		es, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			info, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			p := d + "/" + e.Name()
			out = append(out, p+" "+info.Mode().String()+" "+strconv.FormatInt(info.Size(), 10))
			if e.IsDir() {
				walk(p)
			}
		}
	}
	walk(root)
	sort.Strings(out)
	return out
}
