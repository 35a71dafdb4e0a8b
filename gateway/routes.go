package gateway

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/auth"
	"github.com/skydeploy/skydeploy/internal/version"
)

// routes registers every route of the gateway; gateway/openapi.yaml describes each of them
// (openapi_test.go compares the two).
func (s *Server) routes() {
	r := s.engine
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, api.Health{Status: "ok"}) })
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", s.metricsHandler())
	a := r.Group("/api", s.security())
	a.GET("/config", s.getConfig)
	a.GET("/token", s.getToken)
	a.GET("/openapi.yaml", s.openAPI)

	a.POST("/deployments", s.rateLimitDeploys(), s.createDeployment)
	a.GET("/deployments", s.listDeployments)
	a.GET("/deployments/:id", s.getDeployment)
	a.GET("/deployments/:id/logs", s.streamLogs)
	a.POST("/deployments/:id/cancel", s.cancelDeployment)
	a.POST("/deployments/:id/retry", s.retryDeployment)
	a.POST("/deployments/:id/abandon", s.abandonDeployment)
	a.POST("/deployments/:id/redeploy", s.rateLimitDeploys(), s.redeployDeployment)

	a.GET("/projects", s.listProjects)
	a.POST("/projects", s.createProject)
	a.GET("/projects/:name", s.getProject)
	a.PUT("/projects/:name", s.updateProject)
	a.DELETE("/projects/:name", s.deleteProject)
	a.GET("/projects/:name/deployments", s.listProjectDeployments)
	a.POST("/projects/:name/deploy", s.deployProject)
	a.POST("/projects/:name/rollback", s.rollbackProject)
	a.POST("/projects/:name/poll", s.pollProject)
	a.POST("/projects/:name/pause", s.pauseProject)
	a.POST("/projects/:name/resume", s.resumeProject)
	a.GET("/projects/:name/domains", s.listDomains)
	a.POST("/projects/:name/domains", s.addDomain)
	a.GET("/projects/:name/domains/:domain", s.getDomain)
	a.DELETE("/projects/:name/domains/:domain", s.removeDomain)
	a.POST("/projects/:name/domains/:domain/verify", s.verifyDomain)

	s.uploadsRoutes(a)

	a.POST("/webhooks/github", s.githubWebhook)
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

// getToken answers who the caller's token is; without required authentication, everyone may
// deploy.
func (s *Server) getToken(c *gin.Context) {
	info := api.TokenInfo{Scope: auth.ScopeDeploy}
	if v, ok := c.Get("token"); ok {
		if tok, ok := v.(*auth.Token); ok && tok != nil {
			info = api.TokenInfo{Name: tok.Name, Scope: tok.Scope}
		}
	}
	c.JSON(http.StatusOK, info)
}

func (s *Server) getConfig(c *gin.Context) {
	c.JSON(http.StatusOK, api.Config{
		BaseDomain:        s.cfg.BaseDomain,
		TemporalUIURL:     s.cfg.TemporalUIURL,
		TemporalNamespace: s.cfg.TemporalNamespace,
		AuthRequired:      s.authRequired(),
		Version:           version.Version,
		Uploads:           s.uploadLimits().API(),
	})
}
