package sfi

import (
	"debug/elf"
	"os"
	"path/filepath"
	"testing"
)

// sqliteVersion is the Debian 12 sqlite3 source package scripts/fetch-sqlite
// caches.
const sqliteVersion = "3.40.1-2+deb12u2"

// sqliteSource returns the cached amalgamation, or "" when it is absent.
func sqliteSource() string {
	cache := os.Getenv("HALITE_CACHE")
	if cache == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		cache = filepath.Join(d, "halite")
	}
	p := filepath.Join(cache, "sqlite", "amalgamation-"+sqliteVersion, "sqlite3.c")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

func textSize(t *testing.T, path string) uint64 {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := f.Section(".text")
	if s == nil {
		t.Fatalf("%s has no .text", path)
	}
	return s.Size
}

// TestSQLite builds the SQLite amalgamation into a validated shared object
// (about 30 s of CPU) and reports its .text size. It is skipped when
// scripts/fetch-sqlite has not run.
func TestSQLite(t *testing.T) {
	needTools(t)
	src := sqliteSource()
	if src == "" {
		t.Skip("SQLite amalgamation not cached: run scripts/fetch-sqlite")
	}
	if testing.Short() {
		t.Skip("slow: -short")
	}
	dir := t.TempDir()
	defs := []string{"-DSQLITE_THREADSAFE=0", "-DSQLITE_OMIT_LOAD_EXTENSION"}
	so := filepath.Join(dir, "libsqlite3-sfi.so")
	ccRun(t, append(append([]string{"-O2", "-shared", "-o", so}, defs...), src)...)
	t.Logf("SQLite .text built by halite cc: %d bytes (scripts/bench-cc compares with native)", textSize(t, so))
	regions, err := CodeRegions(so)
	if err != nil || len(regions) == 0 {
		t.Fatalf("code regions: %v (%d)", err, len(regions))
	}
}
