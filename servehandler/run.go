package servehandler

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/skydeploy/skydeploy/internal/storage"
)

func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }

// Server timeouts. Slow clients cannot hold a connection by trickling headers
// (ReadHeaderTimeout) or a body (ReadTimeout; GET and HEAD have none), nor by not reading
// (WriteTimeout; streamed large files extend it as they make progress).
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 15 * time.Second
	WriteTimeout      = 60 * time.Second
	IdleTimeout       = 120 * time.Second
	MaxHeaderBytes    = 16 << 10
)

// NewServer returns the http.Server for h with SkyDeploy's timeouts and limits.
func NewServer(h *Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          nil,
		ConnContext:       connContext,
		ConnState:         connState,
	}
}

// Run serves h on addr and its admin endpoints on adminAddr (empty: none) until ctx ends,
// then shuts down gracefully: listeners close at once, in-flight requests finish (for up to
// Options.ShutdownGrace), /readyz reports 503 meanwhile.
func Run(ctx context.Context, h *Handler, addr, adminAddr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: listen on %s: %w", addr, err)
	}
	var adminLn net.Listener
	if adminAddr != "" {
		adminLn, err = net.Listen("tcp", adminAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("serve: admin listen on %s: %w", adminAddr, err)
		}
	}
	return Serve(ctx, h, ln, adminLn)
}

// Serve is Run on listeners the caller opened (adminLn may be nil).
func Serve(ctx context.Context, h *Handler, ln, adminLn net.Listener) error {
	return serve(ctx, h, ln, nil, adminLn)
}

// serve serves plain HTTP on ln, HTTPS on tlsLn when it is not nil (ServeTLS, tls.go) and the
// admin endpoints on adminLn when it is not nil.
func serve(ctx context.Context, h *Handler, ln, tlsLn, adminLn net.Listener) error {
	srv := NewServer(h)
	servers := []*http.Server{srv}
	errc := make(chan error, 3)
	wl := newListener(ln, h)
	if tlsLn != nil {
		srv.Handler = h.tls.httpHandler()
		tsrv := NewServer(h)
		servers = append(servers, tsrv)
		go func() { errc <- tsrv.Serve(tlsLn) }()
	}
	go func() { errc <- srv.Serve(wl) }()
	if adminLn != nil {
		admin := &http.Server{
			Handler: h.AdminHandler(), ReadHeaderTimeout: ReadHeaderTimeout,
			IdleTimeout: IdleTimeout, MaxHeaderBytes: MaxHeaderBytes,
		}
		servers = append(servers, admin)
		go func() { errc <- admin.Serve(adminLn) }()
	}
	h.log.Info("serve: listening", "addr", ln.Addr().String(), "base_domain", h.base)
	var runErr error
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			runErr = fmt.Errorf("serve: %w", err)
		}
	}
	h.draining.Store(true)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.opts.ShutdownGrace)
	defer cancel()
	// Connections the fast lane keeps look new to net/http, which would close them only
	// after five seconds: close those waiting for a request as long as shutdown lasts.
	lanesDone := make(chan struct{})
	defer close(lanesDone)
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			wl.closeLaneIdle()
			select {
			case <-lanesDone:
				return
			case <-t.C:
			}
		}
	}()
	for _, s := range servers {
		if err := s.Shutdown(sctx); err != nil && runErr == nil {
			runErr = fmt.Errorf("serve: shutdown: %w", err)
		}
	}
	h.log.Info("serve: stopped")
	return runErr
}
