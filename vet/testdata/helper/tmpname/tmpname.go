// Package tmpname names temp files; its callers are in another package, so
// the origin of the name must reach them as an analysis fact.
package tmpname

import (
	"strconv"
	"time"
)

// For returns a temp name beside target.
func For(target string) string {
	return target + "." + strconv.FormatInt(time.Now().UnixMilli(), 10) + ".tmp"
}
