package conformance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"

	"halite/sfi"
)

// HaliteCC is `halite cc` (package sfi with the validator as its checker):
// the toolchain of the halite backend. It takes the same arguments as GCC.
type HaliteCC struct {
	GCC string // the gcc that halite cc drives, "gcc" if empty

	once sync.Once
	ver  string
	err  error
}

// Name is "halite-cc".
func (h *HaliteCC) Name() string { return "halite-cc" }

// Version identifies the toolchain for the build cache: gcc's version and a
// hash of the running executable, which contains the sfi rewriter and the
// validator (any change to them invalidates cached builds).
func (h *HaliteCC) Version(ctx context.Context) (string, error) {
	h.once.Do(func() {
		gv, err := GCC{Path: h.GCC}.Version(ctx)
		if err != nil {
			h.err = err
			return
		}
		exe, err := os.Executable()
		if err != nil {
			h.err = err
			return
		}
		f, err := os.Open(exe)
		if err != nil {
			h.err = err
			return
		}
		defer f.Close()
		sum := sha256.New()
		if _, err := io.Copy(sum, f); err != nil {
			h.err = err
			return
		}
		h.ver = gv + " halite " + hex.EncodeToString(sum.Sum(nil))[:20]
	})
	return h.ver, h.err
}

// Run runs halite cc with args; dir holds its intermediate files.
func (h *HaliteCC) Run(ctx context.Context, dir string, args []string) error {
	var out bytes.Buffer
	err := sfi.Run(sfi.Config{Stdout: &out, Stderr: &out, GCC: h.GCC, Check: sfi.ValidatorChecker(), TempDir: dir}, args)
	if err != nil {
		return fmt.Errorf("halite cc %v: %w\n%s", args, err, out.Bytes())
	}
	return nil
}
