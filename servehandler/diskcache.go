package servehandler

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// diskCache is the local content cache of files too large for the memory cache: each file
// (or br/gzip variant) is written once from storage and sent from then on with sendfile(2)
// from the page cache, so its bytes never pass through the process.
//
// It is content-addressed (a file is named after its storage key, which derives from the
// SHA-256 of the content), bounded by the sum of its files' sizes (the least recently used go
// first) and safe to delete: every file it knows is held open, so deleting the folder, or any
// file in it, while serving loses nothing that is being sent and costs at most a refill.
//
// Each process writes into a run directory of its own, <dir>/run-*, and holds an flock on
// its .lock file while it lives. Run directories whose lock is free belong to processes that
// are gone; the first fill of a process removes them.
type diskCache struct {
	dir string
	max int64

	mu   sync.Mutex
	used int64
	m    map[string]*diskEntry
	root diskEntry // sentinel: root.next is the most recent, root.prev the least
	run  string    // run directory; "" until the first fill
	lock *os.File  // holds the flock of run
}

// diskEntry is one file of the disk cache. The file stays open while the entry is cached
// or in use (refs > 0); an evicted entry in use is closed by its last release.
type diskEntry struct {
	key  string
	size int64
	path string
	f    *os.File
	fd   int
	refs int
	gone bool

	prev, next *diskEntry
}

func newDiskCache(dir string, maxBytes int64) *diskCache {
	d := &diskCache{dir: dir, max: maxBytes, m: make(map[string]*diskEntry)}
	d.root.next, d.root.prev = &d.root, &d.root
	return d
}

// fits reports whether a file of size bytes may go to the disk cache: at most an eighth of
// it, so that one file never evicts most of the others.
func (d *diskCache) fits(size int64) bool { return d != nil && size <= d.max/8 }

// acquire returns the cached file of key with a reference the caller must release, or nil.
func (d *diskCache) acquire(key string) *diskEntry {
	d.mu.Lock()
	e := d.m[key]
	if e != nil {
		e.refs++
		if d.root.next != e {
			d.unlink(e)
			d.pushFront(e)
		}
	}
	d.mu.Unlock()
	return e
}

// acquireEntry takes a reference on e unless it was evicted meanwhile.
func (d *diskCache) acquireEntry(e *diskEntry) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e.gone {
		return false
	}
	e.refs++
	return true
}

func (d *diskCache) release(e *diskEntry) {
	d.mu.Lock()
	e.refs--
	closeIt := e.refs == 0 && e.gone
	d.mu.Unlock()
	if closeIt {
		e.f.Close()
	}
}

// errDiskCache marks failures of the local disk (full, not writable), as opposed to storage.
var errDiskCache = errors.New("disk cache")

// fill writes the content of key, size bytes, into the cache with write (which reads it from
// storage and checks it) and returns the new entry, on which callers take references with
// acquireEntry. Fill calls for one key must be serialized by the caller (single-flight).
func (d *diskCache) fill(key string, size int64, write func(w io.Writer) error) (*diskEntry, error) {
	f, err := d.create()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errDiskCache, err)
	}
	tmp := f.Name()
	if err := write(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, err
	}
	if st, err := f.Stat(); err != nil || st.Size() != size {
		f.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("%w: %s: short write", errDiskCache, key)
	}
	// The final name only matters to people looking at the folder: the open file is what is
	// served, so a rename that fails because the folder was deleted meanwhile is harmless.
	path := filepath.Join(filepath.Dir(tmp), diskName(key))
	if os.Rename(tmp, path) != nil {
		path = tmp
	}
	e := &diskEntry{key: key, size: size, path: path, f: f, fd: int(f.Fd())}
	var victims []victim
	d.mu.Lock()
	if old := d.m[key]; old != nil {
		victims = append(victims, d.removeLocked(old))
	}
	d.m[key] = e
	d.pushFront(e)
	d.used += size
	for d.used > d.max && d.root.prev != e {
		victims = append(victims, d.removeLocked(d.root.prev))
	}
	d.mu.Unlock()
	for _, v := range victims {
		if v.path != path {
			os.Remove(v.path)
		}
		if v.f != nil {
			v.f.Close()
		}
	}
	return e, nil
}

// victim is an evicted entry's file to remove, and to close when nobody sends from it.
type victim struct {
	path string
	f    *os.File
}

// removeLocked takes e out of the index. d.mu is held.
func (d *diskCache) removeLocked(e *diskEntry) victim {
	d.unlink(e)
	delete(d.m, e.key)
	d.used -= e.size
	e.gone = true
	v := victim{path: e.path}
	if e.refs == 0 {
		v.f = e.f
	}
	return v
}

// create opens a new temporary file in the run directory, making the directory again when
// it was deleted.
func (d *diskCache) create() (*os.File, error) {
	d.mu.Lock()
	run := d.run
	d.mu.Unlock()
	if run != "" {
		f, err := os.CreateTemp(run, "fill-*")
		if err == nil || !errors.Is(err, os.ErrNotExist) {
			return f, err
		}
	}
	run, err := d.newRun()
	if err != nil {
		return nil, err
	}
	return os.CreateTemp(run, "fill-*")
}

// newRun makes a fresh run directory and locks it. The first one of a process also removes
// the run directories of processes that are gone.
func (d *diskCache) newRun() (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.run != "" {
		if _, err := os.Stat(d.run); err == nil {
			return d.run, nil // another fill made it meanwhile
		}
	}
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return "", err
	}
	first := d.run == ""
	run, err := os.MkdirTemp(d.dir, "run-")
	if err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(run, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return "", fmt.Errorf("lock %s: %w", run, err)
	}
	if d.lock != nil {
		d.lock.Close()
	}
	d.run, d.lock = run, lock
	if first {
		removeStaleRuns(d.dir, run)
	}
	return run, nil
}

// removeStaleRuns deletes the run directories under dir, other than keep, that no live
// process holds locked.
func removeStaleRuns(dir, keep string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, ent := range ents {
		p := filepath.Join(dir, ent.Name())
		if !ent.IsDir() || !strings.HasPrefix(ent.Name(), "run-") || p == keep {
			continue
		}
		lock, err := os.OpenFile(filepath.Join(p, ".lock"), os.O_RDWR, 0)
		if err == nil {
			err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
			lock.Close() // releases the lock taken just now
			if err != nil {
				continue // a live process uses it
			}
		}
		os.RemoveAll(p)
	}
}

// diskName is the file name of a storage key: "blobs/<sha256>[.br|.gz]" -> "<sha256>[.br|.gz]".
// Keys come from validated manifests (hex digests), never from a URL.
func diskName(key string) string { return key[strings.LastIndexByte(key, '/')+1:] }

func (d *diskCache) stats() (entries int, bytes int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.m), d.used
}

func (d *diskCache) unlink(e *diskEntry) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

func (d *diskCache) pushFront(e *diskEntry) {
	e.prev = &d.root
	e.next = d.root.next
	d.root.next.prev = e
	d.root.next = e
}
