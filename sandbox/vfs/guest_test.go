package vfs

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"halite/sandbox"
	"halite/validate"
)

// guestCode is testdata/calls.s assembled (GNU as, then .text bytes).
var guestCode = sync.OnceValues(func() (*asmObj, error) {
	dir, err := os.MkdirTemp("", "halite-vfs-test")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	obj, bin := filepath.Join(dir, "calls.o"), filepath.Join(dir, "calls.bin")
	if out, err := exec.Command("as", "--64", "-o", obj, "testdata/calls.s").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("as testdata/calls.s: %v\n%s", err, out)
	}
	if out, err := exec.Command("objcopy", "-O", "binary", "-j", ".text", obj, bin).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("objcopy: %v\n%s", err, out)
	}
	code, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	f, err := elf.Open(obj)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, err
	}
	o := &asmObj{code: code, syms: map[string]uint64{}}
	for _, s := range syms {
		if elf.ST_BIND(s.Info) == elf.STB_GLOBAL {
			o.syms[s.Name] = s.Value
		}
	}
	return o, nil
})

type asmObj struct {
	code []byte
	syms map[string]uint64
}

const (
	codeOff     = 0x100000
	scratchSize = 4 << 20
)

// guest is a sandbox with the VFS installed, the test code mapped and a
// scratch area for arguments.
type guest struct {
	t       testing.TB
	s       *sandbox.Sandbox
	v       *FS
	obj     *asmObj
	out     bytes.Buffer
	scratch uint64
	next    uint64
}

func newGuest(t testing.TB, v *FS) *guest {
	t.Helper()
	o, err := guestCode()
	if err != nil {
		t.Fatal(err)
	}
	g := &guest{t: t, v: v, obj: o}
	s, err := sandbox.New(sandbox.Config{Stdout: &g.out, Validate: validate.Options{Profile: validate.NaCl}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := s.MapCode(s.Base()+codeOff, o.code); err != nil {
		t.Fatal(err)
	}
	if g.scratch, err = s.Alloc(scratchSize, 4096, sandbox.ProtRead|sandbox.ProtWrite); err != nil {
		t.Fatal(err)
	}
	g.s = s
	Install(s, v)
	return g
}

// alloc returns n fresh scratch bytes (zeroed), 16-byte aligned.
func (g *guest) alloc(n int) uint64 {
	a := g.scratch + g.next
	g.next += uint64(n+15) &^ 15
	if g.next > scratchSize {
		g.t.Fatal("scratch area exhausted")
	}
	return a
}

// str copies s with a NUL into the sandbox.
func (g *guest) str(s string) uint64 {
	a := g.alloc(len(s) + 1)
	if err := g.s.Write(a, append([]byte(s), 0)); err != nil {
		g.t.Fatal(err)
	}
	return a
}

func (g *guest) read(addr uint64, n int) []byte {
	b := make([]byte, n)
	if err := g.s.Read(addr, b); err != nil {
		g.t.Fatal(err)
	}
	return b
}

// call runs fn on a sandbox thread and returns its result as -errno/value.
func (g *guest) call(fn string, args ...uint64) int64 {
	g.t.Helper()
	off, ok := g.obj.syms[fn]
	if !ok {
		g.t.Fatalf("no symbol %q", fn)
	}
	r, err := g.s.Call(context.Background(), g.s.Base()+codeOff+off, args...)
	if err != nil {
		g.t.Fatalf("%s: %v", fn, err)
	}
	return int64(r)
}

// sys makes host call nr from guest code (through hsys).
func (g *guest) sys(nr int, args ...uint64) int64 {
	g.t.Helper()
	return g.call("hsys", append([]uint64{uint64(nr)}, args...)...)
}

// stat runs newfstatat(dirfd, path, buf, flags) and decodes the result.
func (g *guest) stat(dirfd int, path string, flags int) (unix.Stat_t, unix.Errno) {
	g.t.Helper()
	buf := g.alloc(StatSize)
	r := g.sys(SysNewfstatat, uint64(int64(dirfd)), g.str(path), buf, uint64(flags))
	if r < 0 {
		return unix.Stat_t{}, unix.Errno(-r)
	}
	return decodeStat(g.read(buf, StatSize)), 0
}

func decodeStat(b []byte) unix.Stat_t {
	le := binary.LittleEndian
	return unix.Stat_t{
		Dev: le.Uint64(b[0:]), Ino: le.Uint64(b[8:]), Nlink: le.Uint64(b[16:]),
		Mode: le.Uint32(b[24:]), Uid: le.Uint32(b[28:]), Gid: le.Uint32(b[32:]),
		Rdev: le.Uint64(b[40:]), Size: int64(le.Uint64(b[48:])),
		Blksize: int64(le.Uint64(b[56:])), Blocks: int64(le.Uint64(b[64:])),
		Atim: unix.Timespec{Sec: int64(le.Uint64(b[72:])), Nsec: int64(le.Uint64(b[80:]))},
		Mtim: unix.Timespec{Sec: int64(le.Uint64(b[88:])), Nsec: int64(le.Uint64(b[96:]))},
		Ctim: unix.Timespec{Sec: int64(le.Uint64(b[104:])), Nsec: int64(le.Uint64(b[112:]))},
	}
}

type dirent struct {
	ino  uint64
	off  int64
	typ  uint8
	name string
}

func parseDirents(t testing.TB, b []byte) []dirent {
	var ds []dirent
	for len(b) > 0 {
		if len(b) < 24 {
			t.Fatalf("short dirent record: %d bytes", len(b))
		}
		rl := int(binary.LittleEndian.Uint16(b[16:]))
		if rl < 24 || rl > len(b) || rl%8 != 0 {
			t.Fatalf("bad d_reclen %d", rl)
		}
		name := b[19:rl]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		} else {
			t.Fatalf("dirent name without NUL")
		}
		ds = append(ds, dirent{binary.LittleEndian.Uint64(b), int64(binary.LittleEndian.Uint64(b[8:])), b[18], string(name)})
		b = b[rl:]
	}
	return ds
}

// listDir reads a whole directory through openat + getdents64 with a
// count of bufSize bytes (the buffer is at most 64 KiB: the VFS clamps).
func (g *guest) listDir(path string, bufSize int) map[string]dirent {
	g.t.Helper()
	fd := g.sys(SysOpenat, fdCWD, g.str(path), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if fd < 0 {
		g.t.Fatalf("openat(%q) = %v", path, unix.Errno(-fd))
	}
	defer g.sys(SysClose, uint64(fd))
	buf := g.alloc(min(bufSize, maxDirents))
	m := map[string]dirent{}
	for i := 0; ; i++ {
		if i > 10000 {
			g.t.Fatal("getdents64 never ends")
		}
		n := g.sys(SysGetdents64, uint64(fd), buf, uint64(bufSize))
		if n < 0 {
			g.t.Fatalf("getdents64(%q) = %v", path, unix.Errno(-n))
		}
		if n == 0 {
			return m
		}
		for _, d := range parseDirents(g.t, g.read(buf, int(n))) {
			if _, dup := m[d.name]; dup {
				g.t.Errorf("%s: %q listed twice", path, d.name)
			}
			m[d.name] = d
		}
	}
}
