package vfs

import (
	"encoding/binary"
	"path"

	"golang.org/x/sys/unix"

	"halite/sandbox"
)

// direntSize is the record length of a linux_dirent64 with a name of n
// bytes (NUL included, padded to 8).
func direntSize(n int) int { return (19 + n + 1 + 7) &^ 7 }

func putDirent(b []byte, ino uint64, off int64, typ uint8, name string) int {
	rl := direntSize(len(name))
	if rl > len(b) {
		return 0
	}
	clear(b[:rl])
	binary.LittleEndian.PutUint64(b[0:], ino)
	binary.LittleEndian.PutUint64(b[8:], uint64(off))
	binary.LittleEndian.PutUint16(b[16:], uint16(rl))
	b[18] = typ
	copy(b[19:], name)
	return rl
}

// extraBase is the d_off of the mount points listed after a host
// directory's own entries.
const extraBase = 1 << 62

// maxExtra bounds the entries listed after a host directory's own.
const maxExtra = 1 << 20

// idOf returns the identity of a canonical guest directory path.
func (v *FS) idOf(guest string) uint64 {
	n, e := v.resolve("/", guest, true)
	if e != 0 {
		return 0
	}
	defer n.close()
	i, err := v.stat(n)
	if err != nil {
		return 0
	}
	return i.Ino
}

func (v *FS) sysGetdents64(s *sandbox.Sandbox, f *file, a *[6]uint64) int64 {
	if !f.dir {
		return neg(unix.ENOTDIR)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := int(min(a[2], maxDirents))
	buf := make([]byte, n)
	// Check the guest buffer first: entries the host hands out are not
	// handed out again.
	if err := s.Write(a[1], buf); err != nil {
		return neg(unix.EFAULT)
	}
	k := 0
	if f.fd >= 0 && !f.hostDone {
		r, err := unix.Getdents(f.fd, buf)
		if err != nil {
			return neg(errno(err))
		}
		if r > 0 {
			k = r
		} else {
			f.hostDone = true
		}
	}
	if k == 0 {
		k = v.extraDirents(f, buf)
		if k < 0 {
			return neg(unix.EINVAL)
		}
	}
	if err := s.Write(a[1], buf[:k]); err != nil {
		return neg(unix.EFAULT)
	}
	return int64(k)
}

// extraDirents lists the entries the host does not have: for a synthetic
// directory ".", ".." and its children, for a host directory the mount
// points inside it that the host directory lacks. It returns the bytes
// filled, -1 if the next entry does not fit at all.
func (v *FS) extraDirents(f *file, buf []byte) int {
	type ent struct {
		name string
		ino  uint64
	}
	var ents []ent
	if f.fd < 0 {
		ents = append(ents, ent{".", f.id.Ino}, ent{"..", v.idOf(path.Dir(f.guest))})
	}
	for _, k := range v.kids[f.guest] {
		if f.fd >= 0 {
			var st unix.Stat_t
			if unix.Fstatat(f.fd, k, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
				continue // listed by the host
			}
		}
		ents = append(ents, ent{k, 0})
	}
	k := 0
	for f.extra < len(ents) {
		e := ents[f.extra]
		if e.ino == 0 {
			e.ino = v.idOf(join(f.guest, e.name))
		}
		off := int64(f.extra + 1)
		if f.fd >= 0 {
			off += extraBase
		}
		m := putDirent(buf[k:], e.ino, off, unix.DT_DIR, e.name)
		if m == 0 {
			if k == 0 {
				return -1
			}
			break
		}
		k += m
		f.extra++
	}
	return k
}
