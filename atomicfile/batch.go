package atomicfile

import (
	"io/fs"
	"sync"
)

// A Batch replaces many files, each one atomically, for far fewer syncs than
// one WriteFile per file: the data of all files is synced in parallel (the
// file system folds the syncs into few journal commits), then the files are
// renamed in the order they were added, then each directory is synced once.
//
// A Batch is not a transaction. Readers can see some files replaced and
// others not yet while Commit runs, and a crash during Commit can leave any
// mix of old and new files: each file is entirely old or entirely new, never
// torn, and none is new unless its data was synced. Once Commit returns nil,
// every file is new and durable. If Commit fails while renaming, the files
// added before the failing one have been replaced (and their directories
// synced); the failing one and those after it are untouched.
type Batch struct {
	cfg   config
	files []*File
}

// NewBatch returns an empty batch whose replaces use opts.
func NewBatch(opts ...Option) *Batch {
	return &Batch{cfg: newConfig(0o666, opts)}
}

// Add writes data to a new temporary file that Commit will rename over
// path; perm is used if path does not exist yet. Nothing is visible at path
// before Commit. A failed Add leaves the batch as it was.
func (b *Batch) Add(path string, data []byte, perm fs.FileMode) error {
	cfg := b.cfg
	cfg.perm = perm
	f := new(File)
	if err := f.open(path, cfg); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	b.files = append(b.files, f)
	return nil
}

// Len returns the number of files added and not yet committed.
func (b *Batch) Len() int { return len(b.files) }

// Commit replaces every added file. On an error matching [ErrNotDurable]
// every file was replaced but a directory could not be synced. The batch is
// empty afterwards, whatever the outcome.
func (b *Batch) Commit() error {
	files := b.files
	b.files = nil
	if err := parallel(files, (*File).syncData); err != nil {
		for _, f := range files {
			f.Close()
		}
		return err
	}
	var err error
	done := len(files)
	for i, f := range files {
		f.holdOld()
		if err = f.publish(); err != nil {
			done = i
			for _, g := range files[i:] {
				g.state = stateClosed
				g.discard()
			}
			break
		}
		f.state = stateCommitted
	}
	files = files[:done]
	// Free the replaced files while the directories sync.
	var freed sync.WaitGroup
	freed.Go(func() {
		for _, f := range files {
			f.dropOld()
		}
	})
	if !b.cfg.noSync {
		// One fsync per directory, for the files actually renamed.
		seen := make(map[string]bool)
		dirs := files[:0:0]
		for _, f := range files {
			if !seen[f.dir] {
				seen[f.dir] = true
				dirs = append(dirs, f)
			}
		}
		if derr := parallel(dirs, (*File).syncDir); err == nil {
			err = derr
		}
	}
	freed.Wait()
	for _, f := range files {
		f.release()
	}
	return err
}

// Close discards every file added and not committed.
func (b *Batch) Close() error {
	for _, f := range b.files {
		f.Close()
	}
	b.files = nil
	return nil
}

// parallel runs op on every file with a bounded number of goroutines and
// returns the first error.
func parallel(files []*File, op func(*File) error) error {
	const workers = 128 // so that the syncs of a typical batch share journal commits
	if len(files) == 1 {
		return op(files[0])
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan *File)
	)
	for range min(workers, len(files)) {
		wg.Go(func() {
			for f := range next {
				if err := op(f); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, f := range files {
		next <- f
	}
	close(next)
	wg.Wait()
	return first
}
