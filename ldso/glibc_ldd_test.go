package ldso

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

var (
	hostCacheOnce sync.Once
	hostCache     *Cache
	hostCacheErr  error
)

// hostNamespace loads path the way `halite ldd` does on this host. It is
// safe to call from several goroutines.
func hostNamespace(t testing.TB, path, libraryPath string) (*Namespace, error) {
	hostCacheOnce.Do(func() { hostCache, hostCacheErr = ReadCache("/etc/ld.so.cache") })
	if hostCacheErr != nil {
		return nil, hostCacheErr
	}
	cache := hostCache
	cwd, _ := os.Getwd()
	ns := NewNamespace(Config{Cwd: cwd, LibraryPath: libraryPath, Cache: cache, Interp: "/lib64/ld-linux-x86-64.so.2"})
	_, err := ns.LoadMain(path)
	return ns, err
}

// haliteLddLines is the text `halite ldd` prints, one entry per line.
func haliteLddLines(ns *Namespace) []string {
	lines, static := ns.LddLines()
	if static {
		return []string{"statically linked"}
	}
	var s []string
	for _, l := range lines {
		s = append(s, l.String())
	}
	return s
}

var loadAddr = regexp.MustCompile(` \(0x[0-9a-f]+\)$`)

// glibcLdd runs the host's ldd on path (it executes ld.so on the file, which
// is acceptable for system libraries) and returns its lines without load
// addresses and the vdso line; ok is false when ldd refuses the file.
func glibcLdd(path string) (lines []string, ok bool) {
	cmd := exec.Command("ldd", path)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, false
	}
	for _, l := range strings.Split(out.String(), "\n") {
		l = strings.TrimSpace(loadAddr.ReplaceAllString(l, ""))
		if l == "" || strings.HasPrefix(l, "linux-vdso.so.1") {
			continue
		}
		lines = append(lines, l)
	}
	return lines, true
}

// sharedObjects lists the ELF ET_DYN files under dir (recursively; every
// name, symbolic links included, since $ORIGIN follows the name), sorted;
// withExec adds ET_EXEC files.
func sharedObjects(t *testing.T, dir string, withExec bool) []string {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		f, err := HostFS{}.Open(p)
		if err != nil {
			return nil
		}
		_, _, err = f.Info()
		hdr := make([]byte, 18)
		_, rerr := f.ReadAt(hdr, 0)
		f.Close()
		if err == nil && rerr == nil && string(hdr[:4]) == "\x7fELF" && (hdr[16] == 3 || hdr[16] == 2 && withExec) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Skipf("%s: %v", dir, err)
	}
	sort.Strings(files)
	return files
}

// knownLddDifferences pins every file whose halite ldd output differs from
// glibc's, with the reason. Empty: there are none on Debian 12.
var knownLddDifferences = map[string]string{}

// TestLddMatchesGlibc compares `halite ldd` with glibc's ldd for every
// shared object in the system library directories.
func TestLddMatchesGlibc(t *testing.T) {
	if _, err := exec.LookPath("ldd"); err != nil {
		t.Skip("no ldd")
	}
	if testing.Short() {
		t.Skip("runs ldd on ~1100 files")
	}
	// The acceptance set: every shared object in the two library
	// directories; then, as extra coverage, the programs in /usr/bin and
	// /usr/sbin.
	var files []string
	for _, d := range []string{"/usr/lib/x86_64-linux-gnu", "/usr/lib/python3.11/lib-dynload"} {
		files = append(files, sharedObjects(t, d, false)...)
	}
	nlib := len(files)
	for _, d := range []string{"/usr/bin", "/usr/sbin"} {
		files = append(files, sharedObjects(t, d, true)...)
	}
	type result struct {
		file        string
		glibc, ours []string
		skipped     bool
		err         error
	}
	results := make([]result, len(files))
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				r := result{file: files[i]}
				var ok bool
				r.glibc, ok = glibcLdd(files[i])
				r.skipped = !ok
				if ok {
					ns, err := hostNamespace(t, files[i], "")
					r.err = err
					if err == nil {
						r.ours = haliteLddLines(ns)
					}
				}
				results[i] = r
			}
		}()
	}
	for i := range files {
		work <- i
	}
	close(work)
	wg.Wait()
	same, skipped, pinned := 0, 0, 0
	libSame, libSkipped := 0, 0
	for i, r := range results {
		if i == nlib {
			libSame, libSkipped = same, skipped
		}
		switch {
		case r.skipped:
			skipped++
			continue
		case r.err == nil && strings.Join(r.glibc, "\n") == strings.Join(r.ours, "\n"):
			same++
			continue
		}
		if why, ok := knownLddDifferences[r.file]; ok {
			pinned++
			t.Logf("%s: known difference: %s", r.file, why)
			continue
		}
		t.Errorf("%s:\nglibc ldd:\n\t%s\nhalite ldd (err %v):\n\t%s", r.file, strings.Join(r.glibc, "\n\t"), r.err, strings.Join(r.ours, "\n\t"))
	}
	if nlib == len(results) {
		libSame, libSkipped = same, skipped
	}
	t.Logf("library dirs: %d shared objects, %d identical to glibc ldd (same lines, same order), %d refused by ldd", nlib, libSame, libSkipped)
	t.Logf("all, with /usr/bin and /usr/sbin: %d files, %d identical, %d pinned differences, %d refused by ldd", len(files), same, pinned, skipped)
	if same == 0 {
		t.Fatal("no file compared")
	}
}
