package vfs

import (
	"encoding/binary"
	"errors"

	"golang.org/x/sys/unix"

	"halite/sandbox"
)

// Linux x86-64 numbers of the host calls Install registers.
const (
	SysRead       = 0
	SysClose      = 3
	SysFstat      = 5
	SysLseek      = 8
	SysPread64    = 17
	SysGetcwd     = 79
	SysChdir      = 80
	SysFchdir     = 81
	SysGetdents64 = 217
	SysOpenat     = 257
	SysNewfstatat = 262
	SysReadlinkat = 267
	SysFaccessat  = 269
	SysFaccessat2 = 439
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
// -errno results): read, close, fstat, lseek, pread64, getcwd, chdir,
// fchdir, getdents64, openat, newfstatat, readlinkat, faccessat and
// faccessat2. It leaves write (fds 1 and 2, the sandbox's built-in) alone;
// guest descriptors start at 3.
func Install(s *sandbox.Sandbox, v *FS) {
	for nr, h := range map[int]func(*sandbox.Sandbox, *[6]uint64) int64{
		SysRead:       v.sysRead,
		SysClose:      v.sysClose,
		SysFstat:      v.sysFstat,
		SysLseek:      v.sysLseek,
		SysPread64:    v.sysPread64,
		SysGetcwd:     v.sysGetcwd,
		SysChdir:      v.sysChdir,
		SysFchdir:     v.sysFchdir,
		SysGetdents64: v.sysGetdents64,
		SysOpenat:     v.sysOpenat,
		SysNewfstatat: v.sysNewfstatat,
		SysReadlinkat: v.sysReadlinkat,
		SysFaccessat:  func(s *sandbox.Sandbox, a *[6]uint64) int64 { return v.access(s, a, 0) },
		SysFaccessat2: func(s *sandbox.Sandbox, a *[6]uint64) int64 { return v.access(s, a, a[3]) },
	} {
		s.Handle(nr, func(t *sandbox.Thread, a *[6]uint64) int64 {
			if !v.enter() {
				return -int64(unix.EBADF)
			}
			defer v.leave()
			return h(t.Sandbox(), a)
		})
	}
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
	flags := int(int32(a[2]))
	p, e := guestPath(s, a[1])
	if e != 0 {
		return neg(e)
	}
	if flags&unix.O_PATH != 0 {
		return neg(unix.EINVAL) // O_PATH descriptors are not supported
	}
	acc := flags & unix.O_ACCMODE
	if acc == unix.O_ACCMODE {
		return neg(unix.EINVAL)
	}
	write := acc != unix.O_RDONLY || flags&(unix.O_TRUNC|unix.O_CREAT) != 0
	if flags&unix.O_TMPFILE == unix.O_TMPFILE {
		return neg(unix.EROFS)
	}
	follow := flags&unix.O_NOFOLLOW == 0 && flags&(unix.O_CREAT|unix.O_EXCL) != unix.O_CREAT|unix.O_EXCL
	n, e := v.resolveAt(a[0], p, follow)
	if e == unix.ENOENT && flags&unix.O_CREAT != 0 {
		return neg(unix.EROFS)
	}
	if e != 0 {
		return neg(e)
	}
	defer n.close()
	if flags&(unix.O_CREAT|unix.O_EXCL) == unix.O_CREAT|unix.O_EXCL {
		return neg(unix.EEXIST)
	}
	if n.isDir() && (acc != unix.O_RDONLY || flags&unix.O_CREAT != 0) {
		return neg(unix.EISDIR)
	}
	if write && (acc != unix.O_RDONLY || flags&unix.O_TRUNC != 0) {
		if !n.writable() {
			return neg(unix.EROFS)
		}
		return neg(unix.EOPNOTSUPP) // writing is not implemented yet
	}
	f, e := v.openNode(n, flags)
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

func (v *FS) sysRead(s *sandbox.Sandbox, a *[6]uint64) int64 {
	f, e := v.get(a[0])
	if e != 0 {
		return neg(e)
	}
	defer f.unref()
	f.mu.Lock()
	defer f.mu.Unlock()
	r := readFile(s, f, a[1], a[2], f.off)
	if r > 0 {
		f.off += r
	}
	return r
}

func (v *FS) sysPread64(s *sandbox.Sandbox, a *[6]uint64) int64 {
	f, e := v.get(a[0])
	if e != 0 {
		return neg(e)
	}
	defer f.unref()
	if f.dir {
		return neg(unix.EISDIR)
	}
	if int64(a[3]) < 0 {
		return neg(unix.EINVAL)
	}
	return readFile(s, f, a[1], a[2], int64(a[3]))
}

func (v *FS) sysLseek(s *sandbox.Sandbox, a *[6]uint64) int64 {
	f, e := v.get(a[0])
	if e != 0 {
		return neg(e)
	}
	defer f.unref()
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

func (v *FS) sysFstat(s *sandbox.Sandbox, a *[6]uint64) int64 {
	f, e := v.get(a[0])
	if e != 0 {
		return neg(e)
	}
	defer f.unref()
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

func (v *FS) sysFchdir(s *sandbox.Sandbox, a *[6]uint64) int64 {
	f, e := v.get(a[0])
	if e != 0 {
		return neg(e)
	}
	defer f.unref()
	if !f.dir {
		return neg(unix.ENOTDIR)
	}
	return neg(v.chdir("/", f.guest))
}
