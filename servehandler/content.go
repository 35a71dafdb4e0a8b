package servehandler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/skydeploy/skydeploy/internal/storage"
)

// cacheable reports whether a variant's bytes are kept in memory (small and medium files);
// larger ones are streamed from storage on every request.
func (h *Handler) cacheable(v *variant) bool {
	return v.size <= h.opts.MaxCachedFileBytes && v.size <= h.opts.CacheBytes/8
}

// content returns the bytes of a cacheable variant, from the cache or read once from storage
// however many requests want it at the same time (single-flight). hit tells which.
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

// rangeReader is an io.ReadSeeker over an object in storage that is not held in memory:
// http.ServeContent seeks to each requested range and reads it, and every read after a seek
// becomes one ranged GET from that offset.
type rangeReader struct {
	ctx   context.Context
	store ObjectStore
	key   string
	size  int64
	off   int64
	body  io.ReadCloser
}

func (r *rangeReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if r.body == nil {
		body, err := r.store.GetRange(r.ctx, r.key, r.off, r.size-r.off)
		if err != nil {
			return 0, err
		}
		r.body = body
	}
	n, err := r.body.Read(p)
	r.off += int64(n)
	if err == io.EOF && r.off < r.size {
		err = io.ErrUnexpectedEOF
	}
	return n, err
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
	if abs != r.off && r.body != nil {
		r.body.Close()
		r.body = nil
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
