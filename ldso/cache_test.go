package ldso

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestCacheHost parses this machine's /etc/ld.so.cache and checks that
// every name `ldconfig -p` lists resolves to the first path it lists.
func TestCacheHost(t *testing.T) {
	c, err := ReadCache("/etc/ld.so.cache")
	if err != nil {
		t.Skipf("no usable host cache: %v", err)
	}
	if len(c.Entries) == 0 {
		t.Fatal("no entries")
	}
	out, err := exec.Command("ldconfig", "-p").Output()
	if err != nil {
		out, err = exec.Command("/sbin/ldconfig", "-p").Output()
	}
	if err != nil {
		t.Skipf("ldconfig -p: %v", err)
	}
	want := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		name, rest, ok := strings.Cut(line, " (")
		if !ok || !strings.Contains(rest, "libc6,x86-64") {
			continue
		}
		_, path, ok := strings.Cut(rest, ") => ")
		if _, seen := want[name]; ok && !seen {
			want[name] = path
		}
	}
	if len(want) == 0 {
		t.Fatal("ldconfig -p listed nothing")
	}
	for name, path := range want {
		got, ok := c.Lookup(name)
		if !ok || got != path {
			t.Errorf("Lookup(%q) = %q, %v; ldconfig -p says %q", name, got, ok, path)
		}
	}
	for _, miss := range []string{"libdoesnotexist.so.1", "", "a", "zzzz"} {
		if p, ok := c.Lookup(miss); ok {
			t.Errorf("Lookup(%q) = %q, want miss", miss, p)
		}
	}
	t.Logf("%d entries, %d names checked; generator %q", len(c.Entries), len(want), c.Generator)
}

// buildCache writes a synthetic new-format cache.
func buildCache(entries []CacheEntry, subdirs []string) []byte {
	le := binary.LittleEndian
	var strs bytes.Buffer
	strOff := map[string]uint32{}
	n := len(entries)
	base := uint32(cacheHeaderSize + n*cacheEntrySize)
	add := func(s string) uint32 {
		if o, ok := strOff[s]; ok {
			return o
		}
		o := base + uint32(strs.Len())
		strs.WriteString(s)
		strs.WriteByte(0)
		strOff[s] = o
		return o
	}
	b := make([]byte, base)
	copy(b, cacheMagicNew+cacheVersionNew)
	le.PutUint32(b[20:], uint32(n))
	b[28] = 2
	for i, e := range entries {
		at := cacheHeaderSize + i*cacheEntrySize
		le.PutUint32(b[at:], uint32(e.Flags))
		le.PutUint32(b[at+4:], add(e.Name))
		le.PutUint32(b[at+8:], add(e.Path))
		le.PutUint64(b[at+16:], e.HWCap)
	}
	var subOffs []uint32
	for _, s := range subdirs {
		subOffs = append(subOffs, add(s))
	}
	gen := add("test generator")
	b = append(b, strs.Bytes()...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	le.PutUint32(b[24:], uint32(len(b)-cacheHeaderSize)) // len_strings (unused)
	ext := uint32(len(b))
	le.PutUint32(b[32:], ext)
	hw := ext + 8 + 2*16
	b = le.AppendUint32(b, cacheExtensionMagic)
	b = le.AppendUint32(b, 2)
	for _, s := range [][4]uint32{{cacheExtGenerator, 0, gen, uint32(len("test generator"))}, {cacheExtHwcaps, 0, hw, uint32(4 * len(subdirs))}} {
		for _, v := range s {
			b = le.AppendUint32(b, v)
		}
	}
	for _, o := range subOffs {
		b = le.AppendUint32(b, o)
	}
	return b
}

func TestCacheSynthetic(t *testing.T) {
	ext := hwcapExtension
	v2 := ext | uint64(isaV2)<<isaLevelShift
	entries := []CacheEntry{ // sorted as ldconfig sorts: descending libcmp
		{Flags: cacheFlagsX8664, Name: "libz.so.10", Path: "/l/libz.so.10"},
		{Flags: cacheFlagsX8664, Name: "libz.so.9", Path: "/l/libz.so.9"},
		{Flags: cacheFlagsX8664, Name: "libx.so.1", Path: "/l/glibc-hwcaps/x86-64-v2/libx.so.1", HWCap: v2 | 1},
		{Flags: cacheFlagsX8664, Name: "libx.so.1", Path: "/l/glibc-hwcaps/x86-64-v9/libx.so.1", HWCap: ext | 0},
		{Flags: 0x0003, Name: "libx.so.1", Path: "/l32/libx.so.1"},
		{Flags: cacheFlagsX8664, Name: "libx.so.1", Path: "/l/libx.so.1"},
		{Flags: 0x0003, Name: "liba.so", Path: "/l32/liba.so"},
	}
	b := buildCache(entries, []string{"x86-64-v9", "x86-64-v2"})
	c, err := ParseCache(b)
	if err != nil {
		t.Fatal(err)
	}
	if c.Generator != "test generator" {
		t.Errorf("generator %q", c.Generator)
	}
	c.HWCapsSupported = []string{"x86-64-v2"}
	tests := []struct{ name, want string }{
		{"libz.so.10", "/l/libz.so.10"},
		{"libz.so.9", "/l/libz.so.9"},
		{"libz.so.09", "/l/libz.so.9"}, // numeric comparison, as glibc
		{"libx.so.1", "/l/glibc-hwcaps/x86-64-v2/libx.so.1"},
		{"liba.so", ""}, // only a 32-bit entry
		{"libq.so", ""},
	}
	for _, tc := range tests {
		got, _ := c.Lookup(tc.name)
		if got != tc.want {
			t.Errorf("Lookup(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	c.HWCapsSupported = nil // a host without x86-64-v2
	if got, _ := c.Lookup("libx.so.1"); got != "/l/libx.so.1" {
		t.Errorf("without hwcaps: %q", got)
	}
}

func TestCacheErrors(t *testing.T) {
	good := buildCache([]CacheEntry{{Flags: cacheFlagsX8664, Name: "a", Path: "/a"}}, nil)
	trunc := func(n int) []byte { return append([]byte(nil), good[:n]...) }
	badStr := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(badStr[cacheHeaderSize+4:], 1<<30)
	manyLibs := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(manyLibs[20:], 1<<30)
	badVer := append([]byte(nil), good...)
	copy(badVer[17:], "1.0")
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"old format", []byte("ld.so-1.7.0\x00\x00\x00\x00\x00"), "old"},
		{"empty", nil, "shorter than"},
		{"header only", trunc(40), "shorter than"},
		{"bad magic", append([]byte("glibc-ld.so.cachX1.1"), make([]byte, 40)...), "bad magic"},
		{"bad version", badVer, "unsupported version"},
		{"string outside", badStr, "outside the file"},
		{"too many entries", manyLibs, "entries need"},
	}
	for _, tc := range tests {
		_, err := ParseCache(tc.b)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := ParseCache([]byte("ld.so-1.7.0")); !errors.Is(err, ErrOldCacheFormat) {
		t.Errorf("old format: %v", err)
	}
}

func FuzzParseCache(f *testing.F) {
	f.Add(buildCache([]CacheEntry{{Flags: cacheFlagsX8664, Name: "libc.so.6", Path: "/lib/libc.so.6", HWCap: hwcapExtension}}, []string{"x86-64-v3"}))
	if b, err := os.ReadFile("/etc/ld.so.cache"); err == nil && len(b) < 1<<20 {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCache(b)
		if err != nil {
			return
		}
		for _, e := range c.Entries {
			c.Lookup(e.Name)
		}
		c.Lookup("libc.so.6")
	})
}

func TestLibcmp(t *testing.T) {
	tests := []struct {
		a, b string
		sign int
	}{
		{"libc.so.6", "libc.so.6", 0},
		{"libc.so.10", "libc.so.9", 1},
		{"libc.so.6", "libc.so", 1},
		{"liba", "libb", -1},
		{"lib1", "liba", 1},
		{"", "", 0},
		{"", "a", -1},
	}
	for _, tc := range tests {
		got := libcmp(tc.a, tc.b)
		if (got > 0) != (tc.sign > 0) || (got < 0) != (tc.sign < 0) {
			t.Errorf("libcmp(%q, %q) = %d, want sign %d", tc.a, tc.b, got, tc.sign)
		}
	}
}
