package gitfetch

import (
	"fmt"
	"io"
	"os"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/skydeploy/skydeploy/internal/bytesize"
)

// A pack is a few bytes of header per object followed by the object's zlib stream; each header
// declares the object's inflated size (for a delta, the delta's size; the size of the object it
// builds is the second number at the start of the delta). go-git's own pack parser inflates
// every object whole into memory to index it, so whatever it accepts must already be known to
// be within budget. The pack is therefore checked first, as it arrives: each declared size is
// judged before the object is inflated, and only a pack that passed is handed to go-git.

// packBudget is what one fetched pack may hold; a zero field is not limited.
type packBudget struct {
	maxBytes       int64 // decompressed bytes of all objects (SKYDEPLOY_MAX_REPO_BYTES)
	maxObjectBytes int64 // one object (SKYDEPLOY_MAX_FILE_BYTES)
	maxFiles       int   // blobs (SKYDEPLOY_MAX_FILES); 0 when history is fetched
	maxObjects     int64 // objects of any kind, which bounds the index go-git keeps in memory
}

// objectsPerFile and minObjectLimit derive the bound on a pack's objects from the file limit:
// a shallow pack holds a commit, one tree per directory and one blob per distinct file, and
// the allowance leaves room for the branch's history when a server makes us fetch it.
const (
	objectsPerFile = 4
	minObjectLimit = 100_000
)

func budgetFor(lim Limits, history bool) packBudget {
	b := packBudget{maxBytes: lim.MaxBytes, maxObjectBytes: lim.MaxFileBytes}
	if lim.MaxFiles > 0 {
		b.maxObjects = objectsPerFile*int64(lim.MaxFiles) + minObjectLimit
		if !history {
			// A history fetch holds every version of every file: only the shallow case
			// can be judged by the file limit.
			b.maxFiles = lim.MaxFiles
		}
	}
	return b
}

// packCounter accumulates what a pack declared so far.
type packCounter struct {
	packBudget
	bytes int64
	files int
	// types records each object's type by offset, so that a delta's type is its base's.
	types map[int64]plumbing.ObjectType
}

// checkPack reads a whole pack from r and returns a *LimitError for the first budget it
// breaks, without inflating the object that breaks it, or an error for a malformed pack.
// Objects within budget are inflated into nothing to reach the next header.
func checkPack(r io.Reader, b packBudget) error {
	s := packfile.NewScanner(r)
	_, count, err := s.Header()
	if err != nil {
		return err
	}
	if b.maxObjects > 0 && int64(count) > b.maxObjects {
		return &LimitError{Msg: fmt.Sprintf("repository's pack holds %d objects, more than the %d allowed for %d files (SKYDEPLOY_MAX_FILES)",
			count, b.maxObjects, (b.maxObjects-minObjectLimit)/objectsPerFile)}
	}
	c := &packCounter{packBudget: b, types: map[int64]plumbing.ObjectType{}}
	for i := uint32(0); i < count; i++ {
		h, err := s.NextObjectHeader()
		if err != nil {
			return err
		}
		typ := h.Type
		if !typ.IsDelta() {
			if err := c.add(typ, h.Length); err != nil {
				return err
			}
			if _, _, err := s.NextObject(io.Discard); err != nil {
				return err
			}
			c.types[h.Offset] = typ
			continue
		}
		typ = plumbing.BlobObject // a REF delta's base is not looked up: counted as a file
		if h.Type == plumbing.OFSDeltaObject {
			if base, ok := c.types[h.OffsetReference]; ok {
				typ = base
			}
		}
		// The delta's own data is read into memory whole by go-git: judge it before it is inflated.
		if err := c.checkObject(typ, h.Length); err != nil {
			return err
		}
		head := &deltaHead{check: func(target int64) error { return c.add(typ, max(target, h.Length)) }}
		if _, _, err := s.NextObject(head); err != nil {
			return err
		}
		if !head.done {
			return fmt.Errorf("%w: delta at offset %d ends before its header", packfile.ErrMalformedPackFile, h.Offset)
		}
		c.types[h.Offset] = typ
	}
	_, err = s.Checksum()
	return err
}

// checkObject judges one object's size against the largest allowed.
func (c *packCounter) checkObject(typ plumbing.ObjectType, size int64) error {
	if c.maxObjectBytes > 0 && size > c.maxObjectBytes {
		return &LimitError{Msg: fmt.Sprintf("repository holds %s of %s, larger than the limit of %s (SKYDEPLOY_MAX_FILE_BYTES)",
			objectName(typ), bytesize.Format(size), bytesize.Format(c.maxObjectBytes))}
	}
	return nil
}

// add counts one object of the given type and decompressed size.
func (c *packCounter) add(typ plumbing.ObjectType, size int64) error {
	if err := c.checkObject(typ, size); err != nil {
		return err
	}
	c.bytes += size
	if c.maxBytes > 0 && c.bytes > c.maxBytes {
		return &LimitError{Msg: fmt.Sprintf("repository is larger than the limit of %s once decompressed (SKYDEPLOY_MAX_REPO_BYTES)",
			bytesize.Format(c.maxBytes))}
	}
	if typ == plumbing.BlobObject {
		c.files++
		if c.maxFiles > 0 && c.files > c.maxFiles {
			return &LimitError{Msg: fmt.Sprintf("repository has more files than the limit of %d (SKYDEPLOY_MAX_FILES)", c.maxFiles)}
		}
	}
	return nil
}

func objectName(typ plumbing.ObjectType) string {
	switch typ {
	case plumbing.BlobObject:
		return "a file"
	case plumbing.TreeObject:
		return "a directory listing"
	}
	return "an object"
}

// deltaHead reads the start of a delta's data, which holds two sizes (of the base and of the
// object the delta builds); it hands the second to check, which may stop the inflation by
// failing, and discards everything after.
type deltaHead struct {
	buf   []byte
	done  bool
	check func(target int64) error
}

// maxDeltaHeader bounds the two size varints of a delta (10 bytes each at most).
const maxDeltaHeader = 20

func (d *deltaHead) Write(p []byte) (int, error) {
	if d.done {
		return len(p), nil
	}
	d.buf = append(d.buf, p[:min(len(p), maxDeltaHeader-len(d.buf))]...)
	_, n, err := deltaVarint(d.buf)
	if err != nil {
		return 0, err
	}
	if n > 0 {
		target, m, err := deltaVarint(d.buf[n:])
		if err != nil {
			return 0, err
		}
		if m > 0 {
			d.done = true
			if err := d.check(target); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	if len(d.buf) >= maxDeltaHeader {
		return 0, fmt.Errorf("%w: delta header is too long", packfile.ErrMalformedPackFile)
	}
	return len(p), nil
}

// deltaVarint decodes the little-endian base-128 size at the start of b; n is 0 when b ends
// before the size does.
func deltaVarint(b []byte) (v int64, n int, err error) {
	var shift uint
	for i, c := range b {
		if shift > 56 {
			return 0, 0, fmt.Errorf("%w: delta size overflows", packfile.ErrMalformedPackFile)
		}
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			return v, i + 1, nil
		}
	}
	return 0, 0, nil
}

// checkedStorage is go-git's on-disk storage with a checked pack writer: every pack a fetch
// receives is checked against the budget as it arrives, and reaches go-git's storage only
// once the whole of it has passed.
type checkedStorage struct {
	*filesystem.Storage
	dir    string
	budget packBudget
}

// PackfileWriter implements storer.PackfileWriter, which go-git prefers for a fetched pack.
func (s *checkedStorage) PackfileWriter() (io.WriteCloser, error) {
	tmp, err := os.CreateTemp(s.dir, "incoming-*.pack")
	if err != nil {
		return nil, fmt.Errorf("create pack file: %w", err)
	}
	pr, pw := io.Pipe()
	w := &checkedPackWriter{tmp: tmp, pipe: pw, result: make(chan error, 1), store: s.Storage}
	go func() {
		err := checkPack(pr, s.budget)
		if err != nil {
			pr.CloseWithError(err)
		} else {
			_, err = io.Copy(io.Discard, pr) // a well-formed pack ends with its checksum
		}
		w.result <- err
	}()
	return w, nil
}

// checkedPackWriter keeps a pack in a temporary file while checkPack reads it through a pipe;
// a write fails as soon as the check does, which ends the download.
type checkedPackWriter struct {
	tmp    *os.File
	pipe   *io.PipeWriter
	result chan error
	store  *filesystem.Storage
	n      int64
	err    error
}

func (w *checkedPackWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	// The check sees the bytes first: a write it refuses never reaches the disk.
	if _, err := w.pipe.Write(p); err != nil {
		w.err = err
		return 0, err
	}
	n, err := w.tmp.Write(p)
	w.n += int64(n)
	if err != nil {
		w.err = fmt.Errorf("write pack file: %w", err)
		return n, w.err
	}
	return n, nil
}

// Close waits for the check and, when the pack passed, hands it to go-git's storage, which
// indexes it; the temporary file is removed either way.
func (w *checkedPackWriter) Close() error {
	w.pipe.Close()
	checkErr := <-w.result
	defer os.Remove(w.tmp.Name())
	defer w.tmp.Close()
	switch {
	case w.err != nil:
		return w.err
	case w.n == 0:
		return nil // nothing was sent; go-git reports the empty pack itself
	case checkErr != nil:
		return checkErr
	}
	if _, err := w.tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind pack file: %w", err)
	}
	dst, err := w.store.PackfileWriter()
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, w.tmp); err != nil {
		dst.Close()
		return fmt.Errorf("store pack: %w", err)
	}
	if err := dst.Close(); err != nil {
		return fmt.Errorf("index pack: %w", err)
	}
	return nil
}
