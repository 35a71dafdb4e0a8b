package servehandler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/skydeploy/skydeploy/internal/hostroute"
)

// ObjectStore is what the handler needs of object storage; *storage.Store implements it.
// Get and GetRange return storage.ErrNotFound (wrapped) for missing keys.
type ObjectStore interface {
	Get(ctx context.Context, key string) (io.ReadCloser, int64, error)
	GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error)
	GetBytes(ctx context.Context, key string, limit int64) ([]byte, error)
}

// Pinger is implemented by stores that can check they are reachable (*storage.Store does);
// /readyz uses it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Options configure a Handler. Zero values take the defaults in parentheses.
type Options struct {
	// BaseDomain is the domain under which deployments and projects get subdomains ("localhost").
	BaseDomain string
	// CacheBytes bounds the in-memory cache of manifests and file contents (256 MiB).
	CacheBytes int64
	// MaxCachedFileBytes is the largest file kept in memory (1 MiB). With a disk cache, files
	// above 16 KiB go to disk instead; files neither cache takes are streamed from storage,
	// with range requests passed through as ranged GETs.
	MaxCachedFileBytes int64
	// DiskCacheDir is the folder of the on-disk content cache (<os.TempDir>/skydeploy-serve-cache).
	// The handler keeps serving when it is deleted, and makes it again on the next fill.
	DiskCacheDir string
	// DiskCacheBytes bounds the on-disk content cache (1 GiB); a negative value turns it off.
	DiskCacheBytes int64
	// AliasTTL is how long an alias or custom-domain pointer is trusted before it is read
	// again (2s); missing deployments are remembered as missing for as long.
	AliasTTL time.Duration
	// FetchTimeout bounds one storage read made on behalf of requests (15s).
	FetchTimeout time.Duration
	// ShutdownGrace is how long Run waits for in-flight requests on shutdown (30s).
	ShutdownGrace time.Duration

	// Log receives access lines and errors (slog.Default()).
	Log *slog.Logger
	// AccessLogEvery logs one successful request in N; 0 and 1 log every request, a negative
	// value turns access lines off. Requests answered with 5xx are always logged.
	AccessLogEvery int
	// AccessLogLevel is the level of access lines (Info). With slog.LevelDebug they cost
	// nothing unless the logger is at debug level.
	AccessLogLevel slog.Level

	// Registry receives the handler's Prometheus metrics; nil uses a registry of its own.
	Registry prometheus.Registerer
	// Gatherer is what /metrics exposes; nil uses Registry when it is a Gatherer, else the
	// handler's own registry.
	Gatherer prometheus.Gatherer
}

func (o *Options) defaults() {
	if o.BaseDomain == "" {
		o.BaseDomain = "localhost"
	}
	if o.CacheBytes <= 0 {
		o.CacheBytes = 256 << 20
	}
	if o.MaxCachedFileBytes <= 0 {
		o.MaxCachedFileBytes = 1 << 20
	}
	if o.DiskCacheDir == "" {
		o.DiskCacheDir = filepath.Join(os.TempDir(), "skydeploy-serve-cache")
	}
	if o.DiskCacheBytes == 0 {
		o.DiskCacheBytes = 1 << 30
	}
	if o.AliasTTL <= 0 {
		o.AliasTTL = 2 * time.Second
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = 15 * time.Second
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = 30 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.AccessLogEvery == 0 {
		o.AccessLogEvery = 1
	}
}

// Handler serves deployed sites. It is an http.Handler (a Gin engine with one catch-all
// route inside); AdminHandler serves health and metrics.
type Handler struct {
	store  ObjectStore
	opts   Options
	base   string
	log    *slog.Logger
	engine *gin.Engine
	cache  *lru
	disk   *diskCache // nil when turned off
	flight singleflight.Group
	m      *metrics
	gather prometheus.Gatherer

	logCount atomic.Uint64
	draining atomic.Bool
	ready    readiness
	tls      *tlsState // nil unless EnableTLS (tls.go)
}

// New returns a Handler reading from store. It does not contact storage: a handler started
// while storage is down comes up and serves as soon as storage answers.
func New(store ObjectStore, o Options) *Handler {
	o.defaults()
	h := &Handler{
		store: store,
		opts:  o,
		base:  hostroute.NormalizeBase(o.BaseDomain),
		log:   o.Log,
		cache: newLRU(o.CacheBytes),
	}
	if o.DiskCacheBytes > 0 {
		h.disk = newDiskCache(o.DiskCacheDir, o.DiskCacheBytes)
	}
	h.m, h.gather = newMetrics(o.Registry, o.Gatherer, h.cache, h.disk)
	// Gin's debug mode prints every route at start and warns on every request: not for a server.
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.HandleMethodNotAllowed = false
	e.UseRawPath = false
	e.RemoveExtraSlash = false
	e.Any("/*path", h.serveGin)
	e.NoRoute(h.serveGin)
	e.NoMethod(h.serveGin)
	h.engine = e
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.engine.ServeHTTP(w, r) }

func (h *Handler) serveGin(c *gin.Context) { h.serve(c.Writer, c.Request) }

// outcome is what one request did, for metrics and the access log.
type outcome struct {
	start  time.Time
	status int
	bytes  int64
	cache  string // see source.cache; "" when no content was read
	deploy string
}

// Errors of resolving a host.
var (
	errNoSite      = errors.New("no such site")
	errUnavailable = errors.New("storage unavailable")
)

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	out := outcome{start: start}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				h.finish(r, &out, start)
				panic(v)
			}
			h.log.Error("serve: panic", "host", r.Host, "path", r.URL.Path, "panic", fmt.Sprint(v))
			if out.status == 0 {
				out.status = h.platformError(w, r, http.StatusInternalServerError)
			}
		}
		h.finish(r, &out, start)
	}()

	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header()["Allow"] = hdrAllow
		out.status = h.platformError(w, r, http.StatusMethodNotAllowed)
		return
	}
	rt := hostroute.Parse(r.Host, h.base)
	if rt.Kind == hostroute.Invalid {
		out.status = h.platformError(w, r, http.StatusNotFound)
		return
	}
	p, bad := cleanPath(r.URL)
	if bad != 0 {
		out.status = h.platformError(w, r, bad)
		return
	}
	s, err := h.siteFor(r.Context(), rt)
	if err != nil {
		if errors.Is(err, errNoSite) {
			out.status = h.platformError(w, r, http.StatusNotFound)
		} else {
			out.status = h.platformError(w, r, http.StatusServiceUnavailable)
		}
		return
	}
	out.deploy = s.id
	h.serveSite(w, r, s, p, &out)
}

// serveSite answers path p (cleaned) from site s.
func (h *Handler) serveSite(w http.ResponseWriter, r *http.Request, s *site, p string, out *outcome) {
	rt := s.routes[p]
	if rt != nil && !s.hasForced {
		h.serveRoute(w, r, s, rt, out)
		return
	}
	for i := range s.rules {
		rule := &s.rules[i]
		target, ok := rule.match(p)
		if !ok {
			continue
		}
		if rt != nil && !rule.force {
			break // shadowed by a file
		}
		h.applyRule(w, r, s, p, rule, target, out)
		return
	}
	if rt != nil {
		h.serveRoute(w, r, s, rt, out)
		return
	}
	h.notFound(w, r, s, p, out)
}

func (h *Handler) serveRoute(w http.ResponseWriter, r *http.Request, s *site, rt *route, out *outcome) {
	if rt.file != nil {
		h.serveFile(w, r, rt, rt.hdr, rt.file, http.StatusOK, out)
		return
	}
	setHeaders(w.Header(), rt.hdr)
	if r.URL.RawQuery != "" {
		w.Header()["Location"] = []string{safeLocation(rt.redirect) + "?" + r.URL.RawQuery}
	}
	w.WriteHeader(http.StatusMovedPermanently)
	out.status = http.StatusMovedPermanently
}

// applyRule carries out a matching _redirects rule.
func (h *Handler) applyRule(w http.ResponseWriter, r *http.Request, s *site, p string, rule *redirectRule, target string, out *outcome) {
	switch rule.status {
	case http.StatusOK, http.StatusNotFound, http.StatusGone:
		tp, _, _ := cut(target, '?')
		rt := s.routes[tp]
		if rt == nil || rt.file == nil {
			if rule.status == http.StatusOK {
				h.notFound(w, r, s, p, out)
			} else {
				out.status = h.platformError(w, r, rule.status)
			}
			return
		}
		h.serveFile(w, r, nil, s.fileHeaders(p, rt.file), rt.file, rule.status, out)
	default:
		loc := target
		if r.URL.RawQuery != "" && indexByte(target, '?') < 0 {
			loc += "?" + r.URL.RawQuery
		}
		hd := w.Header()
		setHeaders(hd, s.redirectHeaders(p, loc))
		w.WriteHeader(rule.status)
		out.status = rule.status
	}
}

// notFound answers a path that names no file: the SPA fallback for navigations, the site's
// 404.html, or the platform's 404 page.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, s *site, p string, out *outcome) {
	if s.spa && s.index != nil && isNavigation(r, p) {
		h.serveFile(w, r, nil, s.fileHeaders(p, s.index), s.index, http.StatusOK, out)
		return
	}
	if s.notFound != nil {
		h.serveFile(w, r, nil, s.fileHeaders(p, s.notFound), s.notFound, http.StatusNotFound, out)
		return
	}
	out.status = h.platformError(w, r, http.StatusNotFound)
}

// isNavigation: a request for a page, which gets the SPA's index.html. Its path has no file
// extension (a missing /app.js stays a 404) and it does not clearly ask for something other
// than HTML: no Accept header, or one that accepts text/html, text/* or */*. So browsers,
// curl, uptime monitors and link checkers get the page, while an API client asking for
// application/json gets a 404.
func isNavigation(r *http.Request, p string) bool {
	if lastSegmentHasExt(p) {
		return false
	}
	accept := r.Header["Accept"]
	if len(accept) == 0 {
		return true
	}
	empty := true
	for _, a := range accept {
		for len(a) > 0 {
			var item string
			if i := indexByte(a, ','); i >= 0 {
				item, a = a[:i], a[i+1:]
			} else {
				item, a = a, ""
			}
			name, q := parseCoding(item)
			if name == "" {
				continue
			}
			empty = false
			if q > 0 && (equalFold(name, "text/html") || equalFold(name, "text/*") || name == "*/*") {
				return true
			}
		}
	}
	return empty
}

func cut(s string, sep byte) (before, after string, found bool) {
	if i := indexByte(s, sep); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

func setHeaders(hd http.Header, hs []header) {
	for _, x := range hs {
		hd[x.key] = x.val
	}
}

var hdrAllow = []string{"GET, HEAD"}

// finish records metrics and the access line of a request.
func (h *Handler) finish(r *http.Request, out *outcome, start time.Time) {
	h.record(r.Context(), r.Host, r.Method, r.URL.Path, out, time.Since(start))
}

// record counts a request in the metrics and writes its access line.
func (h *Handler) record(ctx context.Context, host, method, path string, out *outcome, d time.Duration) {
	h.m.observe(out, d)
	every := h.opts.AccessLogEvery
	if every < 0 && out.status < 500 {
		return
	}
	if every > 1 && out.status < 500 && h.logCount.Add(1)%uint64(every) != 0 {
		return
	}
	level := h.opts.AccessLogLevel
	if out.status >= 500 && level < slog.LevelWarn {
		level = slog.LevelWarn
	}
	if !h.log.Enabled(ctx, level) {
		return
	}
	h.log.LogAttrs(ctx, level, "request",
		slog.String("host", host),
		slog.String("method", method),
		slog.String("path", path),
		slog.Int("status", out.status),
		slog.Int64("bytes", out.bytes),
		slog.Duration("duration", d),
		slog.String("cache", out.cache),
		slog.String("deployment", out.deploy),
	)
}
