package sfi

import _ "embed"

// HaliteHeader is include/halite.h: the declarations of the libhalite.so
// runtime object (halite_syscall and the dl* functions, RTLD_* constants)
// for modules built with halite cc.
//
//go:embed include/halite.h
var HaliteHeader []byte
