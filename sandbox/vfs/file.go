package vfs

import (
	"io"
	"io/fs"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// file is an open file description: a host descriptor (-1 for a synthetic
// directory) and the guest's view of it.
type file struct {
	refs  atomic.Int32 // the table's reference plus one per call in progress
	fd    int
	guest string
	m     *mount
	dir   bool
	acc   int         // O_ACCMODE of the open
	app   atomic.Bool // O_APPEND (F_SETFL may change it)
	id    Identity

	mu  sync.Mutex // serialises offset users (Linux's f_pos lock)
	off int64      // regular files: the offset
	// Directories: the host phase ends when the host's getdents64 returns
	// 0; extra then indexes the mount points listed after the host's
	// entries (synthetic directories list ".", ".." and their children).
	hostDone bool
	extra    int
}

func (f *file) unref() {
	if f.refs.Add(-1) == 0 && f.fd >= 0 {
		unix.Close(f.fd)
		f.fd = -1
	}
}

// openNode opens a resolved node (following already done) for reading;
// write access is refused by the caller on read-only mounts.
func (v *FS) openNode(n *node, flags int) (*file, unix.Errno) {
	acc := flags & unix.O_ACCMODE
	if n.isDir() {
		if acc != unix.O_RDONLY {
			return nil, unix.EISDIR
		}
		f := &file{fd: -1, guest: n.guest, m: n.m, dir: true, acc: acc}
		if n.fd >= 0 {
			fd, err := unix.Openat(n.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				return nil, errno(err)
			}
			f.fd = fd
			var st unix.Stat_t
			if err := unix.Fstat(fd, &st); err != nil {
				unix.Close(fd)
				return nil, errno(err)
			}
			f.id = Identity{st.Dev, st.Ino}
		} else {
			f.id = v.synthInfo(n.guest).Identity
		}
		f.refs.Store(1)
		return f, 0
	}
	if flags&unix.O_DIRECTORY != 0 {
		return nil, unix.ENOTDIR
	}
	switch n.st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFLNK:
		return nil, unix.ELOOP // O_NOFOLLOW on a symlink
	default:
		// Devices, FIFOs and sockets are not part of the VFS.
		return nil, unix.EACCES
	}
	hf := unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NONBLOCK | acc
	if n.writable() {
		hf |= flags & (unix.O_APPEND | unix.O_TRUNC)
	}
	fd, err := unix.Openat(n.fd, n.name, hf, 0)
	if err != nil {
		return nil, errno(err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, errno(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		// Replaced on the host between lookup and open.
		unix.Close(fd)
		return nil, unix.EACCES
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, errno(err)
	}
	f := &file{fd: fd, guest: n.guest, m: n.m, acc: acc, id: Identity{st.Dev, st.Ino}}
	f.app.Store(flags&unix.O_APPEND != 0)
	f.refs.Store(1)
	return f, 0
}

// install puts f into the descriptor table (lowest free number >= 3).
func (v *FS) install(f *file) (int, unix.Errno) {
	return v.installFrom(f, firstFD)
}

// installFrom puts f at the lowest free number >= from (F_DUPFD).
func (v *FS) installFrom(f *file, from int) (int, unix.Errno) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return -1, unix.EBADF
	}
	if len(v.files) >= v.maxFile || from >= firstFD+v.maxFile {
		return -1, unix.EMFILE
	}
	fd := max(from, firstFD)
	for v.files[fd] != nil {
		fd++
	}
	v.files[fd] = f
	delete(v.cloexec, fd)
	return fd, 0
}

// get returns the file for a guest descriptor (its low 32 bits, as
// Linux's unsigned int fd) with a reference the caller drops with unref.
func (v *FS) get(fd uint64) (*file, unix.Errno) {
	v.mu.Lock()
	defer v.mu.Unlock()
	f := v.files[int(uint32(fd))]
	if f == nil {
		return nil, unix.EBADF
	}
	f.refs.Add(1)
	return f, 0
}

func (v *FS) closeFD(fd uint64) unix.Errno {
	v.mu.Lock()
	f := v.files[int(uint32(fd))]
	if f == nil {
		v.mu.Unlock()
		return unix.EBADF
	}
	delete(v.files, int(uint32(fd)))
	delete(v.cloexec, int(uint32(fd)))
	v.mu.Unlock()
	f.unref()
	return 0
}

// NumOpen returns the number of open guest descriptors.
func (v *FS) NumOpen() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.files)
}

// File is a guest file opened through the Go API (for the loader): it
// reads at offsets without a shared position.
type File struct {
	f    *file
	name string
	info Info
	once sync.Once
}

// Open opens the guest path p (relative paths from the current
// directory), following symlinks in the guest namespace, for reading.
// Errors are *fs.PathError wrapping a unix.Errno.
func (v *FS) Open(p string) (*File, error) {
	if !v.enter() {
		return nil, &fs.PathError{Op: "open", Path: p, Err: ErrClosed}
	}
	defer v.leave()
	n, e := v.resolve(v.Getwd(), p, true)
	if e != 0 {
		return nil, &fs.PathError{Op: "open", Path: p, Err: e}
	}
	defer n.close()
	f, e := v.openNode(n, unix.O_RDONLY)
	if e != 0 {
		return nil, &fs.PathError{Op: "open", Path: p, Err: e}
	}
	info, err := v.fileInfo(f)
	if err != 0 {
		f.unref()
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	return &File{f: f, name: p, info: info}, nil
}

// Name returns the path the file was opened with.
func (f *File) Name() string { return f.name }

// GuestPath returns the file's canonical guest path (no symlinks, no ".").
func (f *File) GuestPath() string { return f.f.guest }

// Info returns the file's stat as of Open.
func (f *File) Info() Info { return f.info }

// Size returns the file's size as of Open.
func (f *File) Size() int64 { return f.info.Size }

// ReadAt implements io.ReaderAt.
func (f *File) ReadAt(b []byte, off int64) (int, error) {
	if f.f.dir {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: unix.EISDIR}
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: unix.EINVAL}
	}
	n := 0
	for n < len(b) {
		m, err := unix.Pread(f.f.fd, b[n:], off+int64(n))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, &fs.PathError{Op: "read", Path: f.name, Err: err}
		}
		if m == 0 {
			return n, io.EOF
		}
		n += m
	}
	return n, nil
}

// Close closes the file.
func (f *File) Close() error {
	f.once.Do(f.f.unref)
	return nil
}

// fileInfo stats an open file.
func (v *FS) fileInfo(f *file) (Info, unix.Errno) {
	if f.fd < 0 {
		return v.synthInfo(f.guest), 0
	}
	var st unix.Stat_t
	if err := unix.Fstat(f.fd, &st); err != nil {
		return Info{}, errno(err)
	}
	return infoFromStat(&st), 0
}

// Stat returns the stat of guest path p, following symlinks.
func (v *FS) Stat(p string) (Info, error) { return v.statPath("stat", p, true) }

// Lstat returns the stat of guest path p without following a final symlink.
func (v *FS) Lstat(p string) (Info, error) { return v.statPath("lstat", p, false) }

func (v *FS) statPath(op, p string, follow bool) (Info, error) {
	if !v.enter() {
		return Info{}, &fs.PathError{Op: op, Path: p, Err: ErrClosed}
	}
	defer v.leave()
	n, e := v.resolve(v.Getwd(), p, follow)
	if e != 0 {
		return Info{}, &fs.PathError{Op: op, Path: p, Err: e}
	}
	defer n.close()
	info, err := v.stat(n)
	if err != nil {
		return Info{}, &fs.PathError{Op: op, Path: p, Err: err}
	}
	return info, nil
}

// Readlink returns a symlink's target (a guest path).
func (v *FS) Readlink(p string) (string, error) {
	if !v.enter() {
		return "", &fs.PathError{Op: "readlink", Path: p, Err: ErrClosed}
	}
	defer v.leave()
	n, e := v.resolve(v.Getwd(), p, false)
	if e != 0 {
		return "", &fs.PathError{Op: "readlink", Path: p, Err: e}
	}
	defer n.close()
	if n.isDir() || n.st.Mode&unix.S_IFMT != unix.S_IFLNK {
		return "", &fs.PathError{Op: "readlink", Path: p, Err: unix.EINVAL}
	}
	t, e := readlink(n.fd, n.name)
	if e != 0 {
		return "", &fs.PathError{Op: "readlink", Path: p, Err: e}
	}
	return t, nil
}

// Realpath returns the canonical guest path p resolves to.
func (v *FS) Realpath(p string) (string, error) {
	if !v.enter() {
		return "", &fs.PathError{Op: "realpath", Path: p, Err: ErrClosed}
	}
	defer v.leave()
	n, e := v.resolve(v.Getwd(), p, true)
	if e != 0 {
		return "", &fs.PathError{Op: "realpath", Path: p, Err: e}
	}
	defer n.close()
	return n.guest, nil
}
