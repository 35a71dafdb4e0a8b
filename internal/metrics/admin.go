package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"time"
)

// Check is one readiness check (e.g. Temporal's CheckHealth, object storage's Ping).
type Check func(context.Context) error

// AdminHandler serves a process's operations endpoints: /healthz (the process is alive),
// /readyz (every check passes within 3s; 503 with the failures otherwise) and /metrics.
func AdminHandler(checks map[string]Check) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		names := make([]string, 0, len(checks))
		for n := range checks {
			names = append(names, n)
		}
		sort.Strings(names)
		out, code := map[string]string{}, http.StatusOK
		for _, n := range names {
			if err := checks[n](ctx); err != nil {
				out[n], code = err.Error(), http.StatusServiceUnavailable
			} else {
				out[n] = "ok"
			}
		}
		writeJSON(w, code, out)
	})
	mux.Handle("GET /metrics", Handler())
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// ServeAdmin listens on addr (failing at once if it cannot) and serves h until ctx ends or
// the returned stop function is called.
func ServeAdmin(ctx context.Context, addr string, h http.Handler, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 60 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && log != nil {
			log.Error("admin server stopped", "addr", addr, "error", err)
		}
	}()
	if log != nil {
		log.Info("admin endpoints listening", "addr", ln.Addr().String(), "paths", "/healthz /readyz /metrics")
	}
	sctx, cancel := context.WithCancel(ctx)
	go func() {
		<-sctx.Done()
		shut, c2 := context.WithTimeout(context.Background(), 5*time.Second)
		defer c2()
		_ = srv.Shutdown(shut)
	}()
	return cancel, nil
}
