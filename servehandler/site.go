package servehandler

import (
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/skydeploy/skydeploy/internal/manifest"
	"github.com/skydeploy/skydeploy/internal/storage"
)

// variant is one stored coding of a file, with its response header values precomputed.
type variant struct {
	coding  int    // encIdentity, encBrotli, encGzip
	key     string // storage key: blobs/<sha256>[.br|.gz]
	size    int64
	etag    string // `"<sha prefix>"` or `"<sha prefix>-br"`
	etagHdr []string
	lenHdr  []string
	encHdr  []string // Content-Encoding; nil for identity
}

// file is one manifest entry ready to serve.
type file struct {
	path   string
	sha    string
	ctype  string
	html   bool
	vars   [3]*variant // by coding; vars[encIdentity] is always set
	varied bool        // a compressed variant exists: responses carry Vary: Accept-Encoding
}

// route is what a request path maps to: a file, or a canonical redirect.
type route struct {
	file     *file
	redirect string   // the canonical path to redirect to (301); empty for files
	hdr      []header // precomputed response headers for this path
	// blocks are the rendered header blocks of 200 responses, by coding, made on first use.
	blocks [3]atomic.Pointer[[]byte]
}

// headerBlock returns the headers of a 200 response of this route with variant v's content:
// all but Date and Connection, which the connection adds after net/http's status line, and
// the blank line that ends them. It is rendered once per route and variant.
func (rt *route) headerBlock(v *variant) []byte {
	if b := rt.blocks[v.coding].Load(); b != nil {
		return *b
	}
	b := make([]byte, 0, 384)
	for _, x := range rt.hdr {
		for _, val := range x.val {
			b = appendHeader(b, x.key, val)
		}
	}
	b = appendHeader(b, "Etag", v.etag)
	if v.coding == encIdentity {
		b = appendHeader(b, "Accept-Ranges", "bytes")
	}
	if v.encHdr != nil {
		b = appendHeader(b, "Content-Encoding", v.encHdr[0])
	}
	b = appendHeader(b, "Content-Length", v.lenHdr[0])
	rt.blocks[v.coding].Store(&b)
	return b
}

// appendHeader renders one header line the way net/http does: line breaks in the value
// become spaces, surrounding white space goes.
func appendHeader(b []byte, key, val string) []byte {
	b = append(b, key...)
	b = append(b, ": "...)
	val = strings.TrimSpace(val)
	for i := 0; i < len(val); i++ {
		c := val[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return append(b, "\r\n"...)
}

// site is a loaded deployment: its files, the routes derived from them, and its rules.
type site struct {
	id        string
	spa       bool
	files     map[string]*file  // by manifest path
	routes    map[string]*route // by cleaned request path
	rules     []redirectRule
	hasForced bool
	headers   []headerRule
	index     *file // index.html, the SPA fallback
	notFound  *file // 404.html
	weight    int64
	notes     []string
}

// Files of a deployment that configure it and are never served.
const (
	redirectsFile = "_redirects"
	headersFile   = "_headers"
	notFoundFile  = "404.html"
)

var (
	hdrVaryAE        = []string{"Accept-Encoding"}
	hdrImmutable     = []string{cacheImmutable}
	hdrRevalidate    = []string{cacheRevalidate}
	hdrAcceptRanges  = []string{"bytes"}
	hdrOctetStream   = []string{"application/octet-stream"}
	hdrEncodingNames = [3][]string{nil, {"br"}, {"gzip"}}
)

// etagLen is how many hex digits of the SHA-256 name a version of a file (64 bits).
const etagLen = 16

// newSite builds a site from a parsed manifest and the contents of its _redirects and
// _headers files (nil when absent).
func newSite(m *manifest.Manifest, redirects, headers []byte) *site {
	s := &site{
		id:     m.DeploymentID,
		spa:    m.SPA,
		files:  make(map[string]*file, len(m.Files)),
		routes: make(map[string]*route, len(m.Files)*2),
	}
	weight := int64(1024)
	for i := range m.Files {
		mf := &m.Files[i]
		if !validManifestPath(mf.Path) || !validSHA256(mf.SHA256) || mf.Size < 0 {
			s.notes = append(s.notes, "manifest entry skipped: "+strconv.Quote(mf.Path))
			continue
		}
		f := newFile(mf)
		s.files[f.path] = f
		weight += int64(len(f.path))*3 + 1500
	}
	if redirects != nil {
		var notes []string
		s.rules, notes = parseRedirects(redirects)
		s.notes = append(s.notes, notes...)
		for _, r := range s.rules {
			s.hasForced = s.hasForced || r.force
			weight += int64(len(r.to)) + 200
		}
	}
	if headers != nil {
		var notes []string
		s.headers, notes = parseHeaders(headers)
		s.notes = append(s.notes, notes...)
		weight += int64(len(headers)) * 4
	}
	s.index = s.files["index.html"]
	s.notFound = s.files[notFoundFile]
	s.buildRoutes()
	// Each route's header blocks, made on first use, weigh about 400 bytes per variant.
	s.weight = weight + int64(len(s.routes))*600
	return s
}

func newFile(mf *manifest.File) *file {
	ctype := mf.ContentType
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	f := &file{
		path:  mf.Path,
		sha:   strings.ToLower(mf.SHA256),
		ctype: ctype,
		html:  strings.HasPrefix(ctype, "text/html") || strings.HasSuffix(mf.Path, ".html") || strings.HasSuffix(mf.Path, ".htm"),
	}
	tag := f.sha[:etagLen]
	f.vars[encIdentity] = newVariant(encIdentity, storage.BlobKey(f.sha), mf.Size, `"`+tag+`"`)
	if n, ok := mf.Encodings["br"]; ok && n >= 0 {
		f.vars[encBrotli] = newVariant(encBrotli, storage.BlobVariantKey(f.sha, "br"), n, `"`+tag+`-br"`)
		f.varied = true
	}
	if n, ok := mf.Encodings["gz"]; ok && n >= 0 {
		f.vars[encGzip] = newVariant(encGzip, storage.BlobVariantKey(f.sha, "gz"), n, `"`+tag+`-gz"`)
		f.varied = true
	}
	return f
}

func newVariant(coding int, key string, size int64, etag string) *variant {
	return &variant{
		coding: coding, key: key, size: size, etag: etag,
		etagHdr: []string{etag},
		lenHdr:  []string{strconv.FormatInt(size, 10)},
		encHdr:  hdrEncodingNames[coding],
	}
}

func validSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// buildRoutes derives every request path that names a file, in order of precedence:
//
//  1. the exact path of a file: /about.html, /docs/index.html, /app.js
//  2. a directory index: /docs/ -> docs/index.html, / -> index.html
//  3. a clean URL: /about -> about.html (when no file "about" exists)
//  4. canonical redirects (301), one trailing-slash policy: a directory with an index has a
//     slash (/docs -> /docs/), a page file has none (/about/ -> /about), applied only where
//     nothing of higher precedence answers the other form.
//
// The configuration files _redirects and _headers are never served.
func (s *site) buildRoutes() {
	set := func(p string, r *route) {
		if _, ok := s.routes[p]; !ok {
			s.routes[p] = r
		}
	}
	for p, f := range s.files {
		if p == redirectsFile || p == headersFile {
			continue
		}
		s.routes["/"+p] = &route{file: f}
	}
	for p, f := range s.files {
		switch {
		case p == "index.html":
			set("/", &route{file: f})
		case strings.HasSuffix(p, "/index.html"):
			set("/"+strings.TrimSuffix(p, "index.html"), &route{file: f})
		}
	}
	for p, f := range s.files {
		if stem, ok := strings.CutSuffix(p, ".html"); ok && p != "index.html" && !strings.HasSuffix(p, "/index.html") {
			set("/"+stem, &route{file: f})
		}
	}
	for p := range s.files {
		switch {
		case p == "index.html":
		case strings.HasSuffix(p, "/index.html"):
			dir := "/" + strings.TrimSuffix(p, "/index.html")
			set(dir, &route{redirect: dir + "/"})
		case strings.HasSuffix(p, ".html"):
			stem := "/" + strings.TrimSuffix(p, ".html")
			set(stem+"/", &route{redirect: stem})
		}
	}
	for p, r := range s.routes {
		if r.file != nil {
			r.hdr = s.fileHeaders(p, r.file)
		} else {
			r.hdr = s.redirectHeaders(p, r.redirect)
		}
	}
}

// fileHeaders are the headers of a response with file f's content at request path p, except
// those of the variant (ETag, Content-Length, Content-Encoding).
func (s *site) fileHeaders(p string, f *file) []header {
	cc := hdrRevalidate
	if !f.html && isFingerprinted(f.path) {
		cc = hdrImmutable
	}
	hs := make([]header, 0, 8)
	hs = append(hs, header{"Content-Type", []string{f.ctype}}, header{"Cache-Control", cc})
	hs = append(hs, baselineHeaders...)
	if f.varied {
		hs = append(hs, header{"Vary", hdrVaryAE})
	}
	if len(s.headers) > 0 {
		hs = mergeHeaders(hs, siteHeaders(s.headers, p))
	}
	return hs
}

// redirectHeaders are the headers of a canonical redirect from p.
func (s *site) redirectHeaders(p, to string) []header {
	hs := make([]header, 0, 6)
	hs = append(hs, header{"Location", []string{safeLocation(to)}}, header{"Cache-Control", hdrRevalidate})
	hs = append(hs, baselineHeaders...)
	if len(s.headers) > 0 {
		hs = mergeHeaders(hs, siteHeaders(s.headers, p))
	}
	return hs
}
