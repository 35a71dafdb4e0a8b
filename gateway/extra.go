package gateway

import (
	"context"
	"errors"

	"github.com/gin-gonic/gin"

	"github.com/skydeploy/skydeploy/internal/manifest"
	"github.com/skydeploy/skydeploy/internal/projects"
	"github.com/skydeploy/skydeploy/internal/storage"
)

// extraRoutes registers project, webhook and auth routes.
func (s *Server) extraRoutes(api *gin.RouterGroup) {
	api.GET("/projects", s.listProjects)
	api.POST("/projects", s.createProject)
	api.GET("/projects/:name", s.getProject)
	api.PUT("/projects/:name", s.updateProject)
	api.DELETE("/projects/:name", s.deleteProject)
	api.GET("/projects/:name/deployments", s.listProjectDeployments)
	api.POST("/projects/:name/deploy", s.deployProject)
	api.POST("/projects/:name/rollback", s.rollbackProject)
	api.POST("/projects/:name/poll", s.pollProject)
	api.POST("/projects/:name/pause", s.pauseProject)
	api.POST("/projects/:name/resume", s.resumeProject)
	api.POST("/webhooks/github", s.githubWebhook)
}

// authRequired reports whether API calls need a token.
func (s *Server) authRequired() bool { return s.cfg.RequireAuth || s.cfg.APIToken != "" }

// aliasLabels are the host labels a project deployment moves when it publishes: the project
// for production, "<project>--<branch-slug>" for branch previews.
func (s *Server) aliasLabels(project string, production bool, branch string) []string {
	return projects.AliasLabels(project, production, branch)
}

// aliasTarget returns the deployment a project's alias points at, or "".
func (s *Server) aliasTarget(ctx context.Context, project string) string {
	a, err := s.readAlias(ctx, project)
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			s.log.Warn("read alias", "label", project, "error", err)
		}
		return ""
	}
	return a.DeploymentID
}

func (s *Server) readAlias(ctx context.Context, label string) (*manifest.Alias, error) {
	if s.store == nil {
		return nil, storage.ErrNotFound
	}
	data, err := s.store.GetBytes(ctx, storage.AliasKey(label), 1<<20)
	if err != nil {
		return nil, err
	}
	return manifest.ParseAlias(data)
}
