package ldso

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// FileID identifies a file independently of the names it has: the
// (st_dev, st_ino) pair the loader deduplicates objects by.
type FileID struct{ Dev, Ino uint64 }

// File is an opened candidate object.
type File interface {
	io.ReaderAt
	io.Closer
	// Info returns the file's identity and size; it fails for anything but
	// a regular file.
	Info() (FileID, int64, error)
}

// FS is the file system the loader searches. HostFS is the host's; the
// sandbox loader plugs in its virtual file system, which must give every
// distinct file a distinct, stable FileID.
type FS interface {
	// Open opens path for reading. Relative paths are relative to the
	// FS's current directory.
	Open(path string) (File, error)
}

// HostFS is the host file system (os.Open and fstat).
type HostFS struct{}

type hostFile struct{ *os.File }

// Open opens a host file.
func (HostFS) Open(path string) (File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return hostFile{f}, nil
}

func (f hostFile) Info() (FileID, int64, error) {
	fi, err := f.File.Stat()
	if err != nil {
		return FileID{}, 0, err
	}
	if fi.IsDir() {
		return FileID{}, 0, fmt.Errorf("%s: %w", f.Name(), syscall.EISDIR)
	}
	if !fi.Mode().IsRegular() {
		return FileID{}, 0, fmt.Errorf("%s: not a regular file", f.Name())
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return FileID{}, 0, fmt.Errorf("%s: no device and inode numbers", f.Name())
	}
	return FileID{Dev: uint64(st.Dev), Ino: uint64(st.Ino)}, fi.Size(), nil
}
