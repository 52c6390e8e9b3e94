package ldso

import "strings"

// Values glibc 2.36 on Debian x86-64 substitutes for $LIB and $PLATFORM
// (checked with LD_DEBUG=libs: AT_PLATFORM is "x86_64").
const (
	DefaultLib      = "lib/x86_64-linux-gnu"
	DefaultPlatform = "x86_64"
)

// DefaultDirs are glibc 2.36's system search directories on Debian x86-64
// (`ld.so --help`), in order.
var DefaultDirs = []string{"/lib/x86_64-linux-gnu/", "/usr/lib/x86_64-linux-gnu/", "/lib/", "/usr/lib/"}

// dstLen reports whether s (just after a '$') starts the token ref, either
// as ref followed by a non-identifier character or as {ref}, and returns
// the length to skip (0 when it does not match).
func dstLen(s, ref string) int {
	curly := strings.HasPrefix(s, "{")
	if curly {
		s = s[1:]
	}
	if !strings.HasPrefix(s, ref) {
		return 0
	}
	rest := s[len(ref):]
	if curly {
		if !strings.HasPrefix(rest, "}") {
			return 0
		}
		return len(ref) + 2
	}
	if rest != "" {
		c := rest[0]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' {
			return 0
		}
	}
	return len(ref)
}

// ExpandTokens substitutes the dynamic string tokens $ORIGIN, ${ORIGIN},
// $LIB, ${LIB}, $PLATFORM and ${PLATFORM} in s, as glibc's
// _dl_dst_substitute does. An unknown $x stays as written. ok is false
// when s uses a known token whose value is unknown (origin == ""): glibc
// then drops the whole path element.
func ExpandTokens(s, origin, lib, platform string) (string, bool) {
	if !strings.Contains(s, "$") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			b.WriteByte(s[i])
			continue
		}
		rest := s[i+1:]
		var repl string
		var n int
		switch {
		case dstLen(rest, "ORIGIN") > 0:
			n, repl = dstLen(rest, "ORIGIN"), origin
		case dstLen(rest, "PLATFORM") > 0:
			n, repl = dstLen(rest, "PLATFORM"), platform
		case dstLen(rest, "LIB") > 0:
			n, repl = dstLen(rest, "LIB"), lib
		default:
			b.WriteByte('$')
			continue
		}
		if repl == "" {
			return "", false
		}
		b.WriteString(repl)
		i += n
	}
	return b.String(), true
}

// originOf is glibc's l_origin for an object opened as path: the directory
// part of path, made absolute against cwd without resolving symbolic links
// or cleaning "." and "..".
func originOf(path, cwd string) string {
	if !strings.HasPrefix(path, "/") {
		if cwd == "" {
			return ""
		}
		path = strings.TrimSuffix(cwd, "/") + "/" + path
	}
	i := strings.LastIndexByte(path, '/')
	if i == 0 {
		return "/"
	}
	return path[:i]
}

// splitSearchPath splits an RPATH, RUNPATH or library-path list into
// directory prefixes as glibc's fillin_rpath does: tokens expanded,
// elements whose expansion fails or comes out empty dropped, trailing
// slashes folded to one, an empty element meaning the current directory
// (""), duplicates within the list removed.
func splitSearchPath(list, seps, origin, lib, platform string) []string {
	var dirs []string
	seen := map[string]bool{}
	if list == "" {
		return nil
	}
	for _, el := range splitAny(list, seps) {
		if el != "" {
			var ok bool
			if el, ok = ExpandTokens(el, origin, lib, platform); !ok || el == "" {
				continue
			}
			for len(el) > 1 && el[len(el)-1] == '/' {
				el = el[:len(el)-1]
			}
			if el != "/" {
				el += "/"
			}
		}
		if !seen[el] {
			seen[el] = true
			dirs = append(dirs, el)
		}
	}
	return dirs
}

// splitAny splits s at every byte in seps, keeping empty fields (strsep).
func splitAny(s, seps string) []string {
	var out []string
	for {
		i := strings.IndexAny(s, seps)
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i])
		s = s[i+1:]
	}
}
