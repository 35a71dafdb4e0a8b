package platform

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/skydeploy/skydeploy/activities"
	"github.com/skydeploy/skydeploy/internal/certstore"
	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/servehandler"
)

// NewDomainActivities wires the custom-domain verification activities of a light worker.
func NewDomainActivities(cfg config.Config, store *storage.Store, log *slog.Logger) *activities.DomainActivities {
	return &activities.DomainActivities{Store: store, Resolver: activities.NewResolver(cfg.DomainDNSServer), Log: log}
}

// NewCertStore returns the request handler's certificate storage: tls/ in the sites' bucket
// with the handler's own keys (the bucket policy lets it write there and nowhere else), or
// a bucket of its own (SKYDEPLOY_TLS_S3_*, for R2, which has no bucket policies).
func NewCertStore(cfg config.Config, serveStore *storage.Store, log *slog.Logger) *certstore.Store {
	objects := serveStore
	if cfg.TLSS3Bucket != "" {
		objects = storage.New(storage.Options{
			Endpoint: cfg.S3Endpoint, Region: cfg.S3Region, Bucket: cfg.TLSS3Bucket,
			AccessKey: cfg.TLSS3AccessKey, SecretKey: cfg.TLSS3SecretKey, PathStyle: cfg.S3PathStyle,
		})
	}
	return certstore.New(objects, log)
}

// ServeTLSOptions are the request handler's ACME settings from cfg, for listeners on httpLn
// (HTTP-01 and redirects) and tlsLn (HTTPS and TLS-ALPN-01).
func ServeTLSOptions(cfg config.Config, certs *certstore.Store, httpLn, tlsLn net.Listener, log *slog.Logger) (servehandler.TLSOptions, error) {
	o := servehandler.TLSOptions{
		Storage: certs, CA: cfg.ACMECA, Email: cfg.ACMEEmail, OrderInterval: cfg.ACMEOrderInterval, Log: log,
		DisableHTTP01: true, DisableTLSALPN01: true,
	}
	for _, ch := range cfg.ACMEChallenges {
		switch ch {
		case "http-01":
			o.DisableHTTP01 = false
		case "tls-alpn-01":
			o.DisableTLSALPN01 = false
		}
	}
	if cfg.ACMECARoots != "" {
		pem, err := os.ReadFile(cfg.ACMECARoots)
		if err != nil {
			return o, fmt.Errorf("SKYDEPLOY_ACME_CA_ROOTS: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return o, fmt.Errorf("SKYDEPLOY_ACME_CA_ROOTS: %s holds no PEM certificate", cfg.ACMECARoots)
		}
		o.CARoots = pool
	}
	o.ListenHost, o.HTTPPort = hostPort(httpLn)
	_, o.TLSPort = hostPort(tlsLn)
	// Redirects go to the public HTTPS port: the sites' port when sites are https, else 443.
	o.HTTPSPort = 443
	if cfg.SiteScheme == "https" && cfg.SitePort != "" {
		o.HTTPSPort, _ = strconv.Atoi(cfg.SitePort)
	}
	return o, nil
}

func hostPort(ln net.Listener) (string, int) {
	host, port, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		return "", 0
	}
	n, _ := strconv.Atoi(port)
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = ""
	}
	return host, n
}

// runServeTLS serves h over HTTP (SKYDEPLOY_SERVE_ADDR) and HTTPS (SKYDEPLOY_SERVE_TLS_ADDR)
// with certificates from the ACME CA, kept in object storage.
func runServeTLS(ctx context.Context, cfg config.Config, h *servehandler.Handler, store *storage.Store, log *slog.Logger) error {
	certs := NewCertStore(cfg, store, log)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	if err := certs.CheckWritable(pctx); err != nil {
		log.Error("the request handler cannot write its certificates: HTTPS will fail until it can (the gateway grants the handler's key tls/ at start; with R2 set SKYDEPLOY_TLS_S3_*)", "error", err)
	}
	cancel()
	ln, err := net.Listen("tcp", cfg.ServeAddr)
	if err != nil {
		return fmt.Errorf("serve: listen on %s: %w", cfg.ServeAddr, err)
	}
	tlsLn, err := net.Listen("tcp", cfg.ServeTLSAddr)
	if err != nil {
		ln.Close()
		return fmt.Errorf("serve: listen on %s (SKYDEPLOY_SERVE_TLS_ADDR): %w", cfg.ServeTLSAddr, err)
	}
	var adminLn net.Listener
	if cfg.ServeAdminAddr != "" {
		if adminLn, err = net.Listen("tcp", cfg.ServeAdminAddr); err != nil {
			ln.Close()
			tlsLn.Close()
			return fmt.Errorf("serve: admin listen on %s: %w", cfg.ServeAdminAddr, err)
		}
	}
	o, err := ServeTLSOptions(cfg, certs, ln, tlsLn, log)
	if err == nil {
		err = h.EnableTLS(o)
	}
	if err != nil {
		ln.Close()
		tlsLn.Close()
		if adminLn != nil {
			adminLn.Close()
		}
		return err
	}
	log.Info("request handler serving HTTPS", "addr", cfg.ServeTLSAddr, "acme_ca", cfg.ACMECA)
	return servehandler.ServeTLS(ctx, h, ln, tlsLn, adminLn)
}
