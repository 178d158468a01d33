package ptrace

import (
	"errors"
	"fmt"
	"slices"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ArgTest tests the low 32 bits of the argument Arg (0 to 5) of a call:
// it holds when they are one of Values, or, when Bits is set, when every
// bit of Bits is set in them.
type ArgTest struct {
	Arg    int
	Values []uint32 `json:",omitempty"`
	Bits   uint32   `json:",omitempty"`
}

// filterSpec is what the seccomp filter stops: the calls Syscalls (those
// in Only when all of their tests hold), and with Foreign every call of
// another architecture.
type filterSpec struct {
	Syscalls []int
	Only     map[int][]ArgTest `json:",omitempty"`
	Foreign  bool              `json:",omitempty"`
}

// installFilter installs prog on the calling thread.
func installFilter(prog []unix.SockFilter) error {
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	seccomp := func() error {
		_, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog)))
		if e != 0 {
			return e
		}
		return nil
	}
	err := seccomp()
	if errors.Is(err, unix.EACCES) {
		// Without CAP_SYS_ADMIN the kernel requires no_new_privs.
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("prctl PR_SET_NO_NEW_PRIVS: %w", err)
		}
		err = seccomp()
	}
	if err != nil {
		return fmt.Errorf("seccomp SET_MODE_FILTER: %w", err)
	}
	return nil
}

// Offsets in struct seccomp_data; an argument's low 32 bits come first
// on the little-endian x86-64 and arm64.
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

// filter is the classic-BPF program of spec, returning SECCOMP_RET_TRACE
// for a call to stop and SECCOMP_RET_ALLOW for the others:
//
//	ld arch; jne auditArch -> allow (trace with Foreign)
//	ld nr; jeq nr -> trace, for each nr without tests
//	       jeq nr -> its tests, for each nr with tests
//	allow: ret ALLOW
//	trace: ret TRACE
//	tests of each nr: ld arg; jeq value -> next test, ... else -> allow
//	                  (or: and bits; jeq bits -> next test, else -> allow)
//	                  ret TRACE; allow: ret ALLOW
func filter(spec *filterSpec) ([]unix.SockFilter, error) {
	var a asm
	other := "allow"
	if spec.Foreign {
		other = "trace"
	}
	a.op(ldAbs, offArch)
	a.jump(jeq, auditArch, "", other)
	a.op(ldAbs, offNr)
	var tested []int
	for _, nr := range spec.Syscalls {
		if len(spec.Only[nr]) > 0 {
			tested = append(tested, nr)
			a.jump(jeq, uint32(nr), fmt.Sprint("tests", nr), "")
			continue
		}
		a.jump(jeq, uint32(nr), "trace", "")
	}
	a.label("allow")
	a.op(ret, unix.SECCOMP_RET_ALLOW)
	a.label("trace")
	a.op(ret, unix.SECCOMP_RET_TRACE)
	for _, nr := range tested {
		a.label(fmt.Sprint("tests", nr))
		fail := fmt.Sprint("fail", nr)
		for i, t := range spec.Only[nr] {
			if t.Arg < 0 || t.Arg > 5 || len(t.Values) == 0 && t.Bits == 0 {
				return nil, fmt.Errorf("ptrace: syscall %d: test %+v has no argument 0-5 or nothing to test", nr, t)
			}
			next := fmt.Sprint("test", nr, ".", i+1)
			a.op(ldAbs, uint32(offArgs+8*t.Arg))
			if t.Bits != 0 {
				a.op(and, t.Bits)
				a.jump(jeq, t.Bits, next, fail)
			} else {
				for j, v := range t.Values {
					onFail := ""
					if j == len(t.Values)-1 {
						onFail = fail
					}
					a.jump(jeq, v, next, onFail)
				}
			}
			a.label(next)
		}
		a.op(ret, unix.SECCOMP_RET_TRACE)
		a.label(fail)
		a.op(ret, unix.SECCOMP_RET_ALLOW)
	}
	return a.assemble()
}

const (
	ldAbs = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	and   = unix.BPF_ALU | unix.BPF_AND | unix.BPF_K
	ret   = unix.BPF_RET | unix.BPF_K
)

// asm lays out a classic-BPF program whose conditional jumps name labels
// ("" falls through to the next instruction).
type asm struct {
	prog   []unix.SockFilter
	jumps  map[int][2]string // instruction → its jt and jf labels
	labels map[string]int
}

func (a *asm) op(code uint16, k uint32) {
	a.prog = append(a.prog, unix.SockFilter{Code: code, K: k})
}

func (a *asm) jump(code uint16, k uint32, jt, jf string) {
	if a.jumps == nil {
		a.jumps = map[int][2]string{}
	}
	a.jumps[len(a.prog)] = [2]string{jt, jf}
	a.op(code, k)
}

func (a *asm) label(name string) {
	if a.labels == nil {
		a.labels = map[string]int{}
	}
	a.labels[name] = len(a.prog)
}

// assemble resolves the labels: classic BPF jumps only forward, at most
// 255 instructions.
func (a *asm) assemble() ([]unix.SockFilter, error) {
	for i, j := range a.jumps {
		for k, name := range j {
			if name == "" {
				continue
			}
			to, ok := a.labels[name]
			off := to - i - 1
			if !ok || off < 0 || off > 255 {
				return nil, fmt.Errorf("ptrace: seccomp filter of %d instructions: cannot jump from %d to %s", len(a.prog), i, name)
			}
			if k == 0 {
				a.prog[i].Jt = uint8(off)
			} else {
				a.prog[i].Jf = uint8(off)
			}
		}
	}
	if len(a.prog) > 4096 {
		return nil, fmt.Errorf("ptrace: seccomp filter of %d instructions, more than 4096", len(a.prog))
	}
	return slices.Clip(a.prog), nil
}
