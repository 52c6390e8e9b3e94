package vfs

import (
	"encoding/binary"
	"errors"
	"path"

	"golang.org/x/sys/unix"

	"halite/sandbox"
)

// Linux x86-64 numbers of the host calls Install registers.
const (
	SysRead       = 0
	SysWrite      = 1
	SysClose      = 3
	SysFstat      = 5
	SysLseek      = 8
	SysPread64    = 17
	SysPwrite64   = 18
	SysFsync      = 74
	SysFdatasync  = 75
	SysFtruncate  = 77
	SysGetcwd     = 79
	SysChdir      = 80
	SysFchdir     = 81
	SysGetdents64 = 217
	SysOpenat     = 257
	SysNewfstatat = 262
	SysReadlinkat = 267
	SysFaccessat  = 269
	SysFaccessat2 = 439

	// The pre-*at x86-64 calls (musl still uses them), answered as the
	// *at call with AT_FDCWD.
	SysOpen     = 2
	SysStat     = 4
	SysLstat    = 6
	SysAccess   = 21
	SysReadlink = 89
)

// Bounds on one host call's transfer (a larger count is clamped: the call
// returns a short count, as Linux may).
const (
	maxIO      = 1 << 20
	maxDirents = 64 << 10
)

// StatSize is the size of Linux x86-64's struct stat.
const StatSize = 144

const atFDCWD = unix.AT_FDCWD

// Install registers v's host calls on s (Linux numbers, arguments and
// -errno results; see the package doc for the list). Guest descriptors
// start at 3; write (1) stays the sandbox's built-in for fds 1 and 2.
func Install(s *sandbox.Sandbox, v *FS) {
	for nr, h := range v.table() {
		s.Handle(nr, v.wrap(h))
	}
	// write (1) is the sandbox's built-in for fds 1 and 2: serve it for
	// VFS descriptors only when the built-in can be chained to. writev
	// (20) passes fds 1 and 2 to the built-in write segment by segment.
	var prev sandbox.HostCallFunc
	if g, ok := any(s).(interface {
		Handler(nr int) sandbox.HostCallFunc
	}); ok {
		prev = g.Handler(SysWrite)
		installWrite(s, v, prev)
	}
	installWritev(s, v, prev)
}

// table returns the handlers Install registers, unwrapped (write and
// writev, which chain to the sandbox's write, excepted).
func (v *FS) table() map[int]func(*sandbox.Sandbox, *[6]uint64) int64 {
	return map[int]func(*sandbox.Sandbox, *[6]uint64) int64{
		SysRead:       v.onFD(v.sysRead),
		SysClose:      v.sysClose,
		SysFstat:      v.onFD(v.sysFstat),
		SysLseek:      v.onFD(v.sysLseek),
		SysPread64:    v.onFD(v.sysPread64),
		SysPwrite64:   v.onFD(v.sysPwrite64),
		SysFsync:      v.onFD(v.sysFsync),
		SysFdatasync:  v.onFD(v.sysFsync),
		SysFtruncate:  v.onFD(v.sysFtruncate),
		SysReadv:      v.onFD(v.sysReadv),
		SysPreadv:     v.onFD(v.sysPreadv),
		SysPwritev:    v.onFD(v.sysPwritev),
		SysDup:        v.sysDup,
		SysDup2:       func(s *sandbox.Sandbox, a *[6]uint64) int64 { return v.dupTo(a[0], a[1], 0, true) },
		SysDup3:       func(s *sandbox.Sandbox, a *[6]uint64) int64 { return v.dupTo(a[0], a[1], int(int32(a[2])), false) },
		SysFcntl:      v.sysFcntl,
		SysGetcwd:     v.sysGetcwd,
		SysChdir:      v.sysChdir,
		SysFchdir:     v.onFD(v.sysFchdir),
		SysGetdents64: v.onFD(v.sysGetdents64),
		SysOpenat:     v.sysOpenat,
		SysNewfstatat: v.sysNewfstatat,
		SysReadlinkat: v.sysReadlinkat,
		SysFaccessat:  func(s *sandbox.Sandbox, a *[6]uint64) int64 { return v.access(s, a, 0) },
		SysFaccessat2: func(s *sandbox.Sandbox, a *[6]uint64) int64 { return v.access(s, a, a[3]) },
		SysOpen:       atCWD(v.sysOpenat),
		SysStat:       statAtCWD(v.sysNewfstatat, 0),
		SysLstat:      statAtCWD(v.sysNewfstatat, unix.AT_SYMLINK_NOFOLLOW),
		SysAccess:     atCWD(func(s *sandbox.Sandbox, a *[6]uint64) int64 { return v.access(s, a, 0) }),
		SysReadlink:   atCWD(v.sysReadlinkat),
	}
}

// fdCWD is AT_FDCWD as a register holds it.
const fdCWD = ^uint64(99)

// atCWD turns an *at handler into its pre-*at form: the arguments move
// up one place behind AT_FDCWD.
func atCWD(h func(*sandbox.Sandbox, *[6]uint64) int64) func(*sandbox.Sandbox, *[6]uint64) int64 {
	return func(s *sandbox.Sandbox, a *[6]uint64) int64 {
		return h(s, &[6]uint64{fdCWD, a[0], a[1], a[2], a[3], a[4]})
	}
}

// statAtCWD is atCWD for stat and lstat (path, buf): flags are fixed.
func statAtCWD(h func(*sandbox.Sandbox, *[6]uint64) int64, flags uint64) func(*sandbox.Sandbox, *[6]uint64) int64 {
	return func(s *sandbox.Sandbox, a *[6]uint64) int64 {
		return h(s, &[6]uint64{fdCWD, a[0], a[1], flags})
	}
}

// installWritev registers writev (20): descriptors below 3 go to prev
// (the built-in write) one segment at a time, EBADF without prev.
func installWritev(s *sandbox.Sandbox, v *FS, prev sandbox.HostCallFunc) {
	w := v.wrap(v.onFD(v.sysWritev))
	s.Handle(SysWritev, func(t *sandbox.Thread, a *[6]uint64) int64 {
		if a[0] >= firstFD {
			return w(t, a)
		}
		if prev == nil {
			return neg(unix.EBADF)
		}
		iov, _, e := readIOV(t.Sandbox(), a[1], a[2])
		if e != 0 {
			return neg(e)
		}
		var done int64
		for _, seg := range iov {
			if seg.len == 0 {
				continue
			}
			r := prev(t, &[6]uint64{a[0], seg.base, seg.len})
			if r < 0 {
				if done == 0 {
					return r
				}
				break
			}
			done += r
			if uint64(r) < seg.len {
				break
			}
		}
		return done
	})
}

// onFD adapts a handler of an open descriptor (the first argument): it
// gets the file (EBADF if none) and holds a reference during the call.
func (v *FS) onFD(h func(*sandbox.Sandbox, *file, *[6]uint64) int64) func(*sandbox.Sandbox, *[6]uint64) int64 {
	return func(s *sandbox.Sandbox, a *[6]uint64) int64 {
		f, e := v.get(a[0])
		if e != 0 {
			return neg(e)
		}
		defer f.unref()
		return h(s, f, a)
	}
}

// wrap makes a sandbox handler that fails with EBADF once v is closed
// and keeps Close waiting while it runs.
func (v *FS) wrap(h func(*sandbox.Sandbox, *[6]uint64) int64) sandbox.HostCallFunc {
	return func(t *sandbox.Thread, a *[6]uint64) int64 {
		if !v.enter() {
			return -int64(unix.EBADF)
		}
		defer v.leave()
		return h(t.Sandbox(), a)
	}
}

// installWrite registers write (1): descriptors below 3 go to prev (the
// sandbox's built-in), the others are VFS files.
func installWrite(s *sandbox.Sandbox, v *FS, prev sandbox.HostCallFunc) {
	w := v.wrap(v.onFD(v.sysWrite))
	s.Handle(SysWrite, func(t *sandbox.Thread, a *[6]uint64) int64 {
		if a[0] < firstFD {
			if prev == nil {
				return neg(unix.EBADF)
			}
			return prev(t, a)
		}
		return w(t, a)
	})
}

func neg(e unix.Errno) int64 { return -int64(e) }

// guestPath reads a NUL-terminated path from guest memory.
func guestPath(s *sandbox.Sandbox, addr uint64) (string, unix.Errno) {
	p, err := s.ReadString(addr, PathMax-1)
	if err != nil {
		if errors.Is(err, sandbox.ErrFault) || errors.Is(err, sandbox.ErrClosed) {
			return "", unix.EFAULT
		}
		return "", unix.ENAMETOOLONG
	}
	return p, 0
}

// base returns the guest directory a relative path starts from.
func (v *FS) base(dirfd uint64, p string) (string, unix.Errno) {
	if len(p) > 0 && p[0] == '/' {
		return "/", 0
	}
	if int32(dirfd) == atFDCWD {
		return v.Getwd(), 0
	}
	f, e := v.get(uint64(uint32(dirfd)))
	if e != 0 {
		return "", e
	}
	defer f.unref()
	if !f.dir {
		return "", unix.ENOTDIR
	}
	return f.guest, 0
}

// resolveAt resolves (dirfd, path) as the *at calls do.
func (v *FS) resolveAt(dirfd uint64, p string, follow bool) (*node, unix.Errno) {
	if p == "" {
		return nil, unix.ENOENT
	}
	b, e := v.base(dirfd, p)
	if e != 0 {
		return nil, e
	}
	return v.resolve(b, p, follow)
}

func (v *FS) sysOpenat(s *sandbox.Sandbox, a *[6]uint64) int64 {
	p, e := guestPath(s, a[1])
	if e != 0 {
		return neg(e)
	}
	b, e := v.base(a[0], p)
	if e != 0 {
		return neg(e)
	}
	f, e := v.openFile(b, p, int(int32(a[2])), uint32(a[3]))
	if e != 0 {
		return neg(e)
	}
	fd, e := v.install(f)
	if e != 0 {
		f.unref()
		return neg(e)
	}
	return int64(fd)
}

// openFile is openat(2) relative to the guest directory base.
func (v *FS) openFile(base, p string, flags int, mode uint32) (*file, unix.Errno) {
	if p == "" {
		return nil, unix.ENOENT
	}
	if flags&unix.O_PATH != 0 {
		return nil, unix.EINVAL // O_PATH descriptors are not supported
	}
	acc := flags & unix.O_ACCMODE
	if acc == unix.O_ACCMODE {
		return nil, unix.EINVAL
	}
	if flags&unix.O_TMPFILE == unix.O_TMPFILE {
		return nil, unix.EOPNOTSUPP
	}
	creat, excl := flags&unix.O_CREAT != 0, flags&unix.O_EXCL != 0
	follow := flags&unix.O_NOFOLLOW == 0 && !(creat && excl)
	for try := 0; ; try++ {
		n, e := v.resolve(base, p, follow)
		if e == unix.ENOENT && creat {
			f, e := v.create(base, p, flags, mode)
			if e == unix.EEXIST && !excl && try < 3 {
				continue // created by someone else meanwhile: open it
			}
			return f, e
		}
		if e != 0 {
			return nil, e
		}
		defer n.close()
		if creat && excl {
			return nil, unix.EEXIST
		}
		if n.isDir() && (acc != unix.O_RDONLY || creat) {
			return nil, unix.EISDIR
		}
		if (acc != unix.O_RDONLY || flags&unix.O_TRUNC != 0) && !n.writable() {
			return nil, unix.EROFS
		}
		return v.openNode(n, flags)
	}
}

// create creates and opens a missing regular file (O_CREAT) in a
// writable mount.
func (v *FS) create(base, p string, flags int, mode uint32) (*file, unix.Errno) {
	dir, name := path.Split(p)
	if name == "" || name == "." || name == ".." {
		return nil, unix.EISDIR
	}
	if len(name) > NameMax {
		return nil, unix.ENAMETOOLONG
	}
	if dir == "" {
		dir = "."
	}
	n, e := v.resolve(base, dir, true)
	if e != 0 {
		return nil, e
	}
	defer n.close()
	if !n.isDir() {
		return nil, unix.ENOTDIR
	}
	if !n.writable() || n.fd < 0 {
		return nil, unix.EROFS
	}
	// O_EXCL on the host always: never follow a host symlink that
	// appeared meanwhile.
	hf := unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NOCTTY |
		flags&(unix.O_ACCMODE|unix.O_APPEND|unix.O_TRUNC)
	fd, err := unix.Openat(n.fd, name, hf, mode&0o777)
	if err != nil {
		return nil, errno(err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, errno(err)
	}
	f := &file{fd: fd, guest: join(n.guest, name), m: n.m, acc: flags & unix.O_ACCMODE, id: Identity{st.Dev, st.Ino}}
	f.app.Store(flags&unix.O_APPEND != 0)
	f.refs.Store(1)
	return f, 0
}

func (v *FS) sysClose(s *sandbox.Sandbox, a *[6]uint64) int64 {
	return neg(v.closeFD(a[0]))
}

// readFile reads up to count bytes at off from a regular file into guest
// memory at buf.
func readFile(s *sandbox.Sandbox, f *file, buf, count uint64, off int64) int64 {
	if f.dir {
		return neg(unix.EISDIR)
	}
	if f.acc == unix.O_WRONLY {
		return neg(unix.EBADF)
	}
	n := min(count, maxIO)
	if n == 0 {
		return 0
	}
	b := make([]byte, n)
	k, err := unix.Pread(f.fd, b, off)
	if err != nil {
		return neg(errno(err))
	}
	if err := s.Write(buf, b[:k]); err != nil {
		return neg(unix.EFAULT)
	}
	return int64(k)
}

// writeFile writes up to count bytes from guest memory at buf to a file
// opened for writing, at off (O_APPEND: at the end). It returns the
// count written and the file's end offset for appends.
func writeFile(s *sandbox.Sandbox, f *file, buf, count uint64, off int64) (int64, int64) {
	if f.dir || f.acc == unix.O_RDONLY {
		return neg(unix.EBADF), 0
	}
	n := min(count, maxIO)
	if n == 0 {
		return 0, off
	}
	b := make([]byte, n)
	if err := s.Read(buf, b); err != nil {
		return neg(unix.EFAULT), 0
	}
	return writeBytes(f, b, off)
}

// writeBytes writes b at off (O_APPEND: at the end); it returns the count
// and the offset after the written bytes.
func writeBytes(f *file, b []byte, off int64) (int64, int64) {
	if f.app.Load() {
		k, err := unix.Write(f.fd, b)
		if err != nil {
			return neg(errno(err)), 0
		}
		end, err := unix.Seek(f.fd, 0, unix.SEEK_CUR)
		if err != nil {
			return neg(errno(err)), 0
		}
		return int64(k), end
	}
	k, err := unix.Pwrite(f.fd, b, off)
	if err != nil {
		return neg(errno(err)), 0
	}
	return int64(k), off + int64(k)
}

func (v *FS) sysWrite(s *sandbox.Sandbox, f *file, a *[6]uint64) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, end := writeFile(s, f, a[1], a[2], f.off)
	if r > 0 {
		f.off = end
	}
	return r
}

func (v *FS) sysPwrite64(s *sandbox.Sandbox, f *file, a *[6]uint64) int64 {
	if int64(a[3]) < 0 {
		return neg(unix.EINVAL)
	}
	r, _ := writeFile(s, f, a[1], a[2], int64(a[3]))
	return r
}

func (v *FS) sysFtruncate(s *sandbox.Sandbox, f *file, a *[6]uint64) int64 {
	if f.dir || f.acc == unix.O_RDONLY {
		return neg(unix.EINVAL)
	}
	if int64(a[1]) < 0 {
		return neg(unix.EINVAL)
	}
	return neg(errno(unix.Ftruncate(f.fd, int64(a[1]))))
}

func (v *FS) sysFsync(s *sandbox.Sandbox, f *file, a *[6]uint64) int64 {
	if f.fd < 0 {
		return neg(unix.EINVAL)
	}
	return neg(errno(unix.Fsync(f.fd)))
}

func (v *FS) sysRead(s *sandbox.Sandbox, f *file, a *[6]uint64) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := readFile(s, f, a[1], a[2], f.off)
	if r > 0 {
		f.off += r
	}
	return r
}

func (v *FS) sysPread64(s *sandbox.Sandbox, f *file, a *[6]uint64) int64 {
	if f.dir {
		return neg(unix.EISDIR)
	}
	if int64(a[3]) < 0 {
		return neg(unix.EINVAL)
	}
	return readFile(s, f, a[1], a[2], int64(a[3]))
}

func (v *FS) sysLseek(s *sandbox.Sandbox, f *file, a *[6]uint64) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	off, whence := int64(a[1]), int(int32(a[2]))
	if f.dir {
		return seekDir(f, off, whence)
	}
	var pos int64
	switch whence {
	case unix.SEEK_SET:
		pos = off
	case unix.SEEK_CUR:
		pos = f.off + off
		if (off > 0 && pos < f.off) || (off < 0 && pos > f.off) {
			return neg(unix.EOVERFLOW)
		}
	case unix.SEEK_END, unix.SEEK_DATA, unix.SEEK_HOLE:
		// The host computes these; its own position is never used
		// otherwise (reads use pread).
		r, err := unix.Seek(f.fd, off, whence)
		if err != nil {
			return neg(errno(err))
		}
		pos = r
	default:
		return neg(unix.EINVAL)
	}
	if pos < 0 {
		return neg(unix.EINVAL)
	}
	f.off = pos
	return pos
}

// seekDir supports rewinding (SEEK_SET 0), SEEK_SET to a d_off the host
// returned (host directories) or an entry index (synthetic ones), and
// SEEK_CUR 0 on synthetic directories.
func seekDir(f *file, off int64, whence int) int64 {
	switch {
	case whence == unix.SEEK_SET && off >= 0:
	case whence == unix.SEEK_CUR && off == 0 && f.fd < 0:
		return int64(f.extra)
	default:
		return neg(unix.EINVAL)
	}
	if f.fd >= 0 && off > extraBase && off <= extraBase+maxExtra {
		// Back into the mount points listed after the host's entries
		// (host cookies are not expected in this narrow range).
		f.hostDone, f.extra = true, int(min(off-extraBase, 1<<30))
		return off
	}
	if f.fd >= 0 {
		r, err := unix.Seek(f.fd, off, unix.SEEK_SET)
		if err != nil {
			return neg(errno(err))
		}
		f.hostDone, f.extra = false, 0
		return r
	}
	f.extra = int(min(off, 1<<30))
	return off
}

func (v *FS) sysFstat(s *sandbox.Sandbox, f *file, a *[6]uint64) int64 {
	info, e := v.fileInfo(f)
	if e != 0 {
		return neg(e)
	}
	return putStat(s, a[1], &info)
}

func (v *FS) sysNewfstatat(s *sandbox.Sandbox, a *[6]uint64) int64 {
	flags := int(int32(a[3]))
	const known = unix.AT_EMPTY_PATH | unix.AT_SYMLINK_NOFOLLOW | unix.AT_NO_AUTOMOUNT | 0x6000 // AT_STATX_SYNC_TYPE
	if flags&^known != 0 {
		return neg(unix.EINVAL)
	}
	var p string
	if a[1] != 0 || flags&unix.AT_EMPTY_PATH == 0 {
		var e unix.Errno
		if p, e = guestPath(s, a[1]); e != 0 {
			return neg(e)
		}
	}
	if p == "" && flags&unix.AT_EMPTY_PATH != 0 {
		if int32(a[0]) == atFDCWD {
			p = "."
		} else {
			f, e := v.get(uint64(uint32(a[0])))
			if e != 0 {
				return neg(e)
			}
			defer f.unref()
			info, e := v.fileInfo(f)
			if e != 0 {
				return neg(e)
			}
			return putStat(s, a[2], &info)
		}
	}
	n, e := v.resolveAt(a[0], p, flags&unix.AT_SYMLINK_NOFOLLOW == 0)
	if e != 0 {
		return neg(e)
	}
	defer n.close()
	info, err := v.stat(n)
	if err != nil {
		return neg(errno(err))
	}
	return putStat(s, a[2], &info)
}

// encodeStat lays out Linux x86-64's struct stat.
func encodeStat(b *[StatSize]byte, i *Info) {
	le := binary.LittleEndian
	le.PutUint64(b[0:], i.Dev)
	le.PutUint64(b[8:], i.Ino)
	le.PutUint64(b[16:], i.Nlink)
	le.PutUint32(b[24:], i.Mode)
	le.PutUint32(b[28:], i.Uid)
	le.PutUint32(b[32:], i.Gid)
	le.PutUint64(b[40:], i.Rdev)
	le.PutUint64(b[48:], uint64(i.Size))
	le.PutUint64(b[56:], uint64(i.Blksize))
	le.PutUint64(b[64:], uint64(i.Blocks))
	for k, t := range [...]int64{i.Atime.Unix(), int64(i.Atime.Nanosecond()),
		i.Mtime.Unix(), int64(i.Mtime.Nanosecond()), i.Ctime.Unix(), int64(i.Ctime.Nanosecond())} {
		if i.Atime.IsZero() && i.Mtime.IsZero() && i.Ctime.IsZero() {
			t = 0
		}
		le.PutUint64(b[72+8*k:], uint64(t))
	}
}

func putStat(s *sandbox.Sandbox, addr uint64, i *Info) int64 {
	var b [StatSize]byte
	encodeStat(&b, i)
	if err := s.Write(addr, b[:]); err != nil {
		return neg(unix.EFAULT)
	}
	return 0
}

func (v *FS) sysReadlinkat(s *sandbox.Sandbox, a *[6]uint64) int64 {
	p, e := guestPath(s, a[1])
	if e != 0 {
		return neg(e)
	}
	if int32(a[3]) <= 0 {
		return neg(unix.EINVAL)
	}
	n, e := v.resolveAt(a[0], p, false)
	if e != 0 {
		return neg(e)
	}
	defer n.close()
	if n.isDir() || n.st.Mode&unix.S_IFMT != unix.S_IFLNK {
		return neg(unix.EINVAL)
	}
	t, e := readlink(n.fd, n.name)
	if e != 0 {
		return neg(e)
	}
	k := min(len(t), int(int32(a[3])))
	if err := s.Write(a[2], []byte(t[:k])); err != nil {
		return neg(unix.EFAULT)
	}
	return int64(k)
}

func (v *FS) access(s *sandbox.Sandbox, a *[6]uint64, flagsArg uint64) int64 {
	mode, flags := uint32(a[2]), int(int32(flagsArg))
	if mode&^7 != 0 || flags&^(unix.AT_EACCESS|unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return neg(unix.EINVAL)
	}
	p, e := guestPath(s, a[1])
	if e != 0 {
		return neg(e)
	}
	if p == "" && flags&unix.AT_EMPTY_PATH != 0 {
		if int32(a[0]) == atFDCWD {
			p = "."
		} else {
			f, e := v.get(uint64(uint32(a[0])))
			if e != 0 {
				return neg(e)
			}
			p = f.guest
			f.unref()
		}
	}
	n, e := v.resolveAt(a[0], p, flags&unix.AT_SYMLINK_NOFOLLOW == 0)
	if e != 0 {
		return neg(e)
	}
	defer n.close()
	if mode&unix.W_OK != 0 && !n.writable() {
		return neg(unix.EROFS)
	}
	if n.fd < 0 { // synthetic directory: r-x for everyone
		return 0
	}
	hf := flags & unix.AT_EACCESS
	var err error
	if n.isDir() {
		err = unix.Faccessat(n.fd, "", mode, hf|unix.AT_EMPTY_PATH)
	} else {
		err = unix.Faccessat(n.fd, n.name, mode, hf|unix.AT_SYMLINK_NOFOLLOW)
	}
	return neg(errno(err))
}

func (v *FS) sysGetcwd(s *sandbox.Sandbox, a *[6]uint64) int64 {
	cwd := v.Getwd()
	if uint64(len(cwd)+1) > a[1] {
		return neg(unix.ERANGE)
	}
	if err := s.Write(a[0], append([]byte(cwd), 0)); err != nil {
		return neg(unix.EFAULT)
	}
	return int64(len(cwd) + 1)
}

func (v *FS) sysChdir(s *sandbox.Sandbox, a *[6]uint64) int64 {
	p, e := guestPath(s, a[0])
	if e != 0 {
		return neg(e)
	}
	return neg(v.chdir(v.Getwd(), p))
}

func (v *FS) sysFchdir(s *sandbox.Sandbox, f *file, a *[6]uint64) int64 {
	if !f.dir {
		return neg(unix.ENOTDIR)
	}
	return neg(v.chdir("/", f.guest))
}
