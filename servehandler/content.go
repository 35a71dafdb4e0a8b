package servehandler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/skydeploy/skydeploy/internal/storage"
)

// sendfileMinBytes: with a disk cache, files larger than this are kept on disk and sent with
// sendfile(2); smaller ones stay in memory, where writing them costs less than a sendfile.
const sendfileMinBytes = 16 << 10

// Where a variant's bytes are served from.
const (
	fromMemory  = iota + 1 // the memory cache
	fromDisk               // the disk cache, with sendfile
	fromStorage            // streamed from storage on every request
)

// placement decides where v is served from; a failing disk cache falls back to the next best.
func (h *Handler) placement(v *variant) int {
	if v.size > sendfileMinBytes && h.disk.fits(v.size) {
		return fromDisk
	}
	if v.size <= h.opts.MaxCachedFileBytes && v.size <= h.opts.CacheBytes/8 {
		return fromMemory
	}
	return fromStorage
}

// source is where one response's bytes come from: data in memory, or a file of the disk
// cache that the caller must release. Neither means: stream from storage.
type source struct {
	data  []byte
	disk  *diskEntry
	cache string // "hit", "miss", "disk-hit", "disk-miss" or "stream"
}

// open finds v's bytes, reading them once from storage when no cache holds them yet.
func (h *Handler) open(ctx context.Context, v *variant) (source, error) {
	where := h.placement(v)
	if where == fromDisk {
		e, hit, err := h.diskContent(ctx, v)
		switch {
		case err == nil:
			if hit {
				return source{disk: e, cache: "disk-hit"}, nil
			}
			return source{disk: e, cache: "disk-miss"}, nil
		case !errors.Is(err, errDiskCache):
			return source{}, err
		}
		// The local disk failed (full, not writable): serve as if there were no disk cache.
		h.log.Warn("serve: disk cache unusable, serving without it", "key", v.key, "err", err)
		if v.size <= h.opts.MaxCachedFileBytes && v.size <= h.opts.CacheBytes/8 {
			where = fromMemory
		} else {
			where = fromStorage
		}
	}
	if where == fromMemory {
		data, hit, err := h.content(ctx, v)
		if err != nil {
			return source{}, err
		}
		if hit {
			return source{data: data, cache: "hit"}, nil
		}
		return source{data: data, cache: "miss"}, nil
	}
	return source{cache: "stream"}, nil
}

func (h *Handler) closeSource(s source) {
	if s.disk != nil {
		h.disk.release(s.disk)
	}
}

// content returns the bytes of a variant kept in memory, from the cache or read once from
// storage however many requests want it at the same time (single-flight). hit tells which.
func (h *Handler) content(ctx context.Context, v *variant) (data []byte, hit bool, err error) {
	k := cacheKey{kindBlob, v.key}
	if b, ok := h.cache.get(k); ok {
		h.m.cacheHits.Inc()
		return b.([]byte), true, nil
	}
	h.m.cacheMisses.Inc()
	res, err, _ := h.flight.Do(v.key, func() (any, error) {
		// A request that missed just before the previous fill finished lands here: look again
		// so that it does not read storage a second time.
		if b, ok := h.cache.get(k); ok {
			return b, nil
		}
		ctx, cancel := h.fetchContext(ctx)
		defer cancel()
		h.m.storageReads.Inc()
		b, err := h.store.GetBytes(ctx, v.key, v.size+1)
		if err != nil {
			if !errors.Is(err, storage.ErrNotFound) {
				h.m.storageErrors.Inc()
			}
			return nil, err
		}
		if err := verify(v, b); err != nil {
			return nil, err
		}
		h.cache.add(k, b, int64(len(b)))
		return b, nil
	})
	if err != nil {
		return nil, false, err
	}
	return res.([]byte), false, nil
}

// diskContent returns v's file in the disk cache with a reference taken, written once from
// storage (single-flight, like content) when it is not there yet.
func (h *Handler) diskContent(ctx context.Context, v *variant) (e *diskEntry, hit bool, err error) {
	if e := h.disk.acquire(v.key); e != nil {
		h.m.diskHits.Inc()
		return e, true, nil
	}
	h.m.diskMisses.Inc()
	for range 2 {
		res, err, _ := h.flight.Do(v.key, func() (any, error) {
			if e := h.disk.acquire(v.key); e != nil {
				h.disk.release(e)
				return e, nil
			}
			return h.fillDisk(ctx, v)
		})
		if err != nil {
			return nil, false, err
		}
		if e := res.(*diskEntry); h.disk.acquireEntry(e) {
			return e, false, nil
		}
		// Evicted between the fill and now (a disk cache far too small): fill again.
	}
	return nil, false, fmt.Errorf("%w: %s evicted as soon as written", errDiskCache, v.key)
}

// fillDisk copies v from storage into the disk cache, checking its size and SHA-256 on the
// way.
func (h *Handler) fillDisk(ctx context.Context, v *variant) (*diskEntry, error) {
	ctx, cancel := h.fetchContext(ctx)
	defer cancel()
	h.m.storageReads.Inc()
	body, size, err := h.store.Get(ctx, v.key)
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			h.m.storageErrors.Inc()
		}
		return nil, err
	}
	defer body.Close()
	if size >= 0 && size != v.size {
		return nil, fmt.Errorf("%s: %d bytes in storage, %d in the manifest", v.key, size, v.size)
	}
	return h.disk.fill(v.key, v.size, func(w io.Writer) error {
		src := &readErrs{r: io.LimitReader(body, v.size+1)}
		var sum hash.Hash
		if v.coding == encIdentity {
			sum = sha256.New()
			w = io.MultiWriter(w, sum)
		}
		bp := copyBufs.Get().(*[]byte)
		defer copyBufs.Put(bp)
		n, err := io.CopyBuffer(w, src, *bp)
		switch {
		case src.err != nil:
			h.m.storageErrors.Inc()
			return fmt.Errorf("read %s: %w", v.key, src.err)
		case err != nil:
			return fmt.Errorf("%w: %v", errDiskCache, err)
		case n != v.size:
			return fmt.Errorf("%s: %d bytes in storage, %d in the manifest", v.key, n, v.size)
		case sum != nil && hex.EncodeToString(sum.Sum(nil)) != v.key[len(storage.BlobsPrefix):]:
			return fmt.Errorf("%s: content does not match its SHA-256", v.key)
		}
		return nil
	})
}

// readErrs tells the errors of reading storage from those of writing the disk.
type readErrs struct {
	r   io.Reader
	err error
}

func (r *readErrs) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// verify checks the bytes read against the manifest: the size of every variant, and the
// SHA-256 of the identity content (variants have no recorded hash).
func verify(v *variant, b []byte) error {
	if int64(len(b)) != v.size {
		return fmt.Errorf("%s: %d bytes in storage, %d in the manifest", v.key, len(b), v.size)
	}
	if v.coding == encIdentity {
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != v.key[len(storage.BlobsPrefix):] {
			return fmt.Errorf("%s: content does not match its SHA-256", v.key)
		}
	}
	return nil
}

// rangeReader is an io.ReadSeeker over an object in storage that no cache holds:
// http.ServeContent seeks to each requested range and reads it. The first read opens one
// ranged GET from there up to end; later ranges, which normalizeRange sorted and merged, are
// reached by reading on and discarding the gap, so a multi-range answer reads storage once.
// Only a seek backwards opens another GET.
type rangeReader struct {
	ctx   context.Context
	store ObjectStore
	key   string
	size  int64
	end   int64 // one past the last byte any range needs (size when unknown)
	off   int64 // position of the next Read
	pos   int64 // position of body
	body  io.ReadCloser
	// bodyEnd is one past the last byte body delivers.
	bodyEnd int64
	reads   int // ranged GETs made
}

func (r *rangeReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if r.body != nil && r.pos < r.off {
		if r.off < r.bodyEnd {
			n, err := io.CopyN(io.Discard, r.body, r.off-r.pos)
			r.pos += n
			if err != nil {
				r.closeBody()
			}
		} else {
			r.closeBody()
		}
	}
	if r.body == nil {
		end := r.end
		if end <= r.off || end > r.size {
			end = r.size
		}
		body, err := r.store.GetRange(r.ctx, r.key, r.off, end-r.off)
		if err != nil {
			return 0, err
		}
		r.reads++
		r.body, r.pos, r.bodyEnd = body, r.off, end
	}
	n, err := r.body.Read(p)
	r.off += int64(n)
	r.pos = r.off
	if err == io.EOF {
		short := r.off < r.bodyEnd
		r.closeBody()
		switch {
		case short && n == 0:
			return 0, io.ErrUnexpectedEOF
		case r.off < r.size:
			err = nil
		}
	}
	return n, err
}

func (r *rangeReader) closeBody() {
	r.body.Close()
	r.body = nil
}

func (r *rangeReader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.off + offset
	case io.SeekEnd:
		abs = r.size + offset
	}
	if abs < 0 {
		return 0, errors.New("seek before start")
	}
	if r.body != nil && abs < r.pos {
		r.closeBody()
	}
	r.off = abs
	return abs, nil
}

func (r *rangeReader) Close() error {
	if r.body != nil {
		return r.body.Close()
	}
	return nil
}
