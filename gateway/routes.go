package gateway

import (
	"context"
	"github.com/skydeploy/skydeploy/internal/version"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

func (s *Server) routes() {
	r := s.engine
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", s.metricsHandler())
	api := r.Group("/api", s.security())
	api.GET("/config", s.getConfig)
	api.GET("/openapi.yaml", s.openAPI)
	api.POST("/deployments", s.rateLimitDeploys(), s.createDeployment)
	api.GET("/deployments", s.listDeployments)
	api.GET("/deployments/:id", s.getDeployment)
	api.GET("/deployments/:id/logs", s.streamLogs)
	api.POST("/deployments/:id/cancel", s.cancelDeployment)
	api.POST("/deployments/:id/redeploy", s.rateLimitDeploys(), s.redeployDeployment)
	s.extraRoutes(api)
	r.NoRoute(s.dashboardHandler())
}

func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	if _, err := s.temporal.CheckHealth(ctx, nil); err != nil {
		checks["temporal"], ok = err.Error(), false
	} else {
		checks["temporal"] = "ok"
	}
	if err := s.store.Ping(ctx); err != nil {
		checks["storage"], ok = err.Error(), false
	} else {
		checks["storage"] = "ok"
	}
	// Redis is reported but does not make the gateway unready: the live view degrades.
	if s.live == nil {
		checks["redis"] = "disabled"
	} else if err := s.live.Ping(ctx); err != nil {
		checks["redis"] = "degraded: " + err.Error()
	} else {
		checks["redis"] = "ok"
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	c.JSON(status, checks)
}

func (s *Server) getConfig(c *gin.Context) {
	c.JSON(http.StatusOK, map[string]any{
		"baseDomain":        s.cfg.BaseDomain,
		"temporalUIURL":     s.cfg.TemporalUIURL,
		"temporalNamespace": s.cfg.TemporalNamespace,
		"authRequired":      s.authRequired(),
		"version":           version.Version,
	})
}
