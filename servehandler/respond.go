package servehandler

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/skydeploy/skydeploy/internal/storage"
)

// serveFile writes file f with the precomputed headers hdrs and the given status (200 for
// files, rewrites and the SPA fallback; 404 for the site's 404 page and 404 rules).
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, hdrs []header, f *file, status int, out *outcome) {
	hd := w.Header()
	setHeaders(hd, hdrs)
	// Range requests and the rarer preconditions go through http.ServeContent, always with
	// the identity content: ranges of a compressed variant would depend on the coding.
	complexReq := status == http.StatusOK &&
		(r.Header["Range"] != nil || r.Header["If-Match"] != nil || r.Header["If-Unmodified-Since"] != nil)
	v := f.vars[encIdentity]
	if f.varied && !complexReq {
		v = f.vars[negotiate(r.Header["Accept-Encoding"], f.vars[encBrotli] != nil, f.vars[encGzip] != nil)]
	}
	if status == http.StatusOK {
		hd["Etag"] = v.etagHdr
		if v.coding == encIdentity {
			hd["Accept-Ranges"] = hdrAcceptRanges
		}
		if inm := r.Header["If-None-Match"]; inm != nil && !complexReq && etagMatches(inm, v.etag) {
			delete(hd, "Content-Type")
			delete(hd, "Accept-Ranges")
			w.WriteHeader(http.StatusNotModified)
			out.status = http.StatusNotModified
			return
		}
	}
	if v.encHdr != nil {
		hd["Content-Encoding"] = v.encHdr
	}
	if complexReq {
		h.serveContent(w, r, v, out)
		return
	}
	if r.Method == http.MethodHead {
		hd["Content-Length"] = v.lenHdr
		w.WriteHeader(status)
		out.status = status
		return
	}
	src, err := h.open(r.Context(), v)
	if err != nil {
		out.status = h.storageError(w, r, v, err)
		return
	}
	out.cache = src.cache
	switch {
	case src.data != nil:
		hd["Content-Length"] = v.lenHdr
		w.WriteHeader(status)
		var n int64
		if len(src.data) <= smallBody {
			m, _ := w.Write(src.data)
			n = int64(m)
		} else {
			n, _ = sendBody(w, r, &memBody{data: src.data})
		}
		out.status, out.bytes = status, n
	case src.disk != nil:
		defer h.closeSource(src)
		hd["Content-Length"] = v.lenHdr
		w.WriteHeader(status)
		n, _ := sendBody(w, r, &fileBody{e: src.disk, n: v.size})
		out.status, out.bytes = status, n
	default:
		h.stream(w, r, v, status, out)
	}
}

// smallBody: bodies up to this size are written through net/http's buffer, which sends
// them with the header block in one write at the end of the response.
const smallBody = 1 << 10

// sendBody writes a response body after WriteHeader. On a wrapped connection the header
// block is held back and leaves with the body (one writev, or MSG_MORE and sendfile);
// otherwise the body is copied.
func sendBody(w http.ResponseWriter, r *http.Request, body io.Reader) (int64, error) {
	if c := connOf(r); c != nil {
		fl, _ := w.(http.Flusher)
		if rf := readerFrom(w); rf != nil && fl != nil {
			c.hold = true
			fl.Flush()
			n, err := rf.ReadFrom(body)
			c.hold = false
			return n, err
		}
	}
	if mb, ok := body.(*memBody); ok {
		n, err := w.Write(mb.data)
		return int64(n), err
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	return io.CopyBuffer(writerOnly{w}, body, *bp)
}

// writerOnly hides a writer's ReadFrom, so that io.CopyBuffer uses the buffer.
type writerOnly struct{ io.Writer }

// readerFrom finds net/http's response writer (an io.ReaderFrom) under wrappers such as
// Gin's, which have Unwrap.
func readerFrom(w http.ResponseWriter) io.ReaderFrom {
	for range 4 {
		if rf, ok := w.(io.ReaderFrom); ok {
			return rf
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
	return nil
}

// serveContent answers range and precondition requests with http.ServeContent, over the
// cached bytes or file, or over one ranged GET for files no cache holds. Ranges are merged
// and limited first (normalizeRange), so however many a request asks for, storage is read
// at most once.
func (h *Handler) serveContent(w http.ResponseWriter, r *http.Request, v *variant, out *outcome) {
	end := v.size
	if rng := r.Header["Range"]; len(rng) > 0 {
		norm, last, whole := normalizeRange(rng[0], v.size)
		if whole {
			delete(r.Header, "Range")
		} else {
			r.Header["Range"] = []string{norm}
			if last > 0 && r.Header["If-Range"] == nil {
				end = last // else a stale If-Range may turn the answer into the whole file
			}
		}
	}
	src, err := h.open(r.Context(), v)
	if err != nil {
		out.status = h.storageError(w, r, v, err)
		return
	}
	defer h.closeSource(src)
	out.cache = src.cache
	var rs io.ReadSeeker
	switch {
	case src.data != nil:
		rs = bytes.NewReader(src.data)
	case src.disk != nil:
		rs = io.NewSectionReader(src.disk.f, 0, v.size)
	default:
		rr := &rangeReader{ctx: r.Context(), store: h.store, key: v.key, size: v.size, end: end}
		defer rr.Close()
		rs = rr
	}
	sw := &statusWriter{ResponseWriter: w}
	http.ServeContent(sw, r, "", time.Time{}, rs)
	out.status, out.bytes = sw.status, sw.bytes
	if out.status == 0 {
		out.status = http.StatusOK
	}
}

// streamIdle is how long a streamed response may make no progress before it is cut.
const streamIdle = time.Minute

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// stream copies a file too large for the cache from storage to the client. The write
// deadline moves with progress, so a large file can take as long as it needs while a client
// that stops reading is dropped.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, v *variant, status int, out *outcome) {
	h.m.storageReads.Inc()
	body, size, err := h.store.Get(r.Context(), v.key)
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			h.m.storageErrors.Inc()
		}
		out.status = h.storageError(w, r, v, err)
		return
	}
	defer body.Close()
	if size >= 0 && size != v.size {
		out.status = h.storageError(w, r, v, fmt.Errorf("%s: %d bytes in storage, %d in the manifest", v.key, size, v.size))
		return
	}
	w.Header()["Content-Length"] = v.lenHdr
	w.WriteHeader(status)
	out.status = status
	rc := http.NewResponseController(w)
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var written int64
	for written < v.size {
		n, rerr := body.Read(buf)
		if n > 0 {
			_ = rc.SetWriteDeadline(time.Now().Add(streamIdle))
			m, werr := w.Write(buf[:n])
			written += int64(m)
			out.bytes = written
			if werr != nil {
				return // the client went away
			}
		}
		if rerr != nil {
			break
		}
	}
	if written < v.size {
		// Storage failed mid-body: cut the connection so the client sees a truncated
		// response instead of a short file with a 200.
		h.log.Error("serve: storage read failed mid-stream", "key", v.key, "written", written, "size", v.size)
		panic(http.ErrAbortHandler)
	}
}

// storageError answers when a file's content cannot be read: 502 when storage lacks a blob
// the manifest names (a broken deployment), 503 when storage is failing.
func (h *Handler) storageError(w http.ResponseWriter, r *http.Request, v *variant, err error) int {
	if errors.Is(err, storage.ErrNotFound) {
		h.log.Error("serve: blob missing from storage", "key", v.key, "err", err)
		return h.platformError(w, r, http.StatusBadGateway)
	}
	h.log.Error("serve: storage read failed", "key", v.key, "err", err)
	return h.platformError(w, r, http.StatusServiceUnavailable)
}

// etagMatches implements the weak comparison of If-None-Match without allocating.
func etagMatches(inm []string, etag string) bool {
	for _, h := range inm {
		for len(h) > 0 {
			var item string
			if i := indexByte(h, ','); i >= 0 {
				item, h = h[:i], h[i+1:]
			} else {
				item, h = h, ""
			}
			item = trimOWS(item)
			if item == "*" {
				return true
			}
			if len(item) > 2 && item[0] == 'W' && item[1] == '/' {
				item = item[2:]
			}
			if item == etag {
				return true
			}
		}
	}
	return false
}

// statusWriter records the status and size of a response written by http.ServeContent.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(p)
	s.bytes += int64(n)
	return n, err
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Platform pages: what SkyDeploy itself answers (unknown hosts, bad requests, outages).
// They never contain request data or internals.
var platformPages = map[int][]byte{}

func init() {
	for status, msg := range map[int]string{
		http.StatusBadRequest:            "The request could not be understood.",
		http.StatusNotFound:              "There is nothing here. Check the address, or the deployment may not exist (yet).",
		http.StatusMethodNotAllowed:      "Only GET and HEAD requests are served.",
		http.StatusGone:                  "This page is gone.",
		http.StatusRequestURITooLong:     "The address is too long.",
		http.StatusInternalServerError:   "Something went wrong on our side.",
		http.StatusBadGateway:            "This deployment is incomplete: a file is missing from storage.",
		http.StatusServiceUnavailable:    "The site is temporarily unavailable. Please try again in a moment.",
		http.StatusRequestEntityTooLarge: "The request is too large.",
	} {
		title := fmt.Sprintf("%d %s", status, http.StatusText(status))
		platformPages[status] = []byte(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>` + html.EscapeString(title) + `</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1rem;color:#222}h1{font-size:1.5rem}p{color:#555}small{color:#999}</style>
</head><body><h1>` + html.EscapeString(title) + `</h1><p>` + html.EscapeString(msg) + `</p><small>SkyDeploy</small></body></html>
`)
		pageLenHdrs[status] = []string{strconv.Itoa(len(platformPages[status]))}
	}
}

var (
	hdrHTML     = []string{"text/html; charset=utf-8"}
	hdrNoStore  = []string{"no-store"}
	hdrPageCSP  = []string{"default-src 'none'; style-src 'unsafe-inline'"}
	hdrRetry    = []string{"5"}
	pageLenHdrs = map[int][]string{}
)

// platformError writes a platform page with status and returns the status. Headers set for
// the response so far (a file's ETag, Content-Type) are dropped.
func (h *Handler) platformError(w http.ResponseWriter, r *http.Request, status int) int {
	hd := w.Header()
	for k := range hd {
		if k != "Allow" {
			delete(hd, k)
		}
	}
	body, ok := platformPages[status]
	if !ok {
		body = platformPages[http.StatusInternalServerError]
	}
	hd["Content-Type"] = hdrHTML
	hd["Cache-Control"] = hdrNoStore
	hd["Content-Security-Policy"] = hdrPageCSP
	setHeaders(hd, baselineHeaders)
	hd["Content-Length"] = pageLenHdrs[status]
	if status == http.StatusServiceUnavailable {
		hd["Retry-After"] = hdrRetry
	}
	if !ok {
		hd["Content-Length"] = pageLenHdrs[http.StatusInternalServerError]
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return status
}
