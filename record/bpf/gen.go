// Package bpf holds the eBPF programs of heisen record, compiled to the
// committed record_bpfel.o and loaded through the generated record_bpfel.go,
// so that building heisen needs no clang.
//
// Regenerate after editing record.c (Debian: apt-get install clang llvm
// libbpf-dev linux-libc-dev):
//
//	go generate ./record/bpf
package bpf

//go:generate go tool bpf2go -tags linux -target amd64,arm64 -type event Record record.c -- -I/usr/include/x86_64-linux-gnu -Wall -Werror
