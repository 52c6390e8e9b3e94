package ldso

import (
	"embed"
	"io/fs"
)

//go:embed testdata/demo/*.c
var demoFS embed.FS

// DemoSources returns the C sources of `halite demo` (testdata/demo):
// libgreet.c, a library with a TLS variable and a constructor, and ext.c,
// an extension module that depends on it. Both use only halite.h.
func DemoSources() map[string][]byte {
	out := map[string][]byte{}
	ents, _ := fs.ReadDir(demoFS, "testdata/demo")
	for _, e := range ents {
		if b, err := demoFS.ReadFile("testdata/demo/" + e.Name()); err == nil {
			out[e.Name()] = b
		}
	}
	return out
}
