package vfs

import (
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// Resolution limits (Linux's values).
const (
	// MaxSymlinks is how many symlinks one resolution follows (ELOOP beyond).
	MaxSymlinks = 40
	// PathMax bounds a path string including its NUL (ENAMETOOLONG).
	PathMax = 4096
	// NameMax bounds one path component (ENAMETOOLONG).
	NameMax = 255
	// maxDepth bounds the directory nesting a resolution descends to
	// (each level holds one host descriptor while resolving).
	maxDepth = 512
	// maxLink bounds a symlink's target.
	maxLink = PathMax
)

// level is one directory on the resolution stack.
type level struct {
	guest string
	fd    int // O_PATH fd of the host directory; -1 for a synthetic one
	own   bool
	m     *mount
}

// node is a resolved guest path: either a directory (name == "", fd the
// directory itself, or -1 when synthetic) or an entry name inside the host
// directory fd.
type node struct {
	guest string
	m     *mount // nil: synthetic directory
	fd    int
	own   bool
	name  string
	st    unix.Stat_t // lstat of an entry (name != "")
}

func (n *node) close() {
	if n.own && n.fd >= 0 {
		unix.Close(n.fd)
	}
	n.fd = -1
}

func (n *node) isDir() bool { return n.name == "" }

// stat returns the node's stat (an entry's own, never its target's).
func (v *FS) stat(n *node) (Info, error) {
	if n.name != "" {
		return infoFromStat(&n.st), nil
	}
	if n.fd < 0 {
		return v.synthInfo(n.guest), nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(n.fd, &st); err != nil {
		return Info{}, err.(unix.Errno)
	}
	return infoFromStat(&st), nil
}

func (v *FS) synthInfo(guest string) Info {
	return Info{
		Identity: Identity{Dev: SyntheticDev, Ino: v.synth[guest]},
		Mode:     unix.S_IFDIR | 0o555,
		Nlink:    uint64(2 + len(v.kids[guest])),
		Blksize:  4096,
	}
}

// writable reports whether the node lies on a writable mount.
func (n *node) writable() bool { return n.m != nil && n.m.Writable }

// resolve resolves p in the guest namespace, relative to the guest
// directory base when p is relative. The final component is followed if it
// is a symlink when follow is set (or when p ends in '/'). Every step is
// one host component looked up with AT_SYMLINK_NOFOLLOW / O_NOFOLLOW
// relative to a directory descriptor inside a mount; ".." pops the guest
// stack and never reaches the host; symlink targets are guest paths.
func (v *FS) resolve(base, p string, follow bool) (*node, unix.Errno) {
	if p == "" {
		return nil, unix.ENOENT
	}
	if len(p) >= PathMax {
		return nil, unix.ENAMETOOLONG
	}
	if strings.IndexByte(p, 0) >= 0 {
		return nil, unix.EINVAL
	}
	if !path.IsAbs(p) {
		p = base + "/" + p
	}
	w := walker{v: v}
	defer w.release()
	w.push(v.rootLevel())
	mustDir := strings.HasSuffix(p, "/")
	todo := splitPath(p, nil)
	links := 0
	for len(todo) > 0 {
		c := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		last := len(todo) == 0
		switch c {
		case ".":
			continue
		case "..":
			w.pop()
			continue
		}
		if len(c) > NameMax {
			return nil, unix.ENAMETOOLONG
		}
		top := w.top()
		guest := join(top.guest, c)
		if m := v.mounts[guest]; m != nil {
			if err := w.push(level{guest: guest, fd: m.root, m: m}); err != 0 {
				return nil, err
			}
			continue
		}
		_, synthetic := v.synth[guest]
		if top.fd < 0 {
			if !synthetic {
				return nil, unix.ENOENT
			}
			if err := w.push(level{guest: guest, fd: -1}); err != 0 {
				return nil, err
			}
			continue
		}
		var st unix.Stat_t
		err := fstatat(top.fd, c, &st)
		if synthetic && (err != 0 || st.Mode&unix.S_IFMT != unix.S_IFDIR) {
			// A mount below shadows whatever the host has here.
			if err := w.push(level{guest: guest, fd: -1}); err != 0 {
				return nil, err
			}
			continue
		}
		if err != 0 {
			return nil, err
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			fd, err := openPath(top.fd, c)
			if err != 0 {
				return nil, err
			}
			if err := w.push(level{guest: guest, fd: fd, own: true, m: top.m}); err != 0 {
				return nil, err
			}
		case unix.S_IFLNK:
			if last && !follow && !mustDir {
				return w.entry(guest, c, &st), 0
			}
			links++
			if links > MaxSymlinks {
				return nil, unix.ELOOP
			}
			target, err := readlink(top.fd, c)
			if err != 0 {
				return nil, err
			}
			if target == "" {
				return nil, unix.ENOENT
			}
			if path.IsAbs(target) {
				w.popAll()
			}
			todo = splitPath(target, todo)
		default:
			if !last {
				return nil, unix.ENOTDIR
			}
			if mustDir {
				return nil, unix.ENOTDIR
			}
			return w.entry(guest, c, &st), 0
		}
	}
	return w.dir(), 0
}

// splitPath appends p's components, last first, to todo (a stack whose
// top is the next component), dropping empty ones.
func splitPath(p string, todo []string) []string {
	for len(p) > 0 {
		i := strings.LastIndexByte(p, '/')
		if c := p[i+1:]; c != "" {
			todo = append(todo, c)
		}
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return todo
}

func join(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

func (v *FS) rootLevel() level {
	if m := v.mounts["/"]; m != nil {
		return level{guest: "/", fd: m.root, m: m}
	}
	return level{guest: "/", fd: -1}
}

type walker struct {
	v     *FS
	stack []level
}

func (w *walker) top() *level { return &w.stack[len(w.stack)-1] }

func (w *walker) push(l level) unix.Errno {
	if len(w.stack) >= maxDepth {
		if l.own {
			unix.Close(l.fd)
		}
		return unix.ENAMETOOLONG
	}
	w.stack = append(w.stack, l)
	return 0
}

func (w *walker) pop() {
	if len(w.stack) <= 1 {
		return
	}
	if t := w.top(); t.own {
		unix.Close(t.fd)
	}
	w.stack = w.stack[:len(w.stack)-1]
}

func (w *walker) popAll() {
	for len(w.stack) > 1 {
		w.pop()
	}
}

func (w *walker) release() {
	w.popAll()
	w.stack = nil
}

// dir turns the top of the stack into the result (taking its descriptor).
func (w *walker) dir() *node {
	t := w.top()
	n := &node{guest: t.guest, m: t.m, fd: t.fd, own: t.own}
	t.own = false
	return n
}

// entry returns a non-directory entry of the top directory.
func (w *walker) entry(guest, name string, st *unix.Stat_t) *node {
	t := w.top()
	n := &node{guest: guest, m: t.m, fd: t.fd, own: t.own, name: name, st: *st}
	t.own = false
	return n
}

func errno(err error) unix.Errno {
	if err == nil {
		return 0
	}
	if e, ok := err.(unix.Errno); ok {
		return e
	}
	return unix.EIO
}

func fstatat(dirfd int, name string, st *unix.Stat_t) unix.Errno {
	return errno(unix.Fstatat(dirfd, name, st, unix.AT_SYMLINK_NOFOLLOW))
}

func openPath(dirfd int, name string) (int, unix.Errno) {
	fd, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	return fd, errno(err)
}

func readlink(dirfd int, name string) (string, unix.Errno) {
	buf := make([]byte, maxLink+1)
	n, err := unix.Readlinkat(dirfd, name, buf)
	if err != nil {
		return "", errno(err)
	}
	if n > maxLink {
		return "", unix.ENAMETOOLONG
	}
	return string(buf[:n]), 0
}
