package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// A version is one file (inode) installed at the target, as the reader saw
// it over consecutive reads of that inode. It is corrupt when any of those
// reads was not exactly one whole payload: empty, cut short, mixed from two
// writers, or holding bytes no payload has (holes).
type version struct {
	Ino   uint64 `json:"ino"`
	First int64  `json:"first_ns"` // the end of the first corrupt read
	Last  int64  `json:"last_ns"`  // the end of the last corrupt read
	Reads int    `json:"reads"`
	From  []iter `json:"from"` // iterations whose whole lines the corrupt reads held
	bad   bool
}

type readerTotals struct {
	Reads    int `json:"reads"`
	Versions int `json:"versions"`
	Corrupt  int `json:"corrupt"`
}

// reader reads TARGET in a loop until SIGTERM or SIGINT, then writes one
// JSON line per corrupt version and a last line with the totals to OUT.
// It runs outside the recording, so the trail holds the workload alone.
func reader(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: reader TARGET OUT")
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	var tot readerTotals
	var bad []version
	cur := version{}
	finish := func() {
		if cur.Reads > 0 {
			tot.Versions++
			if cur.bad {
				tot.Corrupt++
				bad = append(bad, cur)
			}
		}
	}
	for {
		select {
		case <-stop:
			finish()
			return writeVersions(args[1], bad, tot)
		default:
		}
		ino, data, err := readOnce(args[0])
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		tot.Reads++
		if ino != cur.Ino {
			finish()
			cur = version{Ino: ino}
		}
		cur.observe(data, time.Now().UnixNano())
		time.Sleep(100 * time.Microsecond) // leave the CPUs to the writers
	}
}

func (v *version) observe(data []byte, now int64) {
	v.Reads++
	whole, from := check(data)
	if whole {
		return
	}
	if !v.bad {
		v.bad, v.First = true, now
	}
	v.Last = now
	for _, it := range from {
		if !containsIter(v.From, it) {
			v.From = append(v.From, it)
		}
	}
}

func containsIter(s []iter, it iter) bool {
	for _, x := range s {
		if x == it {
			return true
		}
	}
	return false
}

func readOnce(name string) (uint64, []byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return 0, nil, fmt.Errorf("reader: fstat %s: %w", name, err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return 0, nil, fmt.Errorf("reader: read %s: %w", name, err)
	}
	return st.Ino, data, nil
}

func writeVersions(name string, bad []version, tot readerTotals) error {
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("reader: %w", err)
	}
	enc := json.NewEncoder(f)
	for _, v := range bad {
		if err := enc.Encode(v); err != nil {
			f.Close()
			return fmt.Errorf("reader: write %s: %w", name, err)
		}
	}
	if err := enc.Encode(map[string]readerTotals{"totals": tot}); err != nil {
		f.Close()
		return fmt.Errorf("reader: write %s: %w", name, err)
	}
	return f.Close()
}
