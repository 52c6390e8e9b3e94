// Package vfs is the virtual file system sandboxed code sees: host
// directories mounted at guest paths (read-only unless asked), guest path
// resolution that cannot leave the mounts, a per-sandbox current directory
// and descriptor table, and the file host calls (Linux numbers, arguments
// and -errno results) that Install registers on a sandbox. It also gives
// the loader the same view (Open, Stat; the ldsofs subpackage adapts it to
// ldso.FS). It never interprets file contents and never writes to sandbox
// memory except through the sandbox's bounds-checked Read/Write.
//
// # Resolution
//
// Paths are resolved in the guest namespace one component at a time.
// "." and ".." act on the guest path already resolved (".." of "/" is
// "/", ".." of a mount's root is the guest parent), so the host's ".." is
// never asked. Each component is looked up with fstatat(AT_SYMLINK_NOFOLLOW)
// relative to an O_PATH descriptor of the host directory reached so far
// (the mount's root, opened once at New) and directories are entered with
// openat(O_PATH|O_DIRECTORY|O_NOFOLLOW): host symlinks are never followed
// by the kernel. A symlink's target is read and resolved as a GUEST path
// (absolute from the guest root, relative from the link's directory), at
// most MaxSymlinks times per resolution (ELOOP). A mount point shadows
// what the host has there; "/" and the parents of mount points that no
// mount provides are synthetic read-only directories listing their
// children. Only regular files, directories and symlinks are visible;
// opening a device, FIFO or socket fails with EACCES.
//
// # Identity
//
// stat reports the host's st_dev and st_ino (and the other host fields)
// for everything under a mount, so one file reached through a symlink, a
// hard link, a relative path or another mount has one Identity, and
// distinct files have distinct ones. Synthetic directories have st_dev
// SyntheticDev (0) and small inode numbers fixed at New.
//
// # Host calls
//
// read (0), close (3), fstat (5), lseek (8), pread64 (17), pwrite64 (18),
// readv (19), writev (20), dup (32), dup2 (33), fcntl (72: F_DUPFD,
// F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL), fsync (74),
// fdatasync (75), ftruncate (77), getcwd (79), chdir (80), fchdir (81),
// getdents64 (217), openat (257), newfstatat (262), readlinkat (267),
// faccessat (269), dup3 (292), preadv (295), pwritev (296) and faccessat2
// (439), and the older open (2), stat (4), lstat (6), access (21) and
// readlink (89) as the *at calls from the current directory; write (1)
// for VFS descriptors, chained (through sandbox.Handler) to the sandbox's
// built-in write for fds 1 and 2, as writev is. dup2/dup3 onto 0..2 fail
// with EBADF (those numbers are the sandbox's). Writing (openat with
// write access, O_CREAT, O_TRUNC, O_APPEND; write, pwrite64, ftruncate)
// works on Writable mounts only; elsewhere it fails with EROFS. Created
// files get the requested mode & 0777 (less the host umask). Guest
// descriptors start at 3 (0..2 are the sandbox's: its built-in write
// serves 1 and 2); at most Config.MaxFiles are open (EMFILE). Every guest
// pointer goes through the sandbox's checked Read/Write/ReadString (EFAULT);
// paths are bounded by PathMax, components by NameMax (ENAMETOOLONG); one
// read moves at most 1 MiB and one getdents64 at most 64 KiB (short
// counts, never a larger allocation). struct stat is Linux x86-64's
// 144-byte layout.
//
// # Partial
//
//   - No mkdir, unlink, rename, symlink or link calls; O_CREAT through a
//     dangling symlink fails with EEXIST (Linux creates the target).
//   - O_PATH and O_TMPFILE opens are refused (EINVAL, EOPNOTSUPP).
//   - lseek on a directory supports SEEK_SET to 0 or to a d_off from
//     getdents64 only (and SEEK_CUR 0 on synthetic directories); mount
//     points listed after a host directory's own entries have d_off
//     values just above 1<<62 (a host cookie in that narrow range would
//     be taken for one of them).
//   - Host-side changes race with resolution as with Linux bind mounts: a
//     directory that a host process moves out of a mount while a
//     resolution is inside it is still searched (sandboxed code itself
//     cannot make directories, symlinks or renames).
//   - A directory descriptor is resolved again by its guest path when used
//     as dirfd or by fchdir (not by the host descriptor), so a host-side
//     rename of that directory is seen as Linux would not.
package vfs
