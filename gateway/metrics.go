package gateway

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/skydeploy/skydeploy/internal/metrics"
)

// observe records every request in the Prometheus series (by route pattern, method and
// status: never the raw path, so deployment ids make no new series) and writes one access log
// line per request, carrying deployment=<id> (and project=<name>) when the route names one,
// so JSON logs (SKYDEPLOY_LOG_FORMAT=json) can be filtered by deployment.
func (s *Server) observe() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		d := time.Since(start)
		route := c.FullPath()
		if route == "" {
			route = "unmatched" // the dashboard's files and unknown paths
			if strings.HasPrefix(c.Request.URL.Path, "/api/") {
				route = "/api/unknown"
			}
		}
		status := c.Writer.Status()
		metrics.ObserveRequest(metricMethod(c.Request.Method), route, status, d)
		p := c.Request.URL.Path
		if p == "/healthz" || p == "/metrics" {
			return
		}
		attrs := []any{"method", c.Request.Method, "path", p, "route", route, "status", status,
			"duration_ms", d.Milliseconds(), "client", c.ClientIP()}
		if id := c.Param("id"); id != "" {
			attrs = append(attrs, "deployment", id)
		}
		if name := c.Param("name"); name != "" {
			attrs = append(attrs, "project", name)
		}
		if status >= 500 {
			s.log.Warn("request", attrs...)
			return
		}
		s.log.Info("request", attrs...)
	}
}

// metricMethod bounds the method label to the methods HTTP defines.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// metricsHandler serves the process's Prometheus metrics: the gateway's requests, deployments
// started, the build queue depth and the Temporal client's series.
func (s *Server) metricsHandler() gin.HandlerFunc { return gin.WrapH(metrics.Handler()) }

// WatchBuildQueue samples the build task queue's backlog every 15s into the
// skydeploy_build_queue_backlog gauge until ctx ends (best effort).
func (s *Server) WatchBuildQueue(ctx context.Context) {
	if s.temporal == nil {
		return
	}
	metrics.WatchBuildQueue(ctx, s.temporal, s.cfg.TemporalNamespace, s.cfg.BuildTaskQueue, 15*time.Second, s.log)
}
