//go:build !linux

package trail

import "os"

const (
	hostAccMode = os.O_RDONLY | os.O_WRONLY | os.O_RDWR
	hostWrOnly  = os.O_WRONLY
	hostRdWr    = os.O_RDWR
)

var hostFlags = []hostFlag{
	{O_CREAT, os.O_CREATE}, {O_EXCL, os.O_EXCL}, {O_TRUNC, os.O_TRUNC},
	{O_APPEND, os.O_APPEND}, {O_SYNC, os.O_SYNC},
}
