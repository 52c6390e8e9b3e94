package ldso

import (
	"strings"
	"testing"
)

func TestExpandTokens(t *testing.T) {
	tests := []struct {
		in, origin, want string
		ok               bool
	}{
		{"$ORIGIN/lib", "/opt/app", "/opt/app/lib", true},
		{"${ORIGIN}/lib", "/opt/app", "/opt/app/lib", true},
		{"$ORIGIN", "/", "/", true},
		{"$ORIGINX/lib", "/o", "$ORIGINX/lib", true}, // not the token: an identifier continues
		{"${ORIGIN/lib", "/o", "${ORIGIN/lib", true}, // unterminated brace
		{"$ORIGIN_1", "/o", "$ORIGIN_1", true},
		{"$ORIGIN-1", "/o", "/o-1", true},
		{"/usr/$LIB/x", "/o", "/usr/lib/x86_64-linux-gnu/x", true},
		{"/usr/${LIB}x", "/o", "/usr/lib/x86_64-linux-gnux", true},
		{"$PLATFORM/$LIB", "/o", "x86_64/lib/x86_64-linux-gnu", true},
		{"$FOO/bar", "/o", "$FOO/bar", true}, // unknown tokens stay
		{"$", "/o", "$", true},
		{"a$$ORIGIN", "/o", "a$/o", true},
		{"$ORIGIN/x", "", "", false}, // unknown origin: the element is dropped
		{"plain", "", "plain", true},
	}
	for _, tc := range tests {
		got, ok := ExpandTokens(tc.in, tc.origin, DefaultLib, DefaultPlatform)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ExpandTokens(%q, origin %q) = %q, %v; want %q, %v", tc.in, tc.origin, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSplitSearchPath(t *testing.T) {
	tests := []struct {
		list, seps, origin string
		want               []string
	}{
		{"/a:/b/", ":", "/o", []string{"/a/", "/b/"}},
		{"/a//:/a", ":", "/o", []string{"/a/"}}, // trailing slashes folded, duplicates removed
		{"/:", ":", "/o", []string{"/", ""}},    // an empty element is the current directory
		{"$ORIGIN/../lib", ":", "/opt/x/bin", []string{"/opt/x/bin/../lib/"}},
		{"$ORIGIN/a:/b", ":", "", []string{"/b/"}}, // unknown origin drops the element
		{"/a;/b /c", ":;", "/o", []string{"/a/", "/b /c/"}},
		{"", ":", "/o", nil},
	}
	for _, tc := range tests {
		got := splitSearchPath(tc.list, tc.seps, tc.origin, DefaultLib, DefaultPlatform)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("splitSearchPath(%q) = %q, want %q", tc.list, got, tc.want)
		}
	}
}

func TestOriginOf(t *testing.T) {
	tests := []struct{ path, cwd, want string }{
		{"/usr/lib/libc.so.6", "/x", "/usr/lib"},
		{"/libc.so.6", "/x", "/"},
		{"./liba.so", "/tmp/d", "/tmp/d/."},
		{"bin/../lib/liba.so", "/tmp/d/", "/tmp/d/bin/../lib"},
		{"liba.so", "", ""},
	}
	for _, tc := range tests {
		if got := originOf(tc.path, tc.cwd); got != tc.want {
			t.Errorf("originOf(%q, %q) = %q, want %q", tc.path, tc.cwd, got, tc.want)
		}
	}
}
