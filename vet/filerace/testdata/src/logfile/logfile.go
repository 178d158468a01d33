// Package logfile has the shape of glog before v1.2.4 (CVE-2024-45339): a
// log file named from the program, host and pid, created without O_EXCL in
// directories that include os.TempDir().
package logfile

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

var logDir = flag.String("log_dir", "", "")

var logDirs []string

func createLogDirs() {
	if *logDir != "" {
		logDirs = append(logDirs, *logDir)
	}
	logDirs = append(logDirs, os.TempDir())
}

var (
	pid     = os.Getpid()
	program = filepath.Base(os.Args[0])
	host    = "unknownhost"
)

func init() {
	if h, err := os.Hostname(); err == nil {
		host = strings.Map(func(r rune) rune { return r }, h)
	}
}

func logName(tag string, t time.Time) string { // want logName:`name\(pid\|const\|input\)`
	return fmt.Sprintf("%s.%s.log.%s.%04d%02d%02d.%d", program, host, tag, t.Year(), t.Month(), t.Day(), pid)
}

func create(tag string, t time.Time) (*os.File, error) {
	createLogDirs()
	name := logName(tag, t)
	for _, dir := range logDirs {
		f, err := os.Create(filepath.Join(dir, name)) // want `predictable-temp: file filepath.Join\(dir, name\) is created in the shared temp directory without O_EXCL; its name is built from the pid alone.*plant a symlink`
		if err == nil {
			return f, nil
		}
	}
	return nil, fmt.Errorf("no log dir")
}

// The fix: O_EXCL.
func createExcl(tag string, t time.Time) (*os.File, error) {
	for _, dir := range logDirs {
		f, err := os.OpenFile(filepath.Join(dir, logName(tag, t)), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if err == nil {
			return f, nil
		}
	}
	return nil, fmt.Errorf("no log dir")
}
