// Package ldsofs adapts a sandbox's virtual file system (vfs.FS) to the
// loader's file-system interface (ldso.FS), so that the loader finds
// objects where sandboxed code would and deduplicates them by the same
// (dev, ino) that stat reports inside the sandbox. It is a separate
// package so that vfs does not depend on ldso. It only opens and stats;
// it never parses what it opens.
package ldsofs

import (
	"fmt"

	"halite/ldso"
	"halite/sandbox/vfs"
)

// FS is an ldso.FS over a vfs.FS. Relative paths are resolved from the
// VFS's current directory (set ldso.Config.Cwd to V.Getwd() so that
// $ORIGIN agrees).
type FS struct{ V *vfs.FS }

// New returns the ldso.FS view of v.
func New(v *vfs.FS) ldso.FS { return FS{V: v} }

// Open opens a guest path for reading.
func (f FS) Open(path string) (ldso.File, error) {
	vf, err := f.V.Open(path)
	if err != nil {
		return nil, err
	}
	return file{vf}, nil
}

type file struct{ *vfs.File }

// Info returns the file's identity and size; only regular files qualify.
func (f file) Info() (ldso.FileID, int64, error) {
	i := f.File.Info()
	if !i.IsRegular() {
		return ldso.FileID{}, 0, fmt.Errorf("%s: not a regular file", f.Name())
	}
	return ldso.FileID{Dev: i.Dev, Ino: i.Ino}, i.Size, nil
}
