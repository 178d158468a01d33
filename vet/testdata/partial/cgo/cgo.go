// Package cgo needs a C library that is not installed.
package cgo

// #include <heisen_no_such_library.h>
import "C"

func Version() int { return int(C.heisen_version()) }
