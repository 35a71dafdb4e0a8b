// Package gateway is SkyDeploy's API (Gin) and the home of the embedded dashboard. It holds no
// state of its own: deployments live in Temporal, projects, aliases and tokens in object
// storage, live logs in Redis.
//
//   - server.go: the Server, its dependencies, Run.
//   - routes.go: every route, health, readiness and the public settings.
//   - deployments.go: start, cancel and redeploy deployments (POST /api/deployments…).
//   - visibility.go: read deployments back from Temporal (status query, memo, visibility lists).
//   - logs.go: a deployment's log as Server-Sent Events, live from Redis or from the archive.
//   - projects.go: create, read, change and delete projects.
//   - project_input.go: validate a project request and merge it into the stored project.
//   - project_actions.go: deploy, roll back, poll, pause and resume a project.
//   - domains.go: custom domains of projects (add, list, verify, remove).
//   - webhooks.go: GitHub push webhooks.
//   - uploads.go: folders deployed from the command line: manifests, contents, deploy.
//   - auth.go, metrics.go, openapi.go, dashboard.go, request.go: tokens and limits, metrics,
//     the OpenAPI description, the dashboard, request decoding.
//
// Its JSON types are internal/api's. Everything it asks of Temporal but reading goes through
// internal/control, branch heads through internal/githead, aliases through internal/aliases.
//
// It must never import the activities, the sandbox or the build cache (go list -deps shows it):
// the gateway runs no build and touches no workspace.
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

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/auth"
	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/control"
	"github.com/skydeploy/skydeploy/internal/githead"
	"github.com/skydeploy/skydeploy/internal/livestatus"
	"github.com/skydeploy/skydeploy/internal/repourl"
	"github.com/skydeploy/skydeploy/internal/storage"
)

// Names the end-to-end tests and benchmarks decode answers with; the types are internal/api's.
type (
	Deployment        = api.Deployment
	StartedDeployment = api.StartedDeployment
	ProjectView       = api.Project
)

// Server is the gateway with its injected clients.
type Server struct {
	cfg       config.Config
	temporal  client.Client
	control   *control.Control
	heads     *githead.Checker
	live      *livestatus.Store
	store     *storage.Store
	log       *slog.Logger
	policy    repourl.Policy
	dashboard fs.FS
	engine    *gin.Engine
	tokens    *auth.Store
	limiter   *deployLimiter
	// manifests caches upload manifests for the content route (uploads.go).
	manifests manifestCache
}

// Deps are the gateway's dependencies.
type Deps struct {
	Config   config.Config
	Temporal client.Client
	// Control starts and steers workflows (nil: one on Temporal with the Config's settings).
	Control   *control.Control
	Live      *livestatus.Store
	Store     *storage.Store
	Log       *slog.Logger
	Dashboard fs.FS // built dashboard (web/dist); nil serves a placeholder page
}

// New builds the gateway and its routes.
func New(d Deps) *Server {
	s := &Server{
		cfg: d.Config, temporal: d.Temporal, control: d.Control, live: d.Live, store: d.Store, log: d.Log, dashboard: d.Dashboard,
		policy: repourl.Policy{
			AllowedHosts: d.Config.AllowedGitHosts, AllowPrivate: d.Config.AllowPrivateGitHosts, AllowInsecure: d.Config.AllowInsecureGit,
		},
		heads: &githead.Checker{
			GitHubAPIURL: d.Config.GitHubAPIURL, GitHubToken: d.Config.GitHubToken, GitCredentials: d.Config.GitCredentials,
			AllowPrivate: d.Config.AllowPrivateGitHosts,
		},
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.control == nil {
		s.control = control.New(d.Temporal, control.SettingsFrom(d.Config), s.log)
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
	c.AbortWithStatusJSON(status, api.Error{Error: msg})
}
