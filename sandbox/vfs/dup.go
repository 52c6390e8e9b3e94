package vfs

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"halite/sandbox"
)

// Linux x86-64 numbers of the descriptor and vector calls.
const (
	SysReadv   = 19
	SysWritev  = 20
	SysDup     = 32
	SysDup2    = 33
	SysFcntl   = 72
	SysDup3    = 292
	SysPreadv  = 295
	SysPwritev = 296
)

// maxIOV is Linux's UIO_MAXIOV.
const maxIOV = 1024

func (v *FS) sysDup(s *sandbox.Sandbox, a *[6]uint64) int64 {
	f, e := v.get(a[0])
	if e != 0 {
		return neg(e)
	}
	fd, e := v.install(f) // the reference from get becomes the table's
	if e != 0 {
		f.unref()
		return neg(e)
	}
	return int64(fd)
}

// dupTo is dup2/dup3: newfd must be a VFS descriptor number (>= 3; 0..2
// belong to the sandbox).
func (v *FS) dupTo(oldfd, newfd uint64, flags int, dup2 bool) int64 {
	if flags&^unix.O_CLOEXEC != 0 {
		return neg(unix.EINVAL)
	}
	f, e := v.get(oldfd)
	if e != 0 {
		return neg(e)
	}
	nfd := int(uint32(newfd))
	if uint32(oldfd) == uint32(newfd) {
		f.unref()
		if dup2 {
			return int64(nfd)
		}
		return neg(unix.EINVAL)
	}
	if nfd < firstFD || nfd >= firstFD+v.maxFile {
		f.unref()
		return neg(unix.EBADF)
	}
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		f.unref()
		return neg(unix.EBADF)
	}
	old := v.files[nfd]
	if old == nil && len(v.files) >= v.maxFile {
		v.mu.Unlock()
		f.unref()
		return neg(unix.EMFILE)
	}
	v.files[nfd] = f
	v.cloexec[nfd] = flags&unix.O_CLOEXEC != 0
	v.mu.Unlock()
	if old != nil {
		old.unref()
	}
	return int64(nfd)
}

func (v *FS) sysFcntl(s *sandbox.Sandbox, a *[6]uint64) int64 {
	f, e := v.get(a[0])
	if e != 0 {
		return neg(e)
	}
	fd := int(uint32(a[0]))
	switch cmd := int(int32(a[1])); cmd {
	case unix.F_DUPFD, unix.F_DUPFD_CLOEXEC:
		from := int64(int32(a[2]))
		if from < 0 {
			f.unref()
			return neg(unix.EINVAL)
		}
		nfd, e := v.installFrom(f, int(min(from, 1<<30)))
		if e != 0 {
			f.unref()
			return neg(e)
		}
		if cmd == unix.F_DUPFD_CLOEXEC {
			v.mu.Lock()
			v.cloexec[nfd] = true
			v.mu.Unlock()
		}
		return int64(nfd)
	case unix.F_GETFD:
		defer f.unref()
		v.mu.Lock()
		defer v.mu.Unlock()
		if v.cloexec[fd] {
			return unix.FD_CLOEXEC
		}
		return 0
	case unix.F_SETFD:
		defer f.unref()
		v.mu.Lock()
		defer v.mu.Unlock()
		if v.files[fd] == f {
			v.cloexec[fd] = a[2]&unix.FD_CLOEXEC != 0
		}
		return 0
	case unix.F_GETFL:
		defer f.unref()
		fl := f.acc | unix.O_LARGEFILE
		if f.app.Load() {
			fl |= unix.O_APPEND
		}
		if f.dir {
			fl |= unix.O_DIRECTORY
		}
		return int64(fl)
	case unix.F_SETFL:
		// Only O_APPEND is meaningful here (O_NONBLOCK, O_ASYNC,
		// O_DIRECT and O_NOATIME are accepted and ignored).
		defer f.unref()
		if f.dir || f.acc == unix.O_RDONLY {
			return 0
		}
		app := a[2]&unix.O_APPEND != 0
		if err := setAppend(f.fd, app); err != 0 {
			return neg(err)
		}
		f.app.Store(app)
		return 0
	default:
		f.unref()
		return neg(unix.EINVAL)
	}
}

func setAppend(fd int, on bool) unix.Errno {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return errno(err)
	}
	if on {
		fl |= unix.O_APPEND
	} else {
		fl &^= unix.O_APPEND
	}
	_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl)
	return errno(err)
}

type iovec struct{ base, len uint64 }

// readIOV reads and checks a guest iovec array; the total is clamped to
// maxIO by shortening the vector.
func readIOV(s *sandbox.Sandbox, addr, cnt uint64) ([]iovec, uint64, unix.Errno) {
	if cnt > maxIOV {
		return nil, 0, unix.EINVAL
	}
	raw := make([]byte, 16*cnt)
	if err := s.Read(addr, raw); err != nil {
		return nil, 0, unix.EFAULT
	}
	iov := make([]iovec, 0, cnt)
	var total uint64
	for i := range cnt {
		l := binary.LittleEndian.Uint64(raw[16*i+8:])
		if l > 1<<63-1 || total+l > 1<<63-1 {
			return nil, 0, unix.EINVAL
		}
		total += l
		iov = append(iov, iovec{binary.LittleEndian.Uint64(raw[16*i:]), l})
	}
	return iov, min(total, maxIO), 0
}

// scatter copies b into the guest buffers of iov in order; it returns
// the bytes copied, or EFAULT if the first copy fails.
func scatter(s *sandbox.Sandbox, iov []iovec, b []byte) int64 {
	done := 0
	for _, v := range iov {
		if done == len(b) {
			break
		}
		k := int(min(v.len, uint64(len(b)-done)))
		if err := s.Write(v.base, b[done:done+k]); err != nil {
			if done == 0 {
				return neg(unix.EFAULT)
			}
			break
		}
		done += k
	}
	return int64(done)
}

// gather copies up to n bytes from the guest buffers of iov.
func gather(s *sandbox.Sandbox, iov []iovec, n uint64) ([]byte, unix.Errno) {
	b := make([]byte, 0, n)
	for _, v := range iov {
		k := min(v.len, n-uint64(len(b)))
		if k == 0 {
			continue
		}
		seg := b[len(b) : len(b)+int(k)]
		if err := s.Read(v.base, seg); err != nil {
			if len(b) == 0 {
				return nil, unix.EFAULT
			}
			break
		}
		b = b[:len(b)+int(k)]
	}
	return b, 0
}

// preadv reads into a vector at off (off < 0: at and advancing f.off).
func (v *FS) preadv(s *sandbox.Sandbox, f *file, a *[6]uint64, off int64) int64 {
	if f.dir {
		return neg(unix.EISDIR)
	}
	if f.acc == unix.O_WRONLY {
		return neg(unix.EBADF)
	}
	iov, total, e := readIOV(s, a[1], a[2])
	if e != 0 {
		return neg(e)
	}
	pos := off < 0
	if pos {
		f.mu.Lock()
		defer f.mu.Unlock()
		off = f.off
	}
	if total == 0 {
		return 0
	}
	b := make([]byte, total)
	k, err := unix.Pread(f.fd, b, off)
	if err != nil {
		return neg(errno(err))
	}
	r := scatter(s, iov, b[:k])
	if pos && r > 0 {
		f.off += r
	}
	return r
}

// pwritev writes a vector at off (off < 0: at and advancing f.off).
func (v *FS) pwritev(s *sandbox.Sandbox, f *file, a *[6]uint64, off int64) int64 {
	iov, total, e := readIOV(s, a[1], a[2])
	if e != 0 {
		return neg(e)
	}
	if f.dir || f.acc == unix.O_RDONLY {
		return neg(unix.EBADF)
	}
	b, e := gather(s, iov, total)
	if e != 0 {
		return neg(e)
	}
	pos := off < 0
	if pos {
		f.mu.Lock()
		defer f.mu.Unlock()
		off = f.off
	}
	r, end := writeBytes(f, b, off)
	if pos && r > 0 {
		f.off = end
	}
	return r
}

func (v *FS) sysReadv(s *sandbox.Sandbox, f *file, a *[6]uint64) int64 { return v.preadv(s, f, a, -1) }

func (v *FS) sysPreadv(s *sandbox.Sandbox, f *file, a *[6]uint64) int64 {
	if int64(a[3]) < 0 {
		return neg(unix.EINVAL)
	}
	return v.preadv(s, f, a, int64(a[3]))
}

func (v *FS) sysWritev(s *sandbox.Sandbox, f *file, a *[6]uint64) int64 {
	return v.pwritev(s, f, a, -1)
}

func (v *FS) sysPwritev(s *sandbox.Sandbox, f *file, a *[6]uint64) int64 {
	if int64(a[3]) < 0 {
		return neg(unix.EINVAL)
	}
	return v.pwritev(s, f, a, int64(a[3]))
}
