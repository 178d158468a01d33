package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// The benchmarks write in b.TempDir(), usually on /tmp: run with
// TMPDIR=/some/ext4/dir to choose the file system.

func BenchmarkWriteFile(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20} {
		data := make([]byte, size)
		for _, c := range contenders {
			b.Run(fmt.Sprintf("%s/%dKiB", c.name, size>>10), func(b *testing.B) {
				path := filepath.Join(b.TempDir(), "target")
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					if err := c.write(path, data); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkBatch100x4KiB(b *testing.B) {
	data := make([]byte, 4<<10)
	for name, f := range map[string]func(string, []byte, int) error{
		"atomicfile.Batch": batchAtomicfile,
		"floor-batch":      floorBatch,
		"renameio-loop":    loopRenameio,
	} {
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			b.ReportAllocs()
			for b.Loop() {
				if err := f(dir, data, 100); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestContenders checks that every contender really replaces the file, so
// the benchmark compares working code.
func TestContenders(t *testing.T) {
	dir := t.TempDir()
	for _, c := range contenders {
		path := filepath.Join(dir, c.name)
		for _, v := range []string{"one", "two"} {
			if err := c.write(path, []byte(v)); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
		if got := readFile(t, path); got != "two" {
			t.Errorf("%s wrote %q", c.name, got)
		}
	}
	if err := batchAtomicfile(dir, []byte("b"), 100); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "batch-099")); got != "b" {
		t.Errorf("batch wrote %q", got)
	}
	for _, v := range []string{"one", "two"} {
		if err := floorBatch(dir, []byte(v), 100); err != nil {
			t.Fatal(err)
		}
	}
	if got := readFile(t, filepath.Join(dir, "floor-099")); got != "two" {
		t.Errorf("floor batch wrote %q", got)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != len(contenders)+200 {
		t.Errorf("%d files in the directory, want %d: temps left?", len(ents), len(contenders)+200)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
