package gateway

import (
	"context"

	"github.com/gin-gonic/gin"
)

// extraRoutes registers project, webhook and auth routes.
func (s *Server) extraRoutes(api *gin.RouterGroup) {}

// authRequired reports whether API calls need a token.
func (s *Server) authRequired() bool { return s.cfg.RequireAuth || s.cfg.APIToken != "" }

// aliasLabels are the host labels a project deployment moves when it publishes.
func (s *Server) aliasLabels(project string, production bool, branch string) []string {
	if production {
		return []string{project}
	}
	return nil
}

// aliasTarget returns the deployment a project's alias points at, or "".
func (s *Server) aliasTarget(ctx context.Context, project string) string { return "" }
