package atomicfile_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"

	"github.com/heisen-dev/heisen/atomicfile"
)

func ExampleWriteFile() {
	dir, err := os.MkdirTemp("", "atomicfile")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "config.json")

	if err := atomicfile.WriteFile(path, []byte(`{"v":1}`), 0o644); err != nil {
		log.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	fmt.Println(string(b))
	// Output: {"v":1}
}

func ExampleCreate() {
	dir, err := os.MkdirTemp("", "atomicfile")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "report.txt")

	write := func() error {
		f, err := atomicfile.Create(path, atomicfile.WithPerm(0o644))
		if err != nil {
			return err
		}
		defer f.Close() // discards the new content unless Commit succeeded
		for i := range 3 {
			if _, err := fmt.Fprintf(f, "line %d\n", i); err != nil {
				return err
			}
		}
		return f.Commit()
	}
	if err := write(); err != nil {
		log.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	fmt.Print(string(b))
	// Output:
	// line 0
	// line 1
	// line 2
}

func ExampleUpdate() {
	dir, err := os.MkdirTemp("", "atomicfile")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "counter")

	increment := func(old []byte) ([]byte, error) {
		n, _ := strconv.Atoi(string(old)) // a missing file counts as 0
		return []byte(strconv.Itoa(n + 1)), nil
	}
	for range 3 {
		if err := atomicfile.Update(path, increment); err != nil {
			log.Fatal(err)
		}
	}
	b, _ := os.ReadFile(path)
	fmt.Println(string(b))
	// Output: 3
}

func ExampleBatch() {
	dir, err := os.MkdirTemp("", "atomicfile")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	b := atomicfile.NewBatch()
	for i := range 3 {
		b.Add(filepath.Join(dir, fmt.Sprintf("part-%d", i)), []byte(strconv.Itoa(i)), 0o644)
	}
	if err := b.Commit(); err != nil { // one round of syncs for all three
		log.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		fmt.Println(e.Name())
	}
	// Output:
	// part-0
	// part-1
	// part-2
}
