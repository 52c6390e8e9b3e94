package sfi

import (
	_ "embed"
	"os"
	"path/filepath"
)

// HaliteHeader is include/halite.h: the declarations of the libhalite.so
// runtime object (halite_syscall and the dl* functions, RTLD_* constants)
// for modules built with halite cc.
//
//go:embed include/halite.h
var HaliteHeader []byte

// addHaliteInclude writes halite.h into the driver's temporary directory
// and puts that directory on every compile's and preprocess's include
// path with -idirafter: after the user's -I and the system directories,
// so a user's own halite.h wins.
func (d *Driver) addHaliteInclude() error {
	dir := filepath.Join(d.tmp, "halite-include")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "halite.h"), HaliteHeader, 0o644); err != nil {
		return err
	}
	d.inv.CFlags = append(d.inv.CFlags, "-idirafter", dir)
	return nil
}
