package servehandler

import (
	"context"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// readiness caches the last storage check so /readyz cannot be used to hammer storage.
type readiness struct {
	mu      sync.Mutex
	checked time.Time
	err     error
}

// AdminHandler serves operations endpoints, meant for a private address:
//
//	/healthz        200 while the process serves (it serves cached sites without storage)
//	/readyz         200 when storage is reachable, 503 otherwise or while shutting down
//	/metrics        Prometheus metrics
//	/debug/pprof/   Go profiles
func (h *Handler) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if h.draining.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("shutting down\n"))
			return
		}
		if err := h.checkStorage(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("object storage unreachable: " + err.Error() + "\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(h.gather, promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// checkStorage pings storage at most once a second.
func (h *Handler) checkStorage(ctx context.Context) error {
	h.ready.mu.Lock()
	defer h.ready.mu.Unlock()
	if time.Since(h.ready.checked) < time.Second {
		return h.ready.err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if p, ok := h.store.(Pinger); ok {
		h.ready.err = p.Ping(ctx)
	} else {
		_, err := h.store.GetBytes(ctx, "healthz-probe", 1)
		if err != nil && !isNotFound(err) {
			h.ready.err = err
		} else {
			h.ready.err = nil
		}
	}
	h.ready.checked = time.Now()
	return h.ready.err
}
