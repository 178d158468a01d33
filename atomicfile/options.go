package atomicfile

import "io/fs"

// An Option changes how a replace is made. Options are plain values, so
// passing them costs no allocation; later options override earlier ones.
type Option struct {
	kind   optionKind
	perm   fs.FileMode
	tracer Tracer
}

type optionKind uint8

const (
	optDurable optionKind = iota + 1
	optAtomicOnly
	optNoClobber
	optReplaceSymlinks
	optFollowSymlinks
	optPerm
	optIgnoreUmask
	optTracer
)

var (
	// Durable makes every replace reach stable storage before it returns:
	// the file's data is synced before the rename and the directory after it,
	// so an acknowledged replace survives a crash or power loss. It is the
	// default.
	Durable = Option{kind: optDurable}

	// AtomicOnly skips every sync. Readers still see either the old or the
	// new content, never a mix, but after a power loss the target may hold
	// the old content, or (on file systems without ext4's auto_da_alloc) an
	// empty or partly written file. Use it for caches that can be rebuilt.
	AtomicOnly = Option{kind: optAtomicOnly}

	// NoClobber makes the replace fail with an error matching [ErrExist] when
	// the target already exists, instead of replacing it. The check and the
	// creation are one atomic step (RENAME_NOREPLACE or link(2)), so two
	// writers racing to create the same file cannot both succeed.
	NoClobber = Option{kind: optNoClobber}

	// ReplaceSymlinks replaces a symbolic link at the target path with a
	// regular file, as rename(2) does. It is the default; see the package
	// documentation for why.
	ReplaceSymlinks = Option{kind: optReplaceSymlinks}

	// FollowSymlinks replaces the file a symbolic link at the target path
	// points to (resolving every link in the path when the replace starts),
	// and leaves the link in place. The temporary file is created next to
	// the resolved file, so the rename stays within one file system.
	FollowSymlinks = Option{kind: optFollowSymlinks}

	// IgnoreUmask gives a new file exactly the requested permission bits
	// instead of perm &^ umask.
	IgnoreUmask = Option{kind: optIgnoreUmask}
)

// WithPerm sets the permission bits of a file that does not exist yet, for
// [Create] and [Update] (which default to 0o666, like os.Create); the umask is
// applied unless [IgnoreUmask] is given. An existing target always keeps its
// own mode.
func WithPerm(perm fs.FileMode) Option {
	return Option{kind: optPerm, perm: perm}
}

// WithTracer hands every file operation of every replace to t, for example
// atomictrail.Tracer(w), which writes them to the trail w. Without a tracer nothing is recorded and nothing is paid.
func WithTracer(t Tracer) Option {
	return Option{kind: optTracer, tracer: t}
}

// config is the result of applying options.
type config struct {
	noSync      bool
	noClobber   bool
	follow      bool
	ignoreUmask bool
	perm        fs.FileMode
	tracer      Tracer
}

func newConfig(perm fs.FileMode, opts []Option) config {
	c := config{perm: perm}
	for _, o := range opts {
		switch o.kind {
		case optDurable:
			c.noSync = false
		case optAtomicOnly:
			c.noSync = true
		case optNoClobber:
			c.noClobber = true
		case optReplaceSymlinks:
			c.follow = false
		case optFollowSymlinks:
			c.follow = true
		case optPerm:
			c.perm = o.perm
		case optIgnoreUmask:
			c.ignoreUmask = true
		case optTracer:
			c.tracer = o.tracer
		}
	}
	return c
}
