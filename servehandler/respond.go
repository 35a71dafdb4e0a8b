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
// files, rewrites and the SPA fallback; 404 for the site's 404 page and 404 rules). rt is the
// route when the response is that route's file with its own headers: its header blocks are
// then rendered once per variant and sent as they are (see sendBlock).
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, rt *route, hdrs []header, f *file, status int, out *outcome) {
	// Range requests and the rarer preconditions go through http.ServeContent, always with
	// the identity content: ranges of a compressed variant would depend on the coding.
	complexReq := status == http.StatusOK &&
		(r.Header["Range"] != nil || r.Header["If-Match"] != nil || r.Header["If-Unmodified-Since"] != nil)
	v := f.vars[encIdentity]
	if f.varied && !complexReq {
		v = f.vars[negotiate(r.Header["Accept-Encoding"], f.vars[encBrotli] != nil, f.vars[encGzip] != nil)]
	}
	if status == http.StatusOK && !complexReq {
		if inm := r.Header["If-None-Match"]; inm != nil && etagMatches(inm, v.etag) {
			hd := w.Header()
			setHeaders(hd, hdrs)
			hd["Etag"] = v.etagHdr
			delete(hd, "Content-Type")
			w.WriteHeader(http.StatusNotModified)
			out.status = http.StatusNotModified
			return
		}
	}
	if complexReq {
		setFileHeaders(w.Header(), hdrs, v, status)
		h.serveContent(w, r, v, out)
		return
	}
	if r.Method == http.MethodHead {
		hd := w.Header()
		setFileHeaders(hd, hdrs, v, status)
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
	defer h.closeSource(src)
	out.cache = src.cache
	if src.data == nil && src.disk == nil {
		setFileHeaders(w.Header(), hdrs, v, status)
		h.stream(w, r, v, status, out)
		return
	}
	var body io.Reader
	if src.disk != nil {
		body = &fileBody{e: src.disk, n: v.size}
	} else {
		body = &memBody{data: src.data}
	}
	if rt != nil && status == http.StatusOK {
		if n, ok := sendBlock(w, r, rt, v, body, out.start); ok {
			out.status, out.bytes = status, n
			return
		}
	}
	hd := w.Header()
	setFileHeaders(hd, hdrs, v, status)
	hd["Content-Length"] = v.lenHdr
	w.WriteHeader(status)
	var n int64
	if src.data != nil && len(src.data) <= smallBody {
		m, _ := w.Write(src.data)
		n = int64(m)
	} else {
		n, _ = sendBody(w, r, body)
	}
	out.status, out.bytes = status, n
}

// setFileHeaders sets the headers of a response with variant v's content, but its length.
func setFileHeaders(hd http.Header, hdrs []header, v *variant, status int) {
	setHeaders(hd, hdrs)
	if status == http.StatusOK {
		hd["Etag"] = v.etagHdr
		if v.coding == encIdentity {
			hd["Accept-Ranges"] = hdrAcceptRanges
		}
	}
	if v.encHdr != nil {
		hd["Content-Encoding"] = v.encHdr
	}
}

// smallBody: without a wrapped connection, bodies up to this size are written through
// net/http's buffer, which sends them with the header block in one write.
const smallBody = 1 << 10

// sendBlock sends a 200 response with route rt's header block for variant v, rendered once
// and kept, instead of having net/http render the headers of every response: net/http is
// given only the length (and no Date or Content-Type to add), and the connection swaps the
// few bytes it writes for the block, keeping the Connection header net/http decided on and
// adding the Date. ok is false when the request did not come through a wrapped connection.
func sendBlock(w http.ResponseWriter, r *http.Request, rt *route, v *variant, body io.Reader, now time.Time) (n int64, ok bool) {
	c := connOf(r)
	if c == nil {
		return 0, false
	}
	rf := readerFrom(w)
	fl, _ := w.(http.Flusher)
	if rf == nil || fl == nil {
		return 0, false
	}
	hd := w.Header()
	hd["Content-Length"] = v.lenHdr
	hd["Date"] = nil         // nil suppresses net/http's own
	hd["Content-Type"] = nil // and its sniffing
	w.WriteHeader(http.StatusOK)
	c.block, c.now, c.hold = rt.headerBlock(v), now, true
	fl.Flush()
	if c.hold {
		// net/http wrote nothing (the connection failed already): do not send a body alone.
		c.hold, c.block = false, nil
		return 0, true
	}
	n, _ = rf.ReadFrom(body)
	return n, true
}

// sendBody writes a response body after WriteHeader. On a wrapped connection the header
// block is held back and leaves with the body (one writev, or MSG_MORE and sendfile);
// otherwise the body is copied.
func sendBody(w http.ResponseWriter, r *http.Request, body io.Reader) (int64, error) {
	if c := connOf(r); c != nil {
		fl, _ := w.(http.Flusher)
		if rf := readerFrom(w); rf != nil && fl != nil {
			c.hold = true
			fl.Flush()
			if c.hold {
				c.hold = false
				return 0, errNotFlushed
			}
			return rf.ReadFrom(body)
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

var errNotFlushed = errors.New("the header block was not written")

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
