package vfs

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"halite/sandbox"
)

func e(r int64) unix.Errno {
	if r >= 0 {
		return 0
	}
	return unix.Errno(-r)
}

func TestGuestReadFile(t *testing.T) {
	v, _, _ := newFS(t)
	g := newGuest(t, v)
	buf := g.alloc(64)
	if n := g.call("readfile", g.str("/data/sub/rel"), buf, 64); n != 5 || string(g.read(buf, 5)) != "alpha" {
		t.Errorf("readfile(/data/sub/rel) = %d %q", n, g.read(buf, 5))
	}
	// A huge count is clamped, not allocated.
	if n := g.call("readfile", g.str("/data/sub/b.txt"), buf, 1<<62); n != 4 || string(g.read(buf, 4)) != "beta" {
		t.Errorf("readfile(huge count) = %d", n)
	}
	for _, tc := range []struct {
		path string
		err  unix.Errno
	}{
		{"/data/nope", unix.ENOENT},
		{"/data/a.txt/x", unix.ENOTDIR},
		{"/data/loop1", unix.ELOOP},
		{"/data/hostabs", unix.ENOENT},
		{"/data/upsecret", unix.ENOENT},
		{"/data/fifo", unix.EACCES},
		{"/data/" + strings.Repeat("n", 300), unix.ENAMETOOLONG},
	} {
		if r := g.call("readfile", g.str(tc.path), buf, 64); e(r) != tc.err {
			t.Errorf("readfile(%q) = %d, want %v", tc.path, r, tc.err)
		}
	}
	// Reading a directory fd: EISDIR.
	fd := g.sys(SysOpenat, fdCWD, g.str("/data"), unix.O_RDONLY|unix.O_DIRECTORY)
	if r := g.sys(SysRead, uint64(fd), buf, 8); e(r) != unix.EISDIR {
		t.Errorf("read(dir) = %d", r)
	}
	if r := g.sys(SysOpenat, fdCWD, g.str("/data/a.txt"), unix.O_RDONLY|unix.O_DIRECTORY); e(r) != unix.ENOTDIR {
		t.Errorf("openat(file, O_DIRECTORY) = %d", r)
	}
	if r := g.sys(SysOpenat, fdCWD, g.str("/data/abs"), unix.O_RDONLY|unix.O_NOFOLLOW); e(r) != unix.ELOOP {
		t.Errorf("openat(symlink, O_NOFOLLOW) = %d", r)
	}
	if r := g.sys(SysOpenat, fdCWD, g.str("/data/a.txt"), unix.O_RDONLY|unix.O_CREAT|unix.O_EXCL); e(r) != unix.EEXIST {
		t.Errorf("openat(existing, O_CREAT|O_EXCL) = %d", r)
	}
	// The built-in write still serves fd 1; VFS descriptors start at 3.
	if r := g.sys(1, 1, g.str("hi\n"), 3); r != 3 || g.out.String() != "hi\n" {
		t.Errorf("write(1) = %d, stdout %q", r, g.out.String())
	}
	if fd != 3 {
		t.Errorf("first descriptor %d, want 3", fd)
	}
	for _, bad := range []uint64{0, 1, 2, 4, 1 << 40, ^uint64(0)} {
		if r := g.sys(SysRead, bad, buf, 1); e(r) != unix.EBADF {
			t.Errorf("read(%d) = %d, want EBADF", int64(bad), r)
		}
	}
	if r := g.sys(SysClose, uint64(fd)); r != 0 {
		t.Errorf("close = %d", r)
	}
	if r := g.sys(SysClose, uint64(fd)); e(r) != unix.EBADF {
		t.Errorf("second close = %d", r)
	}
	if v.NumOpen() != 0 {
		t.Errorf("%d descriptors left open", v.NumOpen())
	}
}

// TestGuestIdentity: stat from sandboxed code reports the host's
// (dev, ino): one file through a symlink, a hard link, a relative path
// and dirfd-relative paths has one identity; distinct files differ.
func TestGuestIdentity(t *testing.T) {
	v, root, _ := newFS(t)
	g := newGuest(t, v)
	want := hostID(t, filepath.Join(root, "a.txt"))
	if r := g.sys(SysChdir, g.str("/data/dirlink")); r != 0 {
		t.Fatalf("chdir = %d", r)
	}
	cwd := g.alloc(64)
	if r := g.sys(SysGetcwd, cwd, 64); r != int64(len("/data/sub")+1) || string(g.read(cwd, int(r))) != "/data/sub\x00" {
		t.Errorf("getcwd = %d %q", r, g.read(cwd, 10))
	}
	if r := g.sys(SysGetcwd, cwd, 5); e(r) != unix.ERANGE {
		t.Errorf("getcwd(short) = %d", r)
	}
	subfd := g.sys(SysOpenat, fdCWD, g.str("/data/sub"), unix.O_RDONLY|unix.O_DIRECTORY)
	if subfd < 0 {
		t.Fatal(e(subfd))
	}
	type q struct {
		dirfd int
		path  string
		flags int
	}
	for _, c := range []q{
		{unix.AT_FDCWD, "/data/a.txt", 0},
		{unix.AT_FDCWD, "/data/hard", 0},
		{unix.AT_FDCWD, "/data/abs", 0},
		{unix.AT_FDCWD, "/data/chain", 0},
		{unix.AT_FDCWD, "../a.txt", 0},
		{unix.AT_FDCWD, "rel", 0},
		{unix.AT_FDCWD, "./dotdot/hard", 0},
		{int(subfd), "rel", 0},
		{int(subfd), "../a.txt", 0},
		{int(subfd), "/data/a.txt", 0},
	} {
		st, err := g.stat(c.dirfd, c.path, c.flags)
		if err != 0 || (Identity{st.Dev, st.Ino}) != want || st.Size != 5 || st.Mode&unix.S_IFMT != unix.S_IFREG {
			t.Errorf("newfstatat(%d, %q) = dev %d ino %d size %d mode %o, %v; want %+v",
				c.dirfd, c.path, st.Dev, st.Ino, st.Size, st.Mode, err, want)
		}
	}
	// fstat on an open file agrees, and matches the host's stat fully.
	buf := g.alloc(StatSize)
	if r := g.call("fstatpath", g.str("../hard"), buf); r != 0 {
		t.Fatalf("fstatpath = %d", r)
	}
	got := decodeStat(g.read(buf, StatSize))
	var host unix.Stat_t
	if err := unix.Stat(filepath.Join(root, "a.txt"), &host); err != nil {
		t.Fatal(err)
	}
	if got != host {
		t.Errorf("fstat = %+v\nhost  = %+v", got, host)
	}
	// AT_SYMLINK_NOFOLLOW stats the link; AT_EMPTY_PATH the dirfd.
	if st, err := g.stat(unix.AT_FDCWD, "/data/abs", unix.AT_SYMLINK_NOFOLLOW); err != 0 || st.Mode&unix.S_IFMT != unix.S_IFLNK ||
		(Identity{st.Dev, st.Ino}) == want {
		t.Errorf("lstat(/data/abs) = %+v, %v", st, err)
	}
	subID := hostID(t, filepath.Join(root, "sub"))
	for _, c := range []q{{int(subfd), "", unix.AT_EMPTY_PATH}, {unix.AT_FDCWD, "", unix.AT_EMPTY_PATH}, {unix.AT_FDCWD, ".", 0}} {
		if st, err := g.stat(c.dirfd, c.path, c.flags); err != 0 || (Identity{st.Dev, st.Ino}) != subID {
			t.Errorf("newfstatat(%d, %q, %#x) = %+v, %v; want %+v", c.dirfd, c.path, c.flags, st, err, subID)
		}
	}
	// Distinct files and directories: distinct identities.
	seen := map[Identity]string{}
	for _, p := range []string{"/data/a.txt", "/data/sub/b.txt", "/data/sub", "/data", "/", "/lib", "/lib/deep", "/data/shadow/o.txt", "/data/shadow"} {
		st, err := g.stat(unix.AT_FDCWD, p, 0)
		if err != 0 {
			t.Fatalf("stat(%q) = %v", p, err)
		}
		id := Identity{st.Dev, st.Ino}
		if prev, dup := seen[id]; dup {
			t.Errorf("%s and %s: same identity %+v", p, prev, id)
		}
		seen[id] = p
	}
	for _, c := range []struct {
		dirfd int
		path  string
		flags int
		err   unix.Errno
	}{
		{unix.AT_FDCWD, "", 0, unix.ENOENT},
		{unix.AT_FDCWD, "nope", 0, unix.ENOENT},
		{unix.AT_FDCWD, "/data/a.txt/", 0, unix.ENOTDIR},
		{unix.AT_FDCWD, "/data/self", 0, unix.ELOOP},
		{99, "rel", 0, unix.EBADF},
		{99, "/data/a.txt", 0, 0}, // an absolute path ignores dirfd
		{unix.AT_FDCWD, "/data/a.txt", 0x8000000, unix.EINVAL},
	} {
		if _, err := g.stat(c.dirfd, c.path, c.flags); err != c.err {
			t.Errorf("newfstatat(%d, %q, %#x) = %v, want %v", c.dirfd, c.path, c.flags, err, c.err)
		}
	}
	// A file descriptor is not a directory.
	ffd := g.sys(SysOpenat, fdCWD, g.str("/data/a.txt"), unix.O_RDONLY)
	if _, err := g.stat(int(ffd), "x", 0); err != unix.ENOTDIR {
		t.Errorf("newfstatat(file fd, x) = %v", err)
	}
}

func TestGuestGetdents(t *testing.T) {
	v, root, _ := newFS(t)
	g := newGuest(t, v)
	ents, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, bufSize := range []int{64 << 10, 64, 1 << 30} { // 64: one entry per call
		got := g.listDir("/data", bufSize)
		for _, de := range ents {
			d, ok := got[de.Name()]
			if !ok {
				t.Errorf("bufsize %d: /data lacks %q", bufSize, de.Name())
				continue
			}
			var st unix.Stat_t
			if err := unix.Lstat(filepath.Join(root, de.Name()), &st); err != nil {
				t.Fatal(err)
			}
			if d.ino != st.Ino {
				t.Errorf("%s: d_ino %d, host %d", de.Name(), d.ino, st.Ino)
			}
			if de.Type().IsRegular() && d.typ != unix.DT_REG || de.Type()&os.ModeSymlink != 0 && d.typ != unix.DT_LNK {
				t.Errorf("%s: d_type %d", de.Name(), d.typ)
			}
		}
		if len(got) != len(ents)+2 {
			t.Errorf("bufsize %d: %d entries, want %d + . and ..", bufSize, len(got), len(ents))
		}
	}
	// The synthetic root lists ".", ".." and the mount tree's first level.
	got := g.listDir("/", 4096)
	rootSt, _ := g.stat(unix.AT_FDCWD, "/", 0)
	dataSt, _ := g.stat(unix.AT_FDCWD, "/data", 0)
	if len(got) != 4 || got["."].ino != rootSt.Ino || got[".."].ino != rootSt.Ino || got["data"].ino != dataSt.Ino ||
		got["lib"].typ != unix.DT_DIR || got["lib"].ino == 0 {
		t.Errorf("/ lists %+v", got)
	}
	// A too-small buffer is EINVAL; a non-directory ENOTDIR.
	fd := g.sys(SysOpenat, fdCWD, g.str("/"), unix.O_RDONLY)
	if r := g.sys(SysGetdents64, uint64(fd), g.alloc(8), 8); e(r) != unix.EINVAL {
		t.Errorf("getdents64(8 bytes) = %d", r)
	}
	ffd := g.sys(SysOpenat, fdCWD, g.str("/data/a.txt"), unix.O_RDONLY)
	if r := g.sys(SysGetdents64, uint64(ffd), g.alloc(4096), 4096); e(r) != unix.ENOTDIR {
		t.Errorf("getdents64(file) = %d", r)
	}
	// Rewind: lseek(dir, 0, SEEK_SET) lists again.
	dfd := g.sys(SysOpenat, fdCWD, g.str("/data/sub"), unix.O_RDONLY|unix.O_DIRECTORY)
	buf := g.alloc(4096)
	n1 := g.sys(SysGetdents64, uint64(dfd), buf, 4096)
	if n := g.sys(SysGetdents64, uint64(dfd), buf, 4096); n != 0 {
		t.Errorf("second getdents64 = %d", n)
	}
	if r := g.sys(SysLseek, uint64(dfd), 0, unix.SEEK_SET); r != 0 {
		t.Errorf("lseek(dir, 0) = %d", r)
	}
	if n := g.sys(SysGetdents64, uint64(dfd), buf, 4096); n != n1 || n <= 0 {
		t.Errorf("after rewind %d, first %d", n, n1)
	}
}

func TestGuestSeekPreadReadlink(t *testing.T) {
	v, _, _ := newFS(t)
	g := newGuest(t, v)
	fd := uint64(g.sys(SysOpenat, fdCWD, g.str("/data/a.txt"), unix.O_RDONLY|unix.O_CLOEXEC))
	buf := g.alloc(16)
	for _, c := range []struct {
		off    int64
		whence int
		want   int64
	}{
		{2, unix.SEEK_SET, 2}, {1, unix.SEEK_CUR, 3}, {-1, unix.SEEK_END, 4},
		{-10, unix.SEEK_SET, -int64(unix.EINVAL)}, {0, 7, -int64(unix.EINVAL)}, {0, unix.SEEK_CUR, 4},
	} {
		if r := g.sys(SysLseek, fd, uint64(c.off), uint64(c.whence)); r != c.want {
			t.Errorf("lseek(%d, %d) = %d, want %d", c.off, c.whence, r, c.want)
		}
	}
	if r := g.sys(SysRead, fd, buf, 16); r != 1 || g.read(buf, 1)[0] != 'a' {
		t.Errorf("read at 4 = %d", r)
	}
	if r := g.sys(SysRead, fd, buf, 16); r != 0 {
		t.Errorf("read at EOF = %d", r)
	}
	if r := g.sys(SysPread64, fd, buf, 3, 1); r != 3 || string(g.read(buf, 3)) != "lph" {
		t.Errorf("pread64 = %d %q", r, g.read(buf, 3))
	}
	if r := g.sys(SysPread64, fd, buf, 3, ^uint64(0)); e(r) != unix.EINVAL {
		t.Errorf("pread64(-1) = %d", r)
	}
	if r := g.sys(SysLseek, fd, 0, unix.SEEK_CUR); r != 5 {
		t.Errorf("pread64 moved the offset to %d", r)
	}
	if r := g.sys(SysReadlinkat, fdCWD, g.str("/data/sub/rel"), buf, 16); r != 8 || string(g.read(buf, 8)) != "../a.txt" {
		t.Errorf("readlinkat = %d %q", r, g.read(buf, 8))
	}
	if r := g.sys(SysReadlinkat, fdCWD, g.str("/data/sub/rel"), buf, 3); r != 3 || string(g.read(buf, 3)) != "../" {
		t.Errorf("readlinkat(truncated) = %d", r)
	}
	for _, c := range []struct {
		path string
		size uint64
		err  unix.Errno
	}{
		{"/data/a.txt", 16, unix.EINVAL}, {"/data/sub/rel", 0, unix.EINVAL}, {"/data/nope", 16, unix.ENOENT},
	} {
		if r := g.sys(SysReadlinkat, fdCWD, g.str(c.path), buf, c.size); e(r) != c.err {
			t.Errorf("readlinkat(%q, %d) = %d, want %v", c.path, c.size, r, c.err)
		}
	}
}

// TestGuestReadOnly: writes to a read-only mount fail with EROFS.
func TestGuestReadOnly(t *testing.T) {
	root, _, other := tree(t)
	v, err := New(Config{Mounts: []Mount{{Host: root, Guest: "/ro"}, {Host: other, Guest: "/rw", Writable: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	g := newGuest(t, v)
	for _, c := range []struct {
		path  string
		flags int
		err   unix.Errno
	}{
		{"/ro/a.txt", unix.O_WRONLY, unix.EROFS},
		{"/ro/a.txt", unix.O_RDWR, unix.EROFS},
		{"/ro/a.txt", unix.O_RDONLY | unix.O_TRUNC, unix.EROFS},
		{"/ro/new", unix.O_WRONLY | unix.O_CREAT, unix.EROFS},
		{"/ro/sub", unix.O_WRONLY, unix.EISDIR},
		{"/new", unix.O_RDONLY | unix.O_CREAT, unix.EROFS},
		{"/ro/a.txt", unix.O_RDONLY | unix.O_CREAT, 0},
		{"/ro/a.txt", unix.O_PATH, unix.EINVAL},
		{"/ro/a.txt", unix.O_ACCMODE, unix.EINVAL},
		{"/rw/o.txt", unix.O_RDWR, 0},
		{"/rw/o.txt", unix.O_RDONLY | unix.O_TMPFILE, unix.EOPNOTSUPP},
	} {
		r := g.sys(SysOpenat, fdCWD, g.str(c.path), uint64(c.flags), 0o644)
		if e(r) != c.err {
			t.Errorf("openat(%q, %#x) = %d, want %v", c.path, c.flags, r, c.err)
		}
		if r >= 0 {
			g.sys(SysClose, uint64(r))
		}
	}
	if _, err := os.Stat(filepath.Join(root, "new")); err == nil {
		t.Error("a file was created on a read-only mount")
	}
	for _, c := range []struct {
		path string
		mode uint64
		err  unix.Errno
	}{
		{"/ro/a.txt", unix.R_OK, 0},
		{"/ro/a.txt", unix.W_OK, unix.EROFS},
		{"/ro/a.txt", unix.X_OK, unix.EACCES},
		{"/ro/sub", unix.X_OK | unix.R_OK, 0},
		{"/", unix.W_OK, unix.EROFS},
		{"/", unix.R_OK, 0},
		{"/rw/o.txt", unix.W_OK, 0},
		{"/ro/nope", unix.F_OK, unix.ENOENT},
		{"/ro/a.txt", 8, unix.EINVAL},
	} {
		if r := g.sys(SysFaccessat, fdCWD, g.str(c.path), c.mode); e(r) != c.err {
			t.Errorf("faccessat(%q, %d) = %d, want %v", c.path, c.mode, r, c.err)
		}
	}
	if r := g.sys(SysFaccessat2, fdCWD, g.str("/ro/loop1"), unix.F_OK, unix.AT_SYMLINK_NOFOLLOW); r != 0 {
		t.Errorf("faccessat2(link, NOFOLLOW) = %d", r)
	}
	if r := g.sys(SysFaccessat2, fdCWD, g.str("/ro/loop1"), unix.F_OK, 0); e(r) != unix.ELOOP {
		t.Errorf("faccessat2(loop) = %d", r)
	}
}

// TestGuestFault: bad guest pointers give EFAULT, never a crash.
func TestGuestFault(t *testing.T) {
	v, _, _ := newFS(t)
	g := newGuest(t, v)
	code := g.s.Base() + codeOff // mapped, not writable
	unmapped := g.s.Base() + 0x8000
	outside := g.s.Base() + 5<<30
	path := g.str("/data/a.txt")
	fd := uint64(g.sys(SysOpenat, fdCWD, path, unix.O_RDONLY))
	dfd := uint64(g.sys(SysOpenat, fdCWD, g.str("/data"), unix.O_RDONLY))
	for _, c := range []struct {
		name string
		nr   int
		args []uint64
	}{
		{"openat(NULL)", SysOpenat, []uint64{fdCWD, 0, 0}},
		{"openat(unmapped)", SysOpenat, []uint64{fdCWD, unmapped, 0}},
		{"openat(outside)", SysOpenat, []uint64{fdCWD, outside, 0}},
		{"openat(-1)", SysOpenat, []uint64{fdCWD, ^uint64(0), 0}},
		{"read(code)", SysRead, []uint64{fd, code, 4}},
		{"read(outside)", SysRead, []uint64{fd, outside, 4}},
		{"read(end of scratch)", SysRead, []uint64{fd, g.scratch + scratchSize - 2, 4}},
		{"pread64(unmapped)", SysPread64, []uint64{fd, unmapped, 4, 0}},
		{"fstat(code)", SysFstat, []uint64{fd, code}},
		{"newfstatat(bad path)", SysNewfstatat, []uint64{fdCWD, unmapped, g.alloc(StatSize), 0}},
		{"newfstatat(bad buf)", SysNewfstatat, []uint64{fdCWD, path, outside, 0}},
		{"getdents64(code)", SysGetdents64, []uint64{dfd, code, 4096}},
		{"readlinkat(bad buf)", SysReadlinkat, []uint64{fdCWD, g.str("/data/abs"), code, 16}},
		{"faccessat(bad path)", SysFaccessat, []uint64{fdCWD, outside, 0}},
		{"chdir(bad path)", SysChdir, []uint64{unmapped}},
		{"getcwd(code)", SysGetcwd, []uint64{code, 64}},
	} {
		if r := g.sys(c.nr, c.args...); e(r) != unix.EFAULT {
			t.Errorf("%s = %d, want EFAULT", c.name, r)
		}
	}
	// A path running off the end of mapped memory without a NUL.
	end := g.scratch + scratchSize - 4
	if err := g.s.Write(end, []byte("/abc")); err != nil {
		t.Fatal(err)
	}
	if r := g.sys(SysOpenat, fdCWD, end, 0); e(r) != unix.EFAULT {
		t.Errorf("openat(unterminated at end of memory) = %d", r)
	}
	// Failed reads do not move the offset.
	if r := g.sys(SysRead, fd, g.alloc(8), 8); r != 5 {
		t.Errorf("read after faults = %d, want 5", r)
	}
	// A getdents64 that faulted lost no entries.
	if got := g.listDir("/data", 4096); len(got) < 10 {
		t.Errorf("listing after fault: %d entries", len(got))
	}
}

func TestGuestEMFILE(t *testing.T) {
	root, _, _ := tree(t)
	v, err := New(Config{Mounts: []Mount{{Host: root, Guest: "/"}}, MaxFiles: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	g := newGuest(t, v)
	p := g.str("a.txt")
	var fds []int64
	for i := 0; i < 4; i++ {
		fd := g.sys(SysOpenat, fdCWD, p, 0)
		if fd != int64(3+i) {
			t.Fatalf("open %d = %d", i, fd)
		}
		fds = append(fds, fd)
	}
	if r := g.sys(SysOpenat, fdCWD, p, 0); e(r) != unix.EMFILE {
		t.Errorf("fifth open = %d, want EMFILE", r)
	}
	g.sys(SysClose, uint64(fds[1]))
	if r := g.sys(SysOpenat, fdCWD, p, 0); r != fds[1] {
		t.Errorf("open after close = %d, want the lowest free %d", r, fds[1])
	}
	// Mounted at "/": ".." of the root is the root, host symlinks out
	// of the mount stay in it.
	if st, err := g.stat(unix.AT_FDCWD, "../../a.txt", 0); err != 0 || st.Size != 5 {
		t.Errorf("stat(../../a.txt) = %v", err)
	}
}

// TestGuestConcurrent: several sandbox threads open, read, stat and close
// at once (run with -race).
func TestGuestConcurrent(t *testing.T) {
	v, root, _ := newFS(t)
	g := newGuest(t, v)
	want := hostID(t, filepath.Join(root, "a.txt"))
	paths := []uint64{g.str("/data/a.txt"), g.str("/data/hard"), g.str("/data/sub/rel"), g.str("/data/abs")}
	const workers, rounds = 8, 25
	bufs := make([]uint64, workers)
	for i := range bufs {
		bufs[i] = g.alloc(StatSize)
	}
	var wg sync.WaitGroup
	errs := make(chan string, workers*rounds)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				p := paths[(w+i)%len(paths)]
				if r := g.call("readfile", p, bufs[w], 64); r != 5 {
					errs <- "readfile: " + e(r).Error()
				}
				if r := g.call("fstatpath", p, bufs[w]); r != 0 {
					errs <- "fstatpath: " + e(r).Error()
					continue
				}
				st := decodeStat(g.read(bufs[w], StatSize))
				if (Identity{st.Dev, st.Ino}) != want {
					errs <- "identity differs"
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for m := range errs {
		t.Error(m)
	}
	if v.NumOpen() != 0 {
		t.Errorf("%d descriptors leaked", v.NumOpen())
	}
}

// TestGuestWrite: on a rw mount sandboxed code creates, writes, appends,
// truncates; the host sees it. write (1) keeps fds 1 and 2 for the
// sandbox's built-in.
func TestGuestWrite(t *testing.T) {
	root, _, other := tree(t)
	v, err := New(Config{Mounts: []Mount{{Host: root, Guest: "/ro"}, {Host: other, Guest: "/rw", Writable: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	g := newGuest(t, v)
	var std []uint64
	installWrite(g.s, v, func(_ *sandbox.Thread, a *[6]uint64) int64 {
		std = append(std, a[0])
		return int64(a[2])
	})
	msg := g.str("hello, file\n")
	open := func(p string, flags int, mode uint64) int64 {
		return g.sys(SysOpenat, fdCWD, g.str(p), uint64(flags), mode)
	}
	fd := open("/rw/new.txt", unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o640)
	if fd < 3 {
		t.Fatalf("create = %d", fd)
	}
	if r := g.sys(SysWrite, uint64(fd), msg, 12); r != 12 {
		t.Errorf("write = %d", r)
	}
	if r := g.sys(SysPwrite64, uint64(fd), msg, 5, 12); r != 5 {
		t.Errorf("pwrite64 = %d", r)
	}
	if r := g.sys(SysWrite, uint64(fd), g.s.Base()+0x8000, 4); e(r) != unix.EFAULT {
		t.Errorf("write(bad buffer) = %d", r)
	}
	if r := g.sys(SysWrite, 1, msg, 12); r != 12 || len(std) != 1 || std[0] != 1 {
		t.Errorf("write(1) = %d, built-in saw %v", r, std)
	}
	g.sys(SysClose, uint64(fd))
	host := filepath.Join(other, "new.txt")
	if b, err := os.ReadFile(host); err != nil || string(b) != "hello, file\nhello" {
		t.Errorf("host sees %q, %v", b, err)
	}
	if fi, err := os.Stat(host); err != nil || fi.Mode().Perm()&^0o640 != 0 {
		t.Errorf("mode %v, %v", fi.Mode(), err)
	}
	// The new file's identity is the host's.
	if st, err := g.stat(unix.AT_FDCWD, "/rw/new.txt", 0); err != 0 || (Identity{st.Dev, st.Ino}) != hostID(t, host) {
		t.Errorf("stat(new) = %+v, %v", st, err)
	}
	// Append, truncate, read-only descriptors.
	fd = open("/rw/new.txt", unix.O_WRONLY|unix.O_APPEND, 0)
	if r := g.sys(SysWrite, uint64(fd), msg, 5); r != 5 {
		t.Errorf("append = %d", r)
	}
	if r := g.sys(SysLseek, uint64(fd), 0, unix.SEEK_CUR); r != 22 {
		t.Errorf("offset after append = %d", r)
	}
	if r := g.sys(SysFtruncate, uint64(fd), 3); r != 0 {
		t.Errorf("ftruncate = %d", r)
	}
	if r := g.sys(SysFsync, uint64(fd)); r != 0 {
		t.Errorf("fsync = %d", r)
	}
	g.sys(SysClose, uint64(fd))
	if b, _ := os.ReadFile(host); string(b) != "hel" {
		t.Errorf("after truncate: %q", b)
	}
	fd = open("/rw/new.txt", unix.O_RDWR|unix.O_TRUNC, 0)
	if st, _ := os.Stat(host); st.Size() != 0 {
		t.Errorf("O_TRUNC left %d bytes", st.Size())
	}
	rfd := open("/rw/o.txt", unix.O_RDONLY, 0)
	for _, c := range []struct {
		name string
		r    int64
		err  unix.Errno
	}{
		{"write(read-only fd)", g.sys(SysWrite, uint64(rfd), msg, 1), unix.EBADF},
		{"pwrite64(read-only fd)", g.sys(SysPwrite64, uint64(rfd), msg, 1, 0), unix.EBADF},
		{"ftruncate(read-only fd)", g.sys(SysFtruncate, uint64(rfd), 0), unix.EINVAL},
		{"pwrite64(-1)", g.sys(SysPwrite64, uint64(fd), msg, 1, ^uint64(0)), unix.EINVAL},
		{"write(closed)", g.sys(SysWrite, 77, msg, 1), unix.EBADF},
		{"create again, O_EXCL", open("/rw/new.txt", unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o644), unix.EEXIST},
		{"create on ro", open("/ro/new.txt", unix.O_WRONLY|unix.O_CREAT, 0o644), unix.EROFS},
		{"create in synthetic /", open("/x.txt", unix.O_WRONLY|unix.O_CREAT, 0o644), unix.EROFS},
		{"create with trailing slash", open("/rw/d/", unix.O_WRONLY|unix.O_CREAT, 0o644), unix.EISDIR},
		{"create in missing dir", open("/rw/nodir/x", unix.O_WRONLY|unix.O_CREAT, 0o644), unix.ENOENT},
		{"create under a file", open("/rw/o.txt/x", unix.O_WRONLY|unix.O_CREAT, 0o644), unix.ENOTDIR},
	} {
		if e(c.r) != c.err {
			t.Errorf("%s = %d, want %v", c.name, c.r, c.err)
		}
	}
	// Relative creation from a directory descriptor, then read back.
	dfd := open("/rw", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	nfd := g.sys(SysOpenat, uint64(dfd), g.str("rel.txt"), unix.O_RDWR|unix.O_CREAT, 0o600)
	g.sys(SysWrite, uint64(nfd), msg, 5)
	buf := g.alloc(8)
	if r := g.sys(SysPread64, uint64(nfd), buf, 8, 0); r != 5 || string(g.read(buf, 5)) != "hello" {
		t.Errorf("read back = %d", r)
	}
	if _, err := os.Stat(filepath.Join(other, "rel.txt")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(root, "new.txt")); err == nil {
		t.Error("created on the read-only mount")
	}
}

// putIOV writes an iovec array into the sandbox.
func (g *guest) putIOV(segs ...[2]uint64) uint64 {
	b := make([]byte, 16*len(segs))
	for i, s := range segs {
		binary.LittleEndian.PutUint64(b[16*i:], s[0])
		binary.LittleEndian.PutUint64(b[16*i+8:], s[1])
	}
	a := g.alloc(len(b))
	if err := g.s.Write(a, b); err != nil {
		g.t.Fatal(err)
	}
	return a
}

// TestGuestDupVector: dup/dup2/dup3/fcntl share the open file description
// (one offset); readv/preadv/writev/pwritev scatter and gather.
func TestGuestDupVector(t *testing.T) {
	root, _, other := tree(t)
	v, err := New(Config{Mounts: []Mount{{Host: root, Guest: "/ro"}, {Host: other, Guest: "/rw", Writable: true}}, MaxFiles: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	g := newGuest(t, v)
	var std [][]byte
	installWritev(g.s, v, func(_ *sandbox.Thread, a *[6]uint64) int64 {
		std = append(std, g.read(a[1], int(a[2])))
		return int64(a[2])
	})
	fd := uint64(g.sys(SysOpenat, fdCWD, g.str("/ro/a.txt"), unix.O_RDONLY))
	d := g.sys(SysDup, fd)
	if d != 4 {
		t.Fatalf("dup = %d", d)
	}
	buf := g.alloc(8)
	g.sys(SysRead, fd, buf, 2)
	if r := g.sys(SysLseek, uint64(d), 0, unix.SEEK_CUR); r != 2 {
		t.Errorf("dup'd offset %d, want 2 (shared description)", r)
	}
	if r := g.sys(SysDup2, fd, 9); r != 9 {
		t.Errorf("dup2 = %d", r)
	}
	if r := g.sys(SysDup3, fd, 9, unix.O_CLOEXEC); r != 9 {
		t.Errorf("dup3 onto an open fd = %d", r)
	}
	if r := g.sys(SysFcntl, 9, unix.F_GETFD); r != unix.FD_CLOEXEC {
		t.Errorf("F_GETFD after dup3(O_CLOEXEC) = %d", r)
	}
	for _, c := range []struct {
		name string
		r    int64
		want int64
	}{
		{"dup2(fd, fd)", g.sys(SysDup2, fd, fd), int64(fd)},
		{"dup3(fd, fd)", g.sys(SysDup3, fd, fd, 0), neg(unix.EINVAL)},
		{"dup2(fd, 1)", g.sys(SysDup2, fd, 1), neg(unix.EBADF)},
		{"dup2(bad, 5)", g.sys(SysDup2, 77, 5), neg(unix.EBADF)},
		{"dup3(bad flags)", g.sys(SysDup3, fd, 6, 1), neg(unix.EINVAL)},
		{"F_DUPFD 6", g.sys(SysFcntl, fd, unix.F_DUPFD, 6), 6},
		{"F_DUPFD_CLOEXEC", g.sys(SysFcntl, fd, unix.F_DUPFD_CLOEXEC, 0), 5},
		{"F_GETFD", g.sys(SysFcntl, 5, unix.F_GETFD), unix.FD_CLOEXEC},
		{"F_SETFD", g.sys(SysFcntl, 5, unix.F_SETFD, 0), 0},
		{"F_GETFD again", g.sys(SysFcntl, 5, unix.F_GETFD), 0},
		{"F_GETFL", g.sys(SysFcntl, fd, unix.F_GETFL), unix.O_RDONLY | unix.O_LARGEFILE},
		{"F_SETLK", g.sys(SysFcntl, fd, unix.F_SETLK, 0), neg(unix.EINVAL)},
		{"F_DUPFD beyond the limit", g.sys(SysFcntl, fd, unix.F_DUPFD, 100), neg(unix.EMFILE)},
	} {
		if c.r != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.r, c.want)
		}
	}
	// Closing one descriptor keeps the description open for the others.
	g.sys(SysClose, fd)
	if r := g.sys(SysRead, 9, buf, 8); r != 3 || string(g.read(buf, 3)) != "pha" {
		t.Errorf("read through dup after close = %d", r)
	}
	// readv / preadv.
	b1, b2 := g.alloc(2), g.alloc(8)
	iov := g.putIOV([2]uint64{b1, 2}, [2]uint64{b2, 8})
	rfd := uint64(g.sys(SysOpenat, fdCWD, g.str("/ro/a.txt"), unix.O_RDONLY))
	if r := g.sys(SysReadv, rfd, iov, 2); r != 5 || string(g.read(b1, 2))+string(g.read(b2, 3)) != "alpha" {
		t.Errorf("readv = %d", r)
	}
	if r := g.sys(SysPreadv, rfd, iov, 2, 1); r != 4 || string(g.read(b1, 2))+string(g.read(b2, 2)) != "lpha" {
		t.Errorf("preadv = %d", r)
	}
	for _, c := range []struct {
		name string
		r    int64
		want unix.Errno
	}{
		{"readv(bad iov)", g.sys(SysReadv, rfd, g.s.Base()+0x8000, 1), unix.EFAULT},
		{"readv(bad buffer)", g.sys(SysPreadv, rfd, g.putIOV([2]uint64{g.s.Base() + codeOff, 4}), 1, 0), unix.EFAULT},
		{"readv(too many)", g.sys(SysReadv, rfd, iov, 1025), unix.EINVAL},
		{"readv(overflow)", g.sys(SysReadv, rfd, g.putIOV([2]uint64{b1, 1 << 62}, [2]uint64{b1, 1 << 62}), 2), unix.EINVAL},
		{"preadv(-1)", g.sys(SysPreadv, rfd, iov, 2, ^uint64(0)), unix.EINVAL},
		{"writev(ro fd)", g.sys(SysWritev, rfd, iov, 2), unix.EBADF},
	} {
		if e(c.r) != c.want {
			t.Errorf("%s = %d, want %v", c.name, c.r, c.want)
		}
	}
	// writev / pwritev on a rw mount, O_APPEND via F_SETFL.
	wfd := uint64(g.sys(SysOpenat, fdCWD, g.str("/rw/v.txt"), unix.O_RDWR|unix.O_CREAT, 0o644))
	h, w := g.str("hello, "), g.str("world")
	wiov := g.putIOV([2]uint64{h, 7}, [2]uint64{w, 5})
	if r := g.sys(SysWritev, wfd, wiov, 2); r != 12 {
		t.Errorf("writev = %d", r)
	}
	if r := g.sys(SysPwritev, wfd, g.putIOV([2]uint64{w, 1}), 1, 0); r != 1 {
		t.Errorf("pwritev = %d", r)
	}
	if r := g.sys(SysFcntl, wfd, unix.F_SETFL, unix.O_APPEND); r != 0 {
		t.Errorf("F_SETFL = %d", r)
	}
	g.sys(SysLseek, wfd, 0, unix.SEEK_SET)
	g.sys(SysWritev, wfd, g.putIOV([2]uint64{w, 1}), 1)
	if r := g.sys(SysFcntl, wfd, unix.F_GETFL); r != unix.O_RDWR|unix.O_LARGEFILE|unix.O_APPEND {
		t.Errorf("F_GETFL = %#x", r)
	}
	if b, _ := os.ReadFile(filepath.Join(other, "v.txt")); string(b) != "wello, worldw" {
		t.Errorf("host sees %q", b)
	}
	// writev to fd 1 goes to the built-in write, segment by segment.
	if r := g.sys(SysWritev, 1, wiov, 2); r != 12 || len(std) != 2 || string(std[0])+string(std[1]) != "hello, world" {
		t.Errorf("writev(1) = %d, %q", r, std)
	}
}

// TestInstallWrite: once the sandbox exposes Handler(nr), Install serves
// write (1) for VFS descriptors and still passes fd 1 to the built-in.
func TestInstallWrite(t *testing.T) {
	_, _, other := tree(t)
	v, err := New(Config{Mounts: []Mount{{Host: other, Guest: "/rw", Writable: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	g := newGuest(t, v)
	if _, ok := any(g.s).(interface {
		Handler(nr int) sandbox.HostCallFunc
	}); !ok {
		t.Skip("sandbox.Sandbox has no Handler(nr) getter yet: write (1) stays the built-in only")
	}
	fd := uint64(g.sys(SysOpenat, fdCWD, g.str("/rw/w.txt"), unix.O_WRONLY|unix.O_CREAT, 0o644))
	msg := g.str("data\n")
	if r := g.sys(SysWrite, fd, msg, 5); r != 5 {
		t.Errorf("write(vfs fd) = %d", r)
	}
	if r := g.sys(SysWrite, 1, msg, 5); r != 5 || g.out.String() != "data\n" {
		t.Errorf("write(1) = %d, stdout %q", r, g.out.String())
	}
	if b, _ := os.ReadFile(filepath.Join(other, "w.txt")); string(b) != "data\n" {
		t.Errorf("host sees %q", b)
	}
}

// TestGuestGetdentsMountPoint: a mount point the host directory lacks is
// listed after the host's entries, with the mounted root's inode, and
// lseek to any d_off resumes after that entry.
func TestGuestGetdentsMountPoint(t *testing.T) {
	root, _, other := tree(t)
	v, err := New(Config{Mounts: []Mount{{Host: root, Guest: "/data"}, {Host: other, Guest: "/data/zmnt"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	g := newGuest(t, v)
	all := g.listDir("/data", 4096)
	if d, ok := all["zmnt"]; !ok || d.ino != hostID(t, other).Ino || d.typ != unix.DT_DIR {
		t.Fatalf("zmnt listed as %+v (%v)", d, ok)
	}
	// One entry per call, then resume from every d_off.
	fd := uint64(g.sys(SysOpenat, fdCWD, g.str("/data"), unix.O_RDONLY|unix.O_DIRECTORY))
	buf := g.alloc(64)
	var seq []dirent
	for i := 0; i < 100; i++ {
		n := g.sys(SysGetdents64, fd, buf, 64)
		if n <= 0 {
			break
		}
		seq = append(seq, parseDirents(t, g.read(buf, int(n)))...)
	}
	if len(seq) != len(all) {
		t.Fatalf("%d entries one by one, %d at once", len(seq), len(all))
	}
	for i := 0; i+1 < len(seq); i++ {
		if r := g.sys(SysLseek, fd, uint64(seq[i].off), unix.SEEK_SET); r != seq[i].off {
			t.Fatalf("lseek(%d) = %d", seq[i].off, r)
		}
		n := g.sys(SysGetdents64, fd, buf, 64)
		if n <= 0 {
			t.Fatalf("after lseek to %s's d_off: %d", seq[i].name, n)
		}
		if d := parseDirents(t, g.read(buf, int(n))); d[0].name != seq[i+1].name {
			t.Errorf("after %s: %s, want %s", seq[i].name, d[0].name, seq[i+1].name)
		}
	}
}

// TestGuestLegacyCalls: open, stat, lstat, access and readlink act as
// their *at forms from the current directory.
func TestGuestLegacyCalls(t *testing.T) {
	v, root, _ := newFS(t)
	g := newGuest(t, v)
	if r := g.sys(SysChdir, g.str("/data/sub")); r != 0 {
		t.Fatal(r)
	}
	want := hostID(t, filepath.Join(root, "a.txt"))
	buf := g.alloc(StatSize)
	if r := g.sys(SysStat, g.str("rel"), buf, 0xdead); r != 0 {
		t.Fatalf("stat = %d", r)
	}
	if st := decodeStat(g.read(buf, StatSize)); (Identity{st.Dev, st.Ino}) != want {
		t.Errorf("stat(rel) identity %d:%d, want %+v", st.Dev, st.Ino, want)
	}
	if r := g.sys(SysLstat, g.str("rel"), buf, 0xdead); r != 0 || decodeStat(g.read(buf, StatSize)).Mode&unix.S_IFMT != unix.S_IFLNK {
		t.Errorf("lstat(rel) = %d", r)
	}
	fd := g.sys(SysOpen, g.str("../a.txt"), unix.O_RDONLY, 0)
	if r := g.sys(SysRead, uint64(fd), buf, 16); r != 5 {
		t.Errorf("open+read = %d, %d", fd, r)
	}
	if r := g.sys(SysOpen, g.str("b.txt"), unix.O_WRONLY, 0); e(r) != unix.EROFS {
		t.Errorf("open(O_WRONLY) = %d", r)
	}
	if r := g.sys(SysAccess, g.str("b.txt"), unix.R_OK); r != 0 {
		t.Errorf("access = %d", r)
	}
	if r := g.sys(SysAccess, g.str("nope"), unix.F_OK); e(r) != unix.ENOENT {
		t.Errorf("access(nope) = %d", r)
	}
	if r := g.sys(SysReadlink, g.str("rel"), buf, 64); r != 8 || string(g.read(buf, 8)) != "../a.txt" {
		t.Errorf("readlink = %d", r)
	}
}
