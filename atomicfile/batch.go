package atomicfile

import (
	"io/fs"
	"sync"
)

// A Batch replaces many files, each one atomically, for far fewer syncs than
// one WriteFile per file. Commit creates and writes all the files in
// parallel, starting their writeback, then syncs their data in parallel (the
// file system folds the syncs into few journal commits, and the waits
// overlap), then renames the files in the order they were added, then syncs
// each directory once.
//
// A Batch is not a transaction. Readers can see some files replaced and
// others not yet while Commit runs, and a crash during Commit can leave any
// mix of old and new files: each file is entirely old or entirely new, never
// torn, and none is new unless its data was synced. Once Commit returns nil,
// every file is new and durable. If any file cannot be created, written or
// synced, Commit replaces nothing. If a rename fails, the files added before
// the failing one have been replaced (and their directories synced); the
// failing one and those after it are untouched.
//
// Commit holds two or three file descriptors per file while it runs (the
// new file, the file it replaces, its directory), so a batch larger than
// about a third of RLIMIT_NOFILE can fail with EMFILE and replace nothing:
// split such a batch.
type Batch struct {
	cfg   config
	items []batchItem
}

type batchItem struct {
	path string
	data []byte
	perm fs.FileMode
}

// NewBatch returns an empty batch whose replaces use opts.
func NewBatch(opts ...Option) *Batch {
	return &Batch{cfg: newConfig(0o666, opts)}
}

// Add schedules replacing the file at path with data; perm is used if path
// does not exist yet. Nothing happens before Commit, which reports any error,
// and data must not be modified until Commit returns.
func (b *Batch) Add(path string, data []byte, perm fs.FileMode) {
	b.items = append(b.items, batchItem{path, data, perm})
}

// Len returns the number of files added and not yet committed.
func (b *Batch) Len() int { return len(b.items) }

// Commit replaces every added file. On an error matching [ErrNotDurable]
// every file was replaced but a directory could not be synced. The batch is
// empty afterwards, whatever the outcome.
func (b *Batch) Commit() error {
	items := b.items
	b.items = nil
	files := make([]File, len(items))
	// All files exist and are written before the first sync waits: creating
	// an inode is CPU work (most of a replace on a journal-less ext4, which
	// scans past recently freed inodes), which then overlaps the data writes
	// instead of queueing behind syncs.
	err := parallel(len(files), func(i int) error {
		f, it := &files[i], items[i]
		cfg := b.cfg
		cfg.perm = it.perm
		if err := f.open(it.path, cfg); err != nil {
			f.state = stateClosed // nothing to discard
			return err
		}
		if _, err := f.Write(it.data); err != nil {
			return err
		}
		if !cfg.noSync {
			f.startWriteback()
		}
		return nil
	})
	if err == nil {
		err = parallel(len(files), func(i int) error { return files[i].syncData() })
	}
	if err != nil {
		for i := range files {
			files[i].Close()
		}
		return err
	}

	done := len(files)
	for i := range files {
		f := &files[i]
		f.holdOld()
		if err = f.publish(); err != nil {
			done = i
			for j := range files[i:] {
				files[i+j].Close()
			}
			break
		}
		f.state = stateCommitted
	}
	files = files[:done]

	// Free the replaced files while the directories sync, in parallel: on
	// ext4 mounted with discard and no journal, freeing a file waits for a
	// discard of its blocks (≈ 100 µs each here), and those waits overlap.
	var freed sync.WaitGroup
	freed.Go(func() {
		parallel(len(files), func(i int) error { files[i].dropOld(); return nil })
	})
	if !b.cfg.noSync {
		var dirs []*File // one file per directory
		seen := make(map[string]bool)
		for i := range files {
			if !seen[files[i].dir] {
				seen[files[i].dir] = true
				dirs = append(dirs, &files[i])
			}
		}
		if derr := parallel(len(dirs), func(i int) error { return dirs[i].syncDir() }); err == nil {
			err = derr
		}
	}
	freed.Wait()
	for i := range files {
		files[i].release()
	}
	return err
}

// parallel runs op(0), …, op(n-1) on up to 128 goroutines (enough for the
// syncs of a typical batch to share journal commits) and returns the error
// of the lowest index that failed.
func parallel(n int, op func(i int) error) error {
	if n == 1 {
		return op(0)
	}
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(128, n) {
		wg.Go(func() {
			for i := range next {
				errs[i] = op(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
