// Command trailjson decodes a trail file the two ways bench/analyze.sh
// compares: -decoder json decodes every line with encoding/json into a
// struct of the format's fields (the obvious implementation, and the
// baseline), -decoder trail with trail.Reader. It prints the event count.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/heisen-dev/heisen/trail"
)

// jsonEvent is the format's fields as encoding/json would decode them.
type jsonEvent struct {
	TS    string `json:"ts"`
	Host  string `json:"host"`
	PID   int    `json:"pid"`
	TID   int    `json:"tid"`
	Comm  string `json:"comm"`
	Op    string `json:"op"`
	Path  string `json:"path"`
	To    string `json:"to"`
	FD    *int   `json:"fd"`
	Flags string `json:"flags"`
	Dev   uint64 `json:"dev"`
	Ino   uint64 `json:"ino"`
	Off   int64  `json:"off"`
	Len   int64  `json:"len"`
	Ret   int64  `json:"ret"`
	Err   string `json:"err"`
	Src   string `json:"src"`
	Call  string `json:"call"`
}

func main() {
	decoder := flag.String("decoder", "json", "json or trail")
	flag.Parse()
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "trailjson:", err)
		os.Exit(2)
	}
	defer f.Close()
	n := 0
	switch *decoder {
	case "json":
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var e jsonEvent
			if json.Unmarshal(sc.Bytes(), &e) == nil && e.Op != "" {
				n++
			}
		}
	case "trail":
		r := trail.NewReader(f, flag.Arg(0))
		var e trail.Event
		for r.Read(&e) != io.EOF {
			n++
		}
	default:
		fmt.Fprintln(os.Stderr, "trailjson: -decoder json or trail")
		os.Exit(2)
	}
	fmt.Println(n)
}
