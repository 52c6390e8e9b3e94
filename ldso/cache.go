package ldso

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
)

// The /etc/ld.so.cache format that glibc 2.32 and later write (ldconfig's
// "new" format, glibc's elf/dl-cache.h): a 48-byte header, nlibs 24-byte
// entries sorted for binary search, a string area, and an optional
// extension directory (generator string, glibc-hwcaps subdirectory names).
// String offsets are relative to the start of the file.
const (
	cacheMagicNew   = "glibc-ld.so.cache"
	cacheVersionNew = "1.1"
	cacheMagicOld   = "ld.so-1.7.0"
	cacheHeaderSize = 48
	cacheEntrySize  = 24

	// cacheFlagsX8664 is _DL_CACHE_DEFAULT_ID on x86-64:
	// FLAG_ELF_LIBC6 | FLAG_X8664_LIB64.
	cacheFlagsX8664 = 0x0303

	cacheExtensionMagic = 0xeaa42174 // (uint32_t) -358342284
	cacheExtGenerator   = 0
	cacheExtHwcaps      = 1

	// hwcapExtension marks an entry that lives in a glibc-hwcaps
	// subdirectory; its low 32 bits index the extension's name list.
	hwcapExtension = uint64(1) << 62
	// isaLevelShift/Mask: the x86 ISA level an hwcaps entry needs.
	isaLevelShift = 32
	isaLevelMask  = 0x3ff

	maxCacheSize = 64 << 20 // refuse absurd files
)

// CacheEntry is one library in the cache.
type CacheEntry struct {
	Flags int32
	Name  string // the key, e.g. "libc.so.6"
	Path  string // e.g. "/lib/x86_64-linux-gnu/libc.so.6"
	HWCap uint64
	// Subdir is the glibc-hwcaps subdirectory name for entries that have
	// the extension bit set ("" otherwise).
	Subdir string
}

// Cache is a parsed ld.so.cache.
type Cache struct {
	Entries   []CacheEntry // in file order (sorted by libcmp, descending)
	Generator string       // e.g. "ldconfig (Debian GLIBC 2.36-9+deb12u14) ..."
	// HWCapsSupported lists the glibc-hwcaps subdirectories a lookup
	// accepts, best first (priority order); nil means none.
	HWCapsSupported []string
}

// CacheFormatError reports a cache file this package cannot read.
type CacheFormatError struct {
	Offset int64
	Msg    string
}

func (e *CacheFormatError) Error() string {
	return fmt.Sprintf("ld.so.cache: offset %#x: %s", e.Offset, e.Msg)
}

// ErrOldCacheFormat is returned for the pre-2.32 "ld.so-1.7.0" format, which
// this glibc no longer writes.
var ErrOldCacheFormat = errors.New("ld.so.cache: old \"ld.so-1.7.0\" format (glibc < 2.32) is not supported; run ldconfig from glibc >= 2.32")

// ReadCache reads and parses the cache file at path.
func ReadCache(path string) (*Cache, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > maxCacheSize {
		return nil, fmt.Errorf("%s: %d bytes, larger than the %d-byte limit", path, st.Size(), maxCacheSize)
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c, err := ParseCache(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseCache parses the bytes of an ld.so.cache in glibc's new format
// ("glibc-ld.so.cache1.1", little-endian). Every offset is checked; a
// malformed file gives a *CacheFormatError.
func ParseCache(b []byte) (*Cache, error) {
	le := binary.LittleEndian
	if strings.HasPrefix(string(b), cacheMagicOld) {
		return nil, ErrOldCacheFormat
	}
	if len(b) < cacheHeaderSize {
		return nil, &CacheFormatError{0, fmt.Sprintf("file of %d bytes is shorter than the %d-byte header", len(b), cacheHeaderSize)}
	}
	if string(b[:len(cacheMagicNew)]) != cacheMagicNew {
		return nil, &CacheFormatError{0, fmt.Sprintf("bad magic %q, want %q", b[:len(cacheMagicNew)], cacheMagicNew)}
	}
	if v := string(b[17:20]); v != cacheVersionNew {
		return nil, &CacheFormatError{17, fmt.Sprintf("unsupported version %q, want %q", v, cacheVersionNew)}
	}
	nlibs := le.Uint32(b[20:])
	// flags at 28: 0 = endianness unknown, 2 = little endian, 3 = big.
	switch b[28] & 3 {
	case 0, 2:
	default:
		return nil, &CacheFormatError{28, fmt.Sprintf("endianness flag %#x: not a little-endian cache", b[28])}
	}
	extOff := le.Uint32(b[32:])
	end := uint64(cacheHeaderSize) + uint64(nlibs)*cacheEntrySize
	if end > uint64(len(b)) {
		return nil, &CacheFormatError{20, fmt.Sprintf("%d entries need %d bytes, file has %d", nlibs, end, len(b))}
	}
	str := func(off uint32, at int64) (string, error) {
		if uint64(off) >= uint64(len(b)) {
			return "", &CacheFormatError{at, fmt.Sprintf("string offset %#x outside the file (%d bytes)", off, len(b))}
		}
		s := b[off:]
		for i, c := range s {
			if c == 0 {
				return string(s[:i]), nil
			}
		}
		return "", &CacheFormatError{at, fmt.Sprintf("string at %#x is not NUL-terminated", off)}
	}
	c := &Cache{Entries: make([]CacheEntry, nlibs)}
	var subdirs []string
	if extOff != 0 {
		var err error
		if subdirs, err = c.parseExtensions(b, extOff, str); err != nil {
			return nil, err
		}
	}
	for i := range c.Entries {
		at := int64(cacheHeaderSize + i*cacheEntrySize)
		e := b[at : at+cacheEntrySize]
		name, err := str(le.Uint32(e[4:]), at+4)
		if err != nil {
			return nil, err
		}
		path, err := str(le.Uint32(e[8:]), at+8)
		if err != nil {
			return nil, err
		}
		ce := CacheEntry{Flags: int32(le.Uint32(e[0:])), Name: name, Path: path, HWCap: le.Uint64(e[16:])}
		if ce.HWCap&hwcapExtension != 0 {
			idx := uint32(ce.HWCap)
			if uint64(idx) >= uint64(len(subdirs)) {
				return nil, &CacheFormatError{at + 16, fmt.Sprintf("glibc-hwcaps index %d outside the %d names of the extension", idx, len(subdirs))}
			}
			ce.Subdir = subdirs[idx]
		}
		c.Entries[i] = ce
	}
	c.HWCapsSupported = hostHWCaps()
	return c, nil
}

func (c *Cache) parseExtensions(b []byte, off uint32, str func(uint32, int64) (string, error)) ([]string, error) {
	le := binary.LittleEndian
	if uint64(off)+8 > uint64(len(b)) || off%4 != 0 {
		return nil, &CacheFormatError{32, fmt.Sprintf("extension offset %#x outside the file or misaligned", off)}
	}
	if m := le.Uint32(b[off:]); m != cacheExtensionMagic {
		return nil, &CacheFormatError{int64(off), fmt.Sprintf("bad extension magic %#x", m)}
	}
	count := le.Uint32(b[off+4:])
	if uint64(off)+8+uint64(count)*16 > uint64(len(b)) {
		return nil, &CacheFormatError{int64(off) + 4, fmt.Sprintf("%d extension sections do not fit in the file", count)}
	}
	var subdirs []string
	for i := uint32(0); i < count; i++ {
		at := int64(off) + 8 + int64(i)*16
		s := b[at : at+16]
		tag, soff, size := le.Uint32(s[0:]), le.Uint32(s[8:]), le.Uint32(s[12:])
		if uint64(soff)+uint64(size) > uint64(len(b)) {
			return nil, &CacheFormatError{at, fmt.Sprintf("extension section %d [%#x, +%#x) outside the file", i, soff, size)}
		}
		switch tag {
		case cacheExtGenerator:
			c.Generator = strings.TrimRight(string(b[soff:soff+size]), "\x00")
		case cacheExtHwcaps:
			if size%4 != 0 {
				return nil, &CacheFormatError{at, fmt.Sprintf("glibc-hwcaps section size %d is not a multiple of 4", size)}
			}
			for j := uint32(0); j < size; j += 4 {
				name, err := str(le.Uint32(b[soff+j:]), int64(soff+j))
				if err != nil {
					return nil, err
				}
				subdirs = append(subdirs, name)
			}
		}
	}
	return subdirs, nil
}

// Lookup returns the path the cache gives for a library name, choosing as
// glibc's search_cache does: among the entries for name with the x86-64
// libc6 flags, the best-priority glibc-hwcaps entry the host supports (those
// entries sort first), else the first plain entry. Entries with legacy
// hwcap bits are skipped (glibc 2.36 accepts them only for hwcap bits the
// host has; ldconfig 2.36 no longer writes them).
func (c *Cache) Lookup(name string) (string, bool) {
	n := len(c.Entries)
	left, right := 0, n-1
	for left <= right {
		mid := (left + right) / 2
		cmp := libcmp(name, c.Entries[mid].Name)
		if cmp != 0 {
			if cmp < 0 {
				left = mid + 1
			} else {
				right = mid - 1
			}
			continue
		}
		for mid > 0 && libcmp(name, c.Entries[mid-1].Name) == 0 {
			mid--
		}
		best, bestPrio := "", 0
		for ; mid < n && libcmp(name, c.Entries[mid].Name) == 0; mid++ {
			e := &c.Entries[mid]
			if e.Flags != cacheFlagsX8664 {
				continue
			}
			if e.HWCap&hwcapExtension != 0 {
				prio := c.hwcapPriority(e)
				if prio > 0 && (best == "" || prio < bestPrio) {
					best, bestPrio = e.Path, prio
				}
				continue
			}
			if best != "" {
				break
			}
			if e.HWCap != 0 {
				continue
			}
			return e.Path, true
		}
		return best, best != ""
	}
	return "", false
}

// hwcapPriority is 1 for the best supported subdirectory, 2 for the next...
// and 0 when the host cannot use the entry.
func (c *Cache) hwcapPriority(e *CacheEntry) int {
	level := (e.HWCap >> isaLevelShift) & isaLevelMask
	if level != 0 && level&hostISALevel() != level {
		return 0
	}
	for i, s := range c.HWCapsSupported {
		if s == e.Subdir {
			return i + 1
		}
	}
	return 0
}

// libcmp is glibc's _dl_cache_libcmp: like strcmp, but runs of digits
// compare by numeric value and a digit sorts after a non-digit.
func libcmp(p1, p2 string) int {
	i, j := 0, 0
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	at := func(s string, k int) byte {
		if k < len(s) {
			return s[k]
		}
		return 0
	}
	for at(p1, i) != 0 {
		c1, c2 := at(p1, i), at(p2, j)
		switch {
		case isDigit(c1) && isDigit(c2):
			var v1, v2 uint64
			for isDigit(at(p1, i)) {
				v1 = v1*10 + uint64(p1[i]-'0')
				i++
			}
			for isDigit(at(p2, j)) {
				v2 = v2*10 + uint64(p2[j]-'0')
				j++
			}
			if v1 != v2 {
				if v1 < v2 {
					return -1
				}
				return 1
			}
		case isDigit(c1):
			return 1
		case isDigit(c2):
			return -1
		case c1 != c2:
			return int(int8(c1)) - int(int8(c2)) // C char is signed on x86-64
		default:
			i++
			j++
		}
	}
	return int(int8(at(p1, i))) - int(int8(at(p2, j)))
}
