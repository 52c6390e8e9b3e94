package vfs

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Identity is a file's (st_dev, st_ino): the host's for files under a
// mounted host directory, SyntheticDev and a per-FS number for the
// directories the mount table implies ("/" and the parents of mount
// points when no mount provides them).
type Identity struct{ Dev, Ino uint64 }

// SyntheticDev is the st_dev of synthetic directories (device 0:0, which
// the kernel never gives a mounted file system).
const SyntheticDev = 0

// Info is what stat reports about a file.
type Info struct {
	Identity
	Mode  uint32 // st_mode: type and permission bits (S_IF*)
	Nlink uint64
	Uid   uint32
	Gid   uint32
	Rdev  uint64
	Size  int64
	// Blksize and Blocks are the host's (synthetic directories: 4096, 0).
	Blksize, Blocks     int64
	Atime, Mtime, Ctime time.Time
}

// IsDir, IsRegular and IsSymlink report the file type.
func (i Info) IsDir() bool     { return i.Mode&unix.S_IFMT == unix.S_IFDIR }
func (i Info) IsRegular() bool { return i.Mode&unix.S_IFMT == unix.S_IFREG }
func (i Info) IsSymlink() bool { return i.Mode&unix.S_IFMT == unix.S_IFLNK }

func infoFromStat(st *unix.Stat_t) Info {
	return Info{
		Identity: Identity{Dev: st.Dev, Ino: st.Ino},
		Mode:     st.Mode, Nlink: st.Nlink, Uid: st.Uid, Gid: st.Gid, Rdev: st.Rdev,
		Size: st.Size, Blksize: st.Blksize, Blocks: st.Blocks,
		Atime: time.Unix(st.Atim.Sec, st.Atim.Nsec),
		Mtime: time.Unix(st.Mtim.Sec, st.Mtim.Nsec),
		Ctime: time.Unix(st.Ctim.Sec, st.Ctim.Nsec),
	}
}

// Mount mounts the host directory Host at the absolute guest path Guest,
// read-only unless Writable.
type Mount struct {
	Host     string
	Guest    string
	Writable bool
}

// ParseMount parses the CLI form HOST:GUEST[:rw] (or :ro).
func ParseMount(s string) (Mount, error) {
	f := strings.Split(s, ":")
	var m Mount
	switch {
	case len(f) == 2:
	case len(f) == 3 && (f[2] == "rw" || f[2] == "ro"):
		m.Writable = f[2] == "rw"
	default:
		return Mount{}, fmt.Errorf("vfs: mount %q: want HOST:GUEST[:rw|:ro]", s)
	}
	m.Host, m.Guest = f[0], f[1]
	if m.Host == "" || m.Guest == "" {
		return Mount{}, fmt.Errorf("vfs: mount %q: empty host or guest path", s)
	}
	return m, nil
}

// mount is one entry of the mount table.
type mount struct {
	Mount
	guest string // cleaned guest path
	root  int    // O_PATH|O_DIRECTORY fd of the host directory
	id    Identity
}

// Config configures an FS.
type Config struct {
	Mounts []Mount
	// Cwd is the initial current directory (a guest path); "" means "/".
	Cwd string
	// MaxFiles bounds the open file descriptors of the guest (EMFILE
	// beyond); 0 means DefaultMaxFiles.
	MaxFiles int
}

// MaxMounts bounds the mount table.
const MaxMounts = 4096

// DefaultMaxFiles is the default bound on open guest file descriptors.
const DefaultMaxFiles = 1024

// firstFD is the first guest descriptor the VFS hands out: 0, 1 and 2 stay
// the sandbox's (its built-in write serves 1 and 2).
const firstFD = 3

// FS is one sandbox's file system view: the mount table (fixed at New),
// the current directory and the descriptor table. Its methods are safe
// for concurrent use.
type FS struct {
	mounts  map[string]*mount // by cleaned guest path
	synth   map[string]uint64 // synthetic directory -> ino (1, 2, ...)
	kids    map[string][]string
	maxFile int

	life sync.RWMutex // held for reading by every operation, by Close for writing

	mu    sync.Mutex
	cwd   string
	files map[int]*file
	// cloexec records FD_CLOEXEC per descriptor (kept for F_GETFD only:
	// a sandbox never execs).
	cloexec map[int]bool
	nextFD  int
	closed  bool
}

// New opens every mount's host directory and returns the FS. Guest paths
// must be absolute and distinct; host paths must be directories.
func New(cfg Config) (*FS, error) {
	v := &FS{
		mounts:  map[string]*mount{},
		synth:   map[string]uint64{},
		kids:    map[string][]string{},
		maxFile: cfg.MaxFiles,
		files:   map[int]*file{},
		cloexec: map[int]bool{},
		nextFD:  firstFD,
	}
	if v.maxFile <= 0 {
		v.maxFile = DefaultMaxFiles
	}
	if len(cfg.Mounts) > MaxMounts {
		return nil, fmt.Errorf("vfs: %d mounts, at most %d", len(cfg.Mounts), MaxMounts)
	}
	for _, m := range cfg.Mounts {
		if err := v.addMount(m); err != nil {
			v.closeMounts()
			return nil, err
		}
	}
	// Synthetic directories: "/" and every parent of a mount point that
	// is not itself a mount point, numbered in a stable order.
	var need []string
	for g := range v.mounts {
		for p := g; p != "/"; {
			p = path.Dir(p)
			need = append(need, p)
		}
	}
	if len(v.mounts) == 0 {
		need = append(need, "/")
	}
	sort.Strings(need)
	for _, p := range need {
		if _, ok := v.synth[p]; !ok && v.mounts[p] == nil {
			v.synth[p] = uint64(len(v.synth) + 1)
		}
	}
	seen := map[string]bool{}
	add := func(p string) {
		if p == "/" || seen[p] {
			return
		}
		seen[p] = true
		d := path.Dir(p)
		v.kids[d] = append(v.kids[d], path.Base(p))
	}
	for g := range v.mounts {
		for p := g; p != "/"; p = path.Dir(p) {
			add(p)
		}
	}
	for _, k := range v.kids {
		sort.Strings(k)
	}
	v.cwd = "/"
	if cfg.Cwd != "" {
		if err := v.Chdir(cfg.Cwd); err != nil {
			v.closeMounts()
			return nil, err
		}
	}
	return v, nil
}

func (v *FS) addMount(m Mount) error {
	if !path.IsAbs(m.Guest) {
		return fmt.Errorf("vfs: mount %s at %q: guest path not absolute", m.Host, m.Guest)
	}
	g := path.Clean(m.Guest)
	if v.mounts[g] != nil {
		return fmt.Errorf("vfs: mount %s at %q: %s already mounted there", m.Host, g, v.mounts[g].Host)
	}
	fd, err := unix.Open(m.Host, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("vfs: mount %s at %s: %w", m.Host, g, &fs.PathError{Op: "open", Path: m.Host, Err: err})
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return fmt.Errorf("vfs: mount %s at %s: fstat: %w", m.Host, g, err)
	}
	v.mounts[g] = &mount{Mount: m, guest: g, root: fd, id: Identity{st.Dev, st.Ino}}
	return nil
}

func (v *FS) closeMounts() {
	for _, m := range v.mounts {
		unix.Close(m.root)
	}
}

// Mounts returns the mount table (guest paths cleaned), sorted by guest path.
func (v *FS) Mounts() []Mount {
	var ms []Mount
	for _, m := range v.mounts {
		c := m.Mount
		c.Guest = m.guest
		ms = append(ms, c)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Guest < ms[j].Guest })
	return ms
}

// Close closes every open guest descriptor and the mounts' directories.
// The FS must not be used afterwards (host calls then fail with EBADF or
// ENOENT).
func (v *FS) Close() error {
	v.life.Lock()
	defer v.life.Unlock()
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return nil
	}
	v.closed = true
	files := v.files
	v.files = map[int]*file{}
	v.mu.Unlock()
	for _, f := range files {
		f.unref()
	}
	v.closeMounts()
	return nil
}

// Getwd returns the current directory (a guest path without symlinks).
func (v *FS) Getwd() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.cwd
}

// Chdir changes the current directory, resolving p (relative to the
// current one) in the guest namespace.
func (v *FS) Chdir(p string) error {
	if !v.enter() {
		return &fs.PathError{Op: "chdir", Path: p, Err: ErrClosed}
	}
	defer v.leave()
	if e := v.chdir(v.Getwd(), p); e != 0 {
		return &fs.PathError{Op: "chdir", Path: p, Err: e}
	}
	return nil
}

func (v *FS) chdir(base, p string) unix.Errno {
	n, e := v.resolve(base, p, true)
	if e != 0 {
		return e
	}
	defer n.close()
	if !n.isDir() {
		return unix.ENOTDIR
	}
	v.mu.Lock()
	v.cwd = n.guest
	v.mu.Unlock()
	return 0
}

// ErrClosed is returned by the Go API after Close.
var ErrClosed = errors.New("vfs: file system closed")

// enter starts an operation (false after Close); leave ends it.
func (v *FS) enter() bool {
	v.life.RLock()
	v.mu.Lock()
	closed := v.closed
	v.mu.Unlock()
	if closed {
		v.life.RUnlock()
		return false
	}
	return true
}

func (v *FS) leave() { v.life.RUnlock() }
