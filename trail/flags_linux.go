package trail

import "golang.org/x/sys/unix"

const (
	hostAccMode = unix.O_ACCMODE
	hostWrOnly  = unix.O_WRONLY
	hostRdWr    = unix.O_RDWR
)

// hostFlags lists composites first so HostOpenFlags sets their parts too.
var hostFlags = []hostFlag{
	{O_CREAT, unix.O_CREAT}, {O_EXCL, unix.O_EXCL}, {O_NOCTTY, unix.O_NOCTTY},
	{O_TRUNC, unix.O_TRUNC}, {O_APPEND, unix.O_APPEND}, {O_NONBLOCK, unix.O_NONBLOCK},
	{O_SYNC, unix.O_SYNC}, {O_DSYNC, unix.O_DSYNC}, {O_DIRECT, unix.O_DIRECT},
	{O_LARGEFILE, unix.O_LARGEFILE}, {O_TMPFILE, unix.O_TMPFILE},
	{O_DIRECTORY, unix.O_DIRECTORY}, {O_NOFOLLOW, unix.O_NOFOLLOW},
	{O_NOATIME, unix.O_NOATIME}, {O_CLOEXEC, unix.O_CLOEXEC}, {O_PATH, unix.O_PATH},
}
