package servehandler

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/skydeploy/skydeploy/internal/hostroute"
)

// HTTPS with certificates from an ACME CA (SKYDEPLOY_SERVE_TLS=acme), by certmagic:
//
//   - Certificates are obtained on demand, at the first TLS handshake for a name, and only for
//     names that route to something: a verified custom domain (its pointer exists), a
//     project's or branch's alias that exists, a deployment that exists. Anything else fails
//     the handshake without an order. Orders are limited per host (TLSOptions.OrderInterval).
//   - Certificates, keys, the ACME account, HTTP-01 tokens and locks live in TLSOptions.Storage
//     (object storage, internal/certstore), so every replica shares them: a replica loads what
//     another obtained, and certmagic's lock around each order plus its second look in storage
//     keep two replicas from ordering the same name.
//   - A name that stops routing (a removed domain) stops handshaking once its pointer expires
//     from the cache (AliasTTL), though its certificate stays in storage.
//   - HTTP-01 is answered on the plain listener, TLS-ALPN-01 in the TLS handshake; plain HTTP
//     requests for names that have a certificate are redirected to HTTPS.
//
// certmagic is the one dependency this file adds; it imports nothing of SkyDeploy's beyond
// what the handler already does (storage stays behind the certmagic.Storage it is given).

// TLSOptions turn on HTTPS. Zero values take the defaults in parentheses.
type TLSOptions struct {
	// Storage holds certificates and locks, shared by every replica (required).
	Storage certmagic.Storage
	// CA is the ACME directory URL (Let's Encrypt's production directory).
	CA string
	// CARoots are the roots trusted for the CA's own HTTPS (the system's).
	CARoots *x509.CertPool
	// Email is the ACME account's contact (none).
	Email string
	// OrderInterval is the least time between two orders for one host on this replica (10m).
	OrderInterval time.Duration
	// ListenHost, HTTPPort and TLSPort are where challenges arrive (all interfaces, 80, 443):
	// the handler's own listeners, which certmagic must not try to bind itself.
	ListenHost string
	HTTPPort   int
	TLSPort    int
	// HTTPSPort is the public HTTPS port that redirects name (443: none in the URL).
	HTTPSPort int
	// DisableHTTP01 and DisableTLSALPN01 turn a challenge type off (both on).
	DisableHTTP01    bool
	DisableTLSALPN01 bool
	// Log receives certmagic's messages (the handler's logger).
	Log *slog.Logger
}

// tlsState is the handler's HTTPS side.
type tlsState struct {
	h       *Handler
	magic   *certmagic.Config
	cache   *certmagic.Cache
	issuer  *certmagic.ACMEIssuer
	storage certmagic.Storage
	config  *tls.Config
	port    int // HTTPS port in redirects (0: default)

	orders  orderLimiter
	certsMu sync.Mutex
	certs   map[string]certKnown // host -> whether storage holds a certificate, for redirects
}

type certKnown struct {
	has     bool
	expires time.Time
}

// certKnownTTL is how long the answer "this host has (no) certificate" is reused for redirects.
const certKnownTTL = 30 * time.Second

// EnableTLS turns on HTTPS for h; ServeTLS then serves it. Call it before serving.
func (h *Handler) EnableTLS(o TLSOptions) error {
	if o.Storage == nil {
		return errors.New("serve: TLS needs a certificate storage")
	}
	if o.DisableHTTP01 && o.DisableTLSALPN01 {
		return errors.New("serve: TLS needs the http-01 or the tls-alpn-01 challenge")
	}
	if o.CA == "" {
		o.CA = certmagic.LetsEncryptProductionCA
	}
	if o.OrderInterval <= 0 {
		o.OrderInterval = 10 * time.Minute
	}
	if o.Log == nil {
		o.Log = h.log
	}
	t := &tlsState{h: h, storage: o.Storage, certs: map[string]certKnown{}, orders: orderLimiter{every: o.OrderInterval, last: map[string]time.Time{}}}
	if o.HTTPSPort != 0 && o.HTTPSPort != 443 {
		t.port = o.HTTPSPort
	}
	logger := zap.New(&slogCore{log: o.Log.With("component", "certmagic")})
	t.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return t.magic, nil },
		Logger:           logger,
	})
	t.magic = certmagic.New(t.cache, certmagic.Config{
		Storage:  o.Storage,
		OnDemand: &certmagic.OnDemandConfig{DecisionFunc: t.allow},
		Logger:   logger,
		// Let's Encrypt ended OCSP in 2025; stapling would only add requests that fail.
		OCSP: certmagic.OCSPConfig{DisableStapling: true},
	})
	t.issuer = certmagic.NewACMEIssuer(t.magic, certmagic.ACMEIssuer{
		CA: o.CA,
		// Never fall back to another CA (certmagic retries with Let's Encrypt's staging CA).
		TestCA: o.CA, Email: o.Email, Agreed: true, TrustedRoots: o.CARoots,
		ListenHost: o.ListenHost, AltHTTPPort: o.HTTPPort, AltTLSALPNPort: o.TLSPort,
		DisableHTTPChallenge: o.DisableHTTP01, DisableTLSALPNChallenge: o.DisableTLSALPN01,
		Logger: logger,
	})
	t.magic.Issuers = []certmagic.Issuer{&limitedIssuer{ACMEIssuer: t.issuer, orders: &t.orders}}
	base := t.magic.TLSConfig()
	cfg := base.Clone()
	cfg.MinVersion = tls.VersionTLS12
	cfg.GetCertificate = t.getCertificate(base.GetCertificate)
	t.config = cfg
	h.tls = t
	return nil
}

// isChallengeHello: a TLS-ALPN-01 validation, which certmagic answers itself.
func isChallengeHello(hello *tls.ClientHelloInfo) bool {
	for _, p := range hello.SupportedProtos {
		if p == "acme-tls/1" {
			return true
		}
	}
	return false
}

// getCertificate refuses names that do not route (any more) before certmagic looks at them:
// a removed domain's certificate stays cached in memory, but is not served.
func (t *tlsState) getCertificate(next func(*tls.ClientHelloInfo) (*tls.Certificate, error)) func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if !isChallengeHello(hello) {
			if err := t.routes(hello.Context(), hello.ServerName); err != nil {
				return nil, err
			}
		}
		return next(hello)
	}
}

// allow is certmagic's on-demand decision: a certificate may be loaded or ordered only for a
// name that routes to something.
func (t *tlsState) allow(ctx context.Context, name string) error { return t.routes(ctx, name) }

// routes returns nil when name is served: a verified custom domain, an existing alias or
// deployment (from the handler's caches, read again after AliasTTL).
func (t *tlsState) routes(ctx context.Context, name string) error {
	if name == "" {
		return errors.New("no server name (SNI)")
	}
	rt := hostroute.Parse(name, t.h.base)
	var err error
	switch rt.Kind {
	case hostroute.Custom:
		_, err = t.h.pointer(ctx, kindDomain, rt.Name)
	case hostroute.Alias:
		_, err = t.h.pointer(ctx, kindAlias, rt.Name)
	case hostroute.Deployment:
		_, err = t.h.site(ctx, rt.Name)
	default:
		err = errNoSite
	}
	if err != nil {
		return fmt.Errorf("%s is not served here: %w", name, err)
	}
	return nil
}

// orderLimiter allows one order per host per interval.
type orderLimiter struct {
	every time.Duration
	mu    sync.Mutex
	last  map[string]time.Time
}

func (l *orderLimiter) allow(host string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.last[host]; ok && now.Sub(t) < l.every {
		return false
	}
	if len(l.last) > 10_000 {
		for h, t := range l.last {
			if now.Sub(t) >= l.every {
				delete(l.last, h)
			}
		}
	}
	l.last[host] = now
	return true
}

// limitedIssuer is the ACME issuer behind the per-host order limit. Issue is called only when
// an order is about to be placed (certmagic has looked in its cache and in storage), so this
// is where orders are counted. A refused order is not retried by certmagic (ErrNoRetry); the
// next handshake after the interval tries again.
type limitedIssuer struct {
	*certmagic.ACMEIssuer
	orders *orderLimiter
}

func (l *limitedIssuer) Issue(ctx context.Context, csr *x509.CertificateRequest) (*certmagic.IssuedCertificate, error) {
	for _, name := range csr.DNSNames {
		if !l.orders.allow(name, time.Now()) {
			return nil, certmagic.ErrNoRetry{Err: fmt.Errorf("a certificate for %s was ordered less than %s ago", name, l.orders.every)}
		}
	}
	return l.ACMEIssuer.Issue(ctx, csr)
}

// hasCertificate reports whether host has a certificate (in memory, or in storage, looked up
// at most every certKnownTTL).
func (t *tlsState) hasCertificate(ctx context.Context, host string) bool {
	if len(t.cache.AllMatchingCertificates(host)) > 0 {
		return true
	}
	now := time.Now()
	t.certsMu.Lock()
	k, ok := t.certs[host]
	t.certsMu.Unlock()
	if ok && now.Before(k.expires) {
		return k.has
	}
	has := t.storage.Exists(ctx, certmagic.StorageKeys.SiteCert(t.issuer.IssuerKey(), host))
	t.certsMu.Lock()
	if len(t.certs) > 10_000 {
		t.certs = map[string]certKnown{}
	}
	t.certs[host] = certKnown{has: has, expires: now.Add(certKnownTTL)}
	t.certsMu.Unlock()
	return has
}

// plainKnown reports whether host is known, freshly, to have no certificate: then the fast
// lane may answer its plain HTTP requests (others go through net/http, which redirects).
func (t *tlsState) plainKnown(host string, now time.Time) bool {
	t.certsMu.Lock()
	k, ok := t.certs[host]
	t.certsMu.Unlock()
	return ok && !k.has && now.Before(k.expires)
}

// httpHandler is the plain HTTP listener's handler: ACME HTTP-01 challenges, then a redirect to
// HTTPS for names that route and have a certificate, else the site over HTTP.
func (t *tlsState) httpHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t.issuer.HandleHTTPChallenge(w, r) {
			return
		}
		host := hostroute.Parse(r.Host, t.h.base)
		if host.Kind != hostroute.Invalid && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
			t.routes(r.Context(), host.Name) == nil && t.hasCertificate(r.Context(), host.Name) {
			target := "https://" + host.Name
			if t.port != 0 {
				target += ":" + strconv.Itoa(t.port)
			}
			target += r.URL.RequestURI()
			w.Header().Set("Location", target)
			w.WriteHeader(http.StatusPermanentRedirect)
			return
		}
		t.h.ServeHTTP(w, r)
	})
}

// ServeTLS is Serve with HTTPS: plain HTTP on ln (challenges, redirects, sites without a
// certificate), HTTPS on tlsLn, admin endpoints on adminLn (may be nil). h.EnableTLS must
// have been called.
func ServeTLS(ctx context.Context, h *Handler, ln, tlsLn, adminLn net.Listener) error {
	if h.tls == nil {
		return errors.New("serve: ServeTLS without EnableTLS")
	}
	defer h.tls.cache.Stop()
	return serve(ctx, h, ln, tls.NewListener(tlsLn, h.tls.config), adminLn)
}

// slogCore sends certmagic's zap logs to the handler's slog logger.
type slogCore struct {
	log    *slog.Logger
	fields []zapcore.Field
}

func (c *slogCore) Enabled(l zapcore.Level) bool {
	return c.log.Enabled(context.Background(), slogLevel(l))
}
func (c *slogCore) With(fs []zapcore.Field) zapcore.Core {
	return &slogCore{log: c.log, fields: append(append([]zapcore.Field(nil), c.fields...), fs...)}
}
func (c *slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}
func (c *slogCore) Write(e zapcore.Entry, fs []zapcore.Field) error {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range append(append([]zapcore.Field(nil), c.fields...), fs...) {
		f.AddTo(enc)
	}
	attrs := make([]any, 0, 2*len(enc.Fields)+2)
	if e.LoggerName != "" {
		attrs = append(attrs, "logger", e.LoggerName)
	}
	for k, v := range enc.Fields {
		attrs = append(attrs, k, v)
	}
	c.log.Log(context.Background(), slogLevel(e.Level), e.Message, attrs...)
	return nil
}
func (c *slogCore) Sync() error { return nil }

func slogLevel(l zapcore.Level) slog.Level {
	switch {
	case l >= zapcore.ErrorLevel:
		return slog.LevelError
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

// tlsHostSkipsFastLane: with HTTPS on, the fast lane answers plain requests only for hosts
// known to have no certificate; others go through net/http, which redirects them.
func (h *Handler) tlsHostSkipsFastLane(host string, now time.Time) bool {
	if h.tls == nil {
		return false
	}
	if i := strings.IndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return !h.tls.plainKnown(strings.ToLower(host), now)
}
