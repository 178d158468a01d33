//go:build linux && (amd64 || arm64)

package record

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// checkEBPF names the first thing this machine lacks for the eBPF backend.
// Raw BTF tracepoints need no tracefs.
func checkEBPF() error {
	if err := checkCaps(); err != nil {
		return err
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		release := unix.ByteSliceToString(u.Release[:])
		// bpf_rdonly_cast, which the probes read kernel structures through.
		if major, minor, ok := releaseVersion(release); ok && (major < 6 || major == 6 && minor < 2) {
			return &UnavailableError{Backend: "ebpf", Missing: "Linux 6.2 or later (for the bpf_rdonly_cast kfunc); this is " + release}
		}
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		return &UnavailableError{Backend: "ebpf", Missing: "kernel BTF (/sys/kernel/btf/vmlinux; a kernel built with CONFIG_DEBUG_INFO_BTF=y)", Err: err}
	}
	if b, err := os.ReadFile("/sys/kernel/security/lockdown"); err == nil && strings.Contains(string(b), "[confidentiality]") {
		return &UnavailableError{Backend: "ebpf", Missing: "kernel lockdown is in confidentiality mode, which forbids eBPF reading kernel and process memory"}
	}
	return nil
}

// releaseVersion parses the major and minor numbers of a kernel release
// such as "6.18.44-generic".
func releaseVersion(release string) (major, minor int, ok bool) {
	a, rest, ok1 := strings.Cut(release, ".")
	b := rest[:len(rest)-len(strings.TrimLeft(rest, "0123456789"))]
	major, err1 := strconv.Atoi(a)
	minor, err2 := strconv.Atoi(b)
	return major, minor, ok1 && err1 == nil && err2 == nil
}

// checkCaps requires CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN, which
// implies both on older kernels).
func checkCaps() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return &UnavailableError{Backend: "ebpf", Missing: "capabilities could not be read", Err: err}
	}
	has := func(c uint) bool { return data[c/32].Effective&(1<<(c%32)) != 0 }
	if has(unix.CAP_SYS_ADMIN) || has(unix.CAP_BPF) && has(unix.CAP_PERFMON) {
		return nil
	}
	return &UnavailableError{Backend: "ebpf", Missing: fmt.Sprintf("root privileges (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN); running as uid %d without them", os.Geteuid())}
}
