// Package bpf holds the eBPF programs of heisen record, compiled to the
// committed record_x86_bpfel.o and record_arm64_bpfel.o and loaded through
// the generated record_x86_bpfel.go and record_arm64_bpfel.go, so that
// building heisen needs no clang.
//
// Regenerate after editing record.c (Debian: apt-get install clang llvm;
// every header record.c includes is under include/, and -nostdinc keeps the
// host's out):
//
//	go generate ./record/bpf
package bpf

//go:generate go tool bpf2go -tags linux -target amd64,arm64 -type event -type more Record record.c -- -nostdinc -Iinclude -Wall -Werror
