package servehandler

import (
	"bytes"
	"context"
	"net/url"
	"time"

	"github.com/skydeploy/skydeploy/internal/hostroute"
)

// The fast lane answers the commonest request of a static host, a plain GET or HEAD of a
// deployment's file whose content and site are already cached, without net/http's and Gin's
// per-request machinery: the wrapped connection reads the request head itself, and when
// parseHead and serveFast accept it, writes the route's rendered header block and the body
// (one writev, or sendfile) and goes on with the next request. Anything else (another
// method, a body, ranges, conditionals, redirects, rules, the SPA fallback, 404s, anything
// that would read storage, any doubt about the syntax) is handed to net/http untouched, so
// its answer, its limits and its errors are exactly those of the normal path. The lane
// applies only between requests net/http handles: once net/http is given bytes it has not
// been given a whole request of (pipelined data read by its background reader), the lane
// is off for the rest of the connection.

// What parseHead makes of the bytes at the start of a connection's buffer.
const (
	headIncomplete = iota // no full request head yet
	headFast              // a request the fast lane may answer
	headPass              // a GET or HEAD without body for net/http: hand it this head
	headOff               // anything else: hand net/http everything, lane off for good
)

// maxHeadBytes is the most the fast lane buffers while waiting for a full request head;
// past it, net/http takes over (and answers 431 when it is past its own limit).
const maxHeadBytes = MaxHeaderBytes

// fastReq is a request head the fast lane may answer; its strings point into the buffer.
type fastReq struct {
	head   bool // HEAD rather than GET
	host   []byte
	target []byte // path only, query dropped
	ae     [4][]byte
	nae    int
}

// parseHead reads a request head from buf. It returns the head's length and a verdict.
// It accepts only what it fully understands: HTTP/1.1, GET or HEAD, an origin-form target
// of unreserved characters (and a query), CRLF line ends, token header names and values
// without control characters, one Host, no body, no header that changes the answer beyond
// choosing a coding.
func parseHead(buf []byte, fr *fastReq) (n, verdict int) {
	end := bytes.Index(buf, crlfcrlf)
	if end < 0 {
		if bareLF(buf) || len(buf) >= maxHeadBytes {
			return 0, headOff
		}
		return 0, headIncomplete
	}
	n = end + 4
	head := buf[:end+2] // each line, the last included, ends with CRLF
	if bareLF(head) {
		return n, headOff
	}
	eol := bytes.Index(head, crlf)
	line := head[:eol]
	head = head[eol+2:]
	switch {
	case bytes.HasPrefix(line, methodGET):
		line = line[len(methodGET):]
	case bytes.HasPrefix(line, methodHEAD):
		line = line[len(methodHEAD):]
		fr.head = true
	default:
		return n, headOff // other methods may carry a body
	}
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		return n, headOff
	}
	target, proto := line[:sp], line[sp+1:]
	if string(proto) != "HTTP/1.1" {
		return n, headPass
	}
	path, ok := simpleTarget(target)
	if !ok {
		return n, headPass
	}
	fr.target = path
	hosts := 0
	for len(head) > 0 {
		eol := bytes.Index(head, crlf)
		line, head = head[:eol], head[eol+2:]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !validHeaderName(string(line[:colon])) {
			return n, headOff // obs-fold, a missing colon, a bad name
		}
		name, value := line[:colon], trimOWSBytes(line[colon+1:])
		if !validHeaderValue(string(value)) {
			return n, headOff
		}
		switch {
		case equalFoldBytes(name, "host"):
			hosts++
			fr.host = value
		case equalFoldBytes(name, "accept-encoding"):
			if fr.nae == len(fr.ae) {
				return n, headPass
			}
			fr.ae[fr.nae] = value
			fr.nae++
		case equalFoldBytes(name, "content-length"), equalFoldBytes(name, "transfer-encoding"):
			return n, headOff // a body follows
		case equalFoldBytes(name, "connection"):
			if !equalFoldBytes(value, "keep-alive") {
				return n, headPass
			}
		case equalFoldBytes(name, "range"), equalFoldBytes(name, "if-range"), equalFoldBytes(name, "if-match"),
			equalFoldBytes(name, "if-unmodified-since"), equalFoldBytes(name, "if-none-match"),
			equalFoldBytes(name, "expect"), equalFoldBytes(name, "upgrade"):
			return n, headPass
		}
	}
	if hosts != 1 {
		return n, headPass
	}
	return n, headFast
}

var (
	crlfcrlf   = []byte("\r\n\r\n")
	methodGET  = []byte("GET ")
	methodHEAD = []byte("HEAD ")
)

// simpleTarget returns the path of an origin-form target made of unreserved characters
// and slashes, with an optional query of visible characters (ignored: a file's answer does
// not depend on it). Anything else, percent-encoding included, is left to net/http.
func simpleTarget(t []byte) ([]byte, bool) {
	if len(t) == 0 || t[0] != '/' || len(t) > MaxPathBytes {
		return nil, false
	}
	for i := 1; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '/', c == '-', c == '.', c == '_', c == '~':
		case c == '?':
			for _, q := range t[i+1:] {
				if q <= ' ' || q >= 0x7f || q == '#' {
					return nil, false
				}
			}
			return t[:i], true
		default:
			return nil, false
		}
	}
	return t, true
}

// bareLF reports a line feed not preceded by a carriage return.
func bareLF(b []byte) bool {
	for i := bytes.IndexByte(b, '\n'); i >= 0; {
		if i == 0 || b[i-1] != '\r' {
			return true
		}
		j := bytes.IndexByte(b[i+1:], '\n')
		if j < 0 {
			return false
		}
		i += j + 1
	}
	return false
}

func trimOWSBytes(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func equalFoldBytes(b []byte, want string) bool {
	if len(b) != len(want) {
		return false
	}
	for i := range b {
		if b[i]|0x20 != want[i] {
			return false
		}
	}
	return true
}

// serveFast answers fr on c when everything it needs is cached: a fresh route from host to
// a loaded site, a route to one of its files (no rule in the way), and the chosen variant's
// bytes in the memory or disk cache. It returns false, having written nothing, otherwise.
// The response is the one serveFile's header-block path gives.
func (h *Handler) serveFast(c *conn, fr *fastReq) (bool, error) {
	start := time.Now()
	hr := hostroute.Parse(string(fr.host), h.base)
	if h.tls != nil && h.tlsHostSkipsFastLane(hr.Name, start) {
		return false, nil
	}
	s := h.cachedSite(hr, start)
	if s == nil || s.hasForced {
		return false, nil
	}
	p, bad := cleanPath(&url.URL{Path: string(fr.target)})
	if bad != 0 {
		return false, nil
	}
	rt := s.routes[p]
	if rt == nil || rt.file == nil {
		return false, nil
	}
	f := rt.file
	v := f.vars[encIdentity]
	if f.varied {
		var ae [4]string
		for i := range fr.nae {
			ae[i] = string(fr.ae[i])
		}
		v = f.vars[negotiate(ae[:fr.nae], f.vars[encBrotli] != nil, f.vars[encGzip] != nil)]
	}
	out := outcome{start: start, status: 200, deploy: s.id}
	var data []byte
	var disk *diskEntry
	if !fr.head {
		switch h.placement(v) {
		case fromMemory:
			b, ok := h.cache.get(cacheKey{kindBlob, v.key})
			if !ok {
				return false, nil
			}
			data, out.cache = b.([]byte), "hit"
			h.m.cacheHits.Inc()
		case fromDisk:
			if disk = h.disk.acquire(v.key); disk == nil {
				return false, nil
			}
			defer h.disk.release(disk)
			out.cache = "disk-hit"
			h.m.diskHits.Inc()
		default:
			return false, nil
		}
	}
	h.m.fast.Inc()
	n, err := c.writeFast(rt.headerBlock(v), start, data, disk, v.size)
	out.bytes = n
	method := "GET"
	if fr.head {
		method = "HEAD"
	}
	h.record(context.Background(), string(fr.host), method, p, &out, time.Since(start))
	return true, err
}

// cachedSite resolves a host from the memory cache alone: fresh alias and domain pointers
// and a loaded site. It returns nil when that would take a storage read (net/http's path
// then makes it).
func (h *Handler) cachedSite(hr hostroute.Route, now time.Time) *site {
	id := hr.Name
	switch hr.Kind {
	case hostroute.Deployment:
	case hostroute.Alias:
		id = h.freshPointer(kindAlias, hr.Name, now)
	case hostroute.Custom:
		if project := h.freshPointer(kindDomain, hr.Name, now); project != "" {
			id = h.freshPointer(kindAlias, project, now)
		} else {
			id = ""
		}
	default:
		return nil
	}
	if id == "" {
		return nil
	}
	v, ok := h.cache.get(cacheKey{kindSite, id})
	if !ok {
		return nil
	}
	s, _ := v.(*site)
	return s
}

// freshPointer is the value of a cached pointer that has not expired, or "".
func (h *Handler) freshPointer(kind uint8, name string, now time.Time) string {
	v, ok := h.cache.get(cacheKey{kind, name})
	if !ok {
		return ""
	}
	p := v.(*pointer)
	if !now.Before(p.expires) {
		return ""
	}
	return p.value
}
