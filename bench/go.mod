module github.com/heisen-dev/heisen/bench

go 1.26.0

replace github.com/heisen-dev/heisen => ../

require (
	github.com/cilium/ebpf v0.22.0
	github.com/google/renameio/v2 v2.0.2
	github.com/heisen-dev/heisen v0.0.0-00010101000000-000000000000
	github.com/natefinch/atomic v1.0.1
	golang.org/x/sys v0.50.0
)
