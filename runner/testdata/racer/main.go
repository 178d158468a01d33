// Command racer is the story's bug as a test program: two worker processes
// replace one file through a temp file named after the clock, in seconds
// like the story's (-clock changes the resolution). When both read the
// clock in the same step they share the temp file and trample each other.
// racer exits 1 when the final file is not one worker's complete content or
// a worker's rename failed. With -fixed the workers use the story's fix, a
// name unique per process and call.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// A version is written in chunks of chunkSize.
const chunkSize = 4096

func main() {
	if len(os.Args) == 6 && os.Args[1] == "worker" {
		clock, _ := time.ParseDuration(os.Args[4])
		chunks, _ := strconv.Atoi(os.Args[5])
		os.Exit(worker(os.Args[2], os.Args[3] == "fixed", clock, chunks))
	}
	fixed := flag.Bool("fixed", false, "the story's fix: a temp name unique per process and call")
	clock := flag.Duration("clock", time.Second, "resolution of the clock in the temp name")
	chunks := flag.Int("chunks", 16, "writes of 4 KiB per version")
	flag.Parse()
	mode := "buggy"
	if *fixed {
		mode = "fixed"
	}
	dir, err := os.MkdirTemp("", "racer")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer os.RemoveAll(dir)
	target := filepath.Join(dir, "config")
	self, _ := os.Executable()
	var ws []*exec.Cmd
	var gates, readies []*os.File
	for _, id := range []string{"a", "b"} {
		gr, gw, _ := os.Pipe()
		rr, rw, _ := os.Pipe()
		c := exec.Command(self, "worker", id, mode, clock.String(), strconv.Itoa(*chunks))
		c.Stdin, c.Stdout, c.Stderr = gr, rw, os.Stderr
		c.Env = append(os.Environ(), "RACER_TARGET="+target)
		if err := c.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		gr.Close()
		rw.Close()
		ws, gates, readies = append(ws, c), append(gates, gw), append(readies, rr)
	}
	// Once both workers are ready, open both gates at once: they start
	// writing together.
	for _, r := range readies {
		var b [1]byte
		r.Read(b[:])
	}
	for _, g := range gates {
		g.Close()
	}
	failed := false
	for _, c := range ws {
		if c.Wait() != nil {
			failed = true
		}
	}
	b, err := os.ReadFile(target)
	if err != nil || len(b) != *chunks*chunkSize || (!bytes.Equal(b, bytes.Repeat(b[:1], len(b)))) {
		fmt.Printf("corrupt: %d bytes, err %v\n", len(b), err)
		failed = true
	}
	if failed {
		os.Exit(1)
	}
}

func worker(id string, fixed bool, clock time.Duration, chunks int) int {
	os.Stdout.Write([]byte{'r'})
	var gate [1]byte
	os.Stdin.Read(gate[:]) // returns at EOF, when the parent opens the gate
	target := os.Getenv("RACER_TARGET")
	tmp := target + "." + strconv.FormatInt(time.Now().Truncate(clock).UnixNano(), 10) + ".tmp"
	if fixed {
		tmp = fmt.Sprintf("%s.%d.%x.tmp", target, os.Getpid(), rand.Uint64())
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	chunk := bytes.Repeat([]byte(id), chunkSize)
	for range chunks {
		if _, err := f.Write(chunk); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	f.Close()
	if err := os.Rename(tmp, target); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
