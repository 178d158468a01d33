package filerace

import (
	"go/constant"
	"go/types"

	"golang.org/x/tools/go/ssa"
)

// A lockFact records that a function returns holding an exclusive file
// lock it took (a flock on a lock file, say; Effect 1), so that a caller's
// writes after the call are seen to be serialized by it, or that it
// releases one (Effect -1).
type lockFact struct{ Effect int }

func (*lockFact) AFact() {}

func (f *lockFact) String() string {
	if f.Effect < 0 {
		return "unlock"
	}
	return "lock"
}

// lockLibs are the methods of lock-file libraries that take an exclusive
// lock and hold it after they return; unlockLibs release one.
var lockLibs = map[string]bool{
	"(*github.com/gofrs/flock.Flock).Lock":                   true,
	"(*github.com/gofrs/flock.Flock).TryLock":                true,
	"(github.com/nightlyone/lockfile.Lockfile).TryLock":      true,
	"(*github.com/alexflint/go-filemutex.FileMutex).Lock":    true,
	"(*github.com/alexflint/go-filemutex.FileMutex).TryLock": true,
}

var unlockLibs = map[string]bool{
	"(*github.com/gofrs/flock.Flock).Unlock":                true,
	"(*github.com/gofrs/flock.Flock).Close":                 true,
	"(github.com/nightlyone/lockfile.Lockfile).Unlock":      true,
	"(*github.com/alexflint/go-filemutex.FileMutex).Unlock": true,
	"(*github.com/alexflint/go-filemutex.FileMutex).Close":  true,
}

// lockCall reports whether instr takes an exclusive file lock (+1),
// releases one (-1), or neither (0): flock(2) with a constant LOCK_EX or
// LOCK_UN, a lock-file library, or a function with a lockFact. A flock
// whose operation is not a constant (prometheus's fileutil, which both
// locks and unlocks through one helper) is neither: silence needs proof.
func (c *checker) lockCall(instr ssa.Instruction) int {
	call, ok := instr.(*ssa.Call)
	if !ok {
		return 0
	}
	return c.lockOp(&call.Call)
}

func (c *checker) lockOp(call *ssa.CallCommon) int {
	callee := call.StaticCallee()
	if callee == nil {
		return 0
	}
	switch name := fullName(callee); {
	case name == "syscall.Flock" || name == "golang.org/x/sys/unix.Flock":
		switch {
		case constFlag(call.Args[1], callee.Pkg.Pkg, "LOCK_UN"):
			return -1
		case constFlag(call.Args[1], callee.Pkg.Pkg, "LOCK_EX"):
			return 1
		}
	case lockLibs[name]:
		return 1
	case unlockLibs[name]:
		return -1
	}
	return c.lockEffect(callee)
}

// constFlag reports whether v is a constant that has the bits of the
// constant named flag in package pkg, or equals it when that is 0.
func constFlag(v ssa.Value, pkg *types.Package, flag string) bool {
	k, ok := v.(*ssa.Const)
	if !ok || k.Value == nil || k.Value.Kind() != constant.Int {
		return false
	}
	obj, ok := pkg.Scope().Lookup(flag).(*types.Const)
	if !ok {
		return false
	}
	want, _ := constant.Int64Val(obj.Val())
	got, _ := constant.Int64Val(k.Value)
	if want == 0 {
		return got == 0
	}
	return got&want == want
}

// lockEffect returns 1 if fn returns holding an exclusive lock (it takes
// one and releases none, also in a deferred call), -1 if it releases one
// and takes none, else 0. Functions of other packages answer by their
// facts.
func (c *checker) lockEffect(fn *ssa.Function) int {
	if fn.Pkg == nil || fn.Pkg.Pkg != c.pass.Pkg || fn.Blocks == nil {
		f := new(lockFact)
		if obj := fn.Object(); obj == nil || !c.pass.ImportObjectFact(obj, f) {
			return 0
		}
		return f.Effect
	}
	if e, ok := c.locks[fn]; ok {
		return e
	}
	c.locks[fn] = 0 // recursion: nothing proved
	takes, releases := false, false
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			op := c.lockCall(instr)
			if d, ok := instr.(*ssa.Defer); ok {
				op = c.lockOp(&d.Call)
			}
			takes, releases = takes || op > 0, releases || op < 0
		}
	}
	switch {
	case takes && !releases:
		c.locks[fn] = 1
	case releases && !takes:
		c.locks[fn] = -1
	}
	return c.locks[fn]
}

// lockHeld reports whether every path to instr in its function first takes
// an exclusive file lock, not released before instr.
func (c *checker) lockHeld(instr ssa.Instruction) bool {
	fn := instr.Parent()
	var takes, releases []ssa.Instruction
	for _, b := range fn.Blocks {
		for _, in := range b.Instrs {
			switch c.lockCall(in) {
			case 1:
				takes = append(takes, in)
			case -1:
				releases = append(releases, in)
			}
		}
	}
	for _, t := range takes {
		if !dominates(t, instr) {
			continue
		}
		released := false
		for _, r := range releases {
			released = released || dominates(t, r) && dominates(r, instr)
		}
		if !released {
			return true
		}
	}
	return false
}

// dominates reports whether a comes before b on every path to b.
func dominates(a, b ssa.Instruction) bool {
	if a.Block() != b.Block() {
		return a.Block().Dominates(b.Block())
	}
	for _, in := range a.Block().Instrs {
		switch in {
		case a:
			return true
		case b:
			return false
		}
	}
	return false
}
