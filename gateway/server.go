// Package gateway is SkyDeploy's API (Gin): it starts, lists, inspects and cancels deployments
// through Temporal, streams live logs from Redis (falling back to the archive in object
// storage), and serves the embedded dashboard. It holds no state of its own.
package gateway

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"

	"github.com/skydeploy/skydeploy/internal/auth"
	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/livestatus"
	"github.com/skydeploy/skydeploy/internal/repourl"
	"github.com/skydeploy/skydeploy/internal/storage"
)

// Server is the gateway with its injected clients.
type Server struct {
	cfg       config.Config
	temporal  client.Client
	live      *livestatus.Store
	store     *storage.Store
	log       *slog.Logger
	policy    repourl.Policy
	dashboard fs.FS
	engine    *gin.Engine
	tokens    *auth.Store
	limiter   *deployLimiter
}

// Deps are the gateway's dependencies.
type Deps struct {
	Config    config.Config
	Temporal  client.Client
	Live      *livestatus.Store
	Store     *storage.Store
	Log       *slog.Logger
	Dashboard fs.FS // built dashboard (web/dist); nil serves a placeholder page
}

// New builds the gateway and its routes.
func New(d Deps) *Server {
	s := &Server{
		cfg: d.Config, temporal: d.Temporal, live: d.Live, store: d.Store, log: d.Log, dashboard: d.Dashboard,
		policy: repourl.Policy{
			AllowedHosts: d.Config.AllowedGitHosts, AllowPrivate: d.Config.AllowPrivateGitHosts, AllowInsecure: d.Config.AllowInsecureGit,
		},
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.tokens = auth.NewStore(d.Store, d.Config.APIToken)
	s.limiter = newDeployLimiter(d.Config.DeployRatePerMinute)
	gin.SetMode(gin.ReleaseMode)
	s.engine = gin.New()
	// Client addresses come from X-Forwarded-For only when the direct peer is a trusted proxy.
	if err := s.engine.SetTrustedProxies(d.Config.TrustedProxies); err != nil {
		s.log.Warn("SKYDEPLOY_TRUSTED_PROXIES", "error", err)
	}
	s.engine.Use(gin.Recovery(), s.observe())
	s.routes()
	return s
}

// Handler is the gateway's HTTP handler.
func (s *Server) Handler() http.Handler { return s.engine }

// Run serves on the configured address until ctx ends, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	srv := &http.Server{
		Addr: s.cfg.GatewayAddr, Handler: s.engine,
		ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	s.log.Info("gateway listening", "addr", s.cfg.GatewayAddr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// apiError writes {"error": msg} with status.
func apiError(c *gin.Context, status int, msg string) {
	c.AbortWithStatusJSON(status, gin.H{"error": msg})
}
