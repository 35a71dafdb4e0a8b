package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/skydeploy/skydeploy/internal/aliases"
	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/ids"
	"github.com/skydeploy/skydeploy/internal/projects"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/workflows"
)

func (s *Server) projectStore() (*projects.Store, error) {
	return projects.NewStore(s.store, s.cfg.SecretKey)
}

// withProject loads the project named in the path, answering 404 or 503 itself.
func (s *Server) withProject(c *gin.Context) (*projects.Store, *projects.Project, bool) {
	name := c.Param("name")
	ps, err := s.projectStore()
	if err != nil {
		apiError(c, http.StatusInternalServerError, err.Error())
		return nil, nil, false
	}
	if ids.ValidateProject(name) != nil {
		apiError(c, http.StatusNotFound, "project "+name+" not found")
		return nil, nil, false
	}
	p, err := ps.Get(c.Request.Context(), name)
	if errors.Is(err, projects.ErrNotFound) {
		apiError(c, http.StatusNotFound, "project "+name+" not found")
		return nil, nil, false
	}
	if err != nil {
		s.log.Error("read project", "project", name, "error", err)
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return nil, nil, false
	}
	return ps, p, true
}

// view is the API's view of a project: environment values masked, URLs resolved, the
// deployment its alias points at.
func (s *Server) view(ctx context.Context, ps *projects.Store, p *projects.Project) api.Project {
	return api.Project{
		Name: p.Name, RepoURL: p.RepoURL, ProductionBranch: p.Branch(), RootDir: p.RootDir,
		InstallCommand: p.InstallCommand, BuildCommand: p.BuildCommand, OutputDir: p.OutputDir,
		Env: envView(ps.Masked(p)),
		Watch: api.Watch{
			Enabled: p.Watch.Enabled, Interval: s.control.Interval(p).String(), Paused: p.Watch.Paused, Previews: p.Watch.Previews,
		},
		URL: s.cfg.SiteURL(p.Name), LiveDeploymentID: s.aliasTarget(ctx, p.Name), CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
}

// aliasTarget returns the deployment a label's alias points at, or "".
func (s *Server) aliasTarget(ctx context.Context, label string) string {
	if s.store == nil {
		return ""
	}
	a, err := aliases.Read(ctx, s.store, label)
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			s.log.Warn("read alias", "label", label, "error", err)
		}
		return ""
	}
	return a.DeploymentID
}

func (s *Server) listProjects(c *gin.Context) {
	ps, err := s.projectStore()
	if err != nil {
		apiError(c, http.StatusInternalServerError, err.Error())
		return
	}
	list, err := ps.List(c.Request.Context())
	if err != nil {
		s.log.Error("list projects", "error", err)
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return
	}
	out := api.ProjectList{Projects: make([]api.Project, 0, len(list))}
	for _, p := range list {
		out.Projects = append(out.Projects, s.view(c.Request.Context(), ps, p))
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) getProject(c *gin.Context) {
	ps, p, ok := s.withProject(c)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, s.view(c.Request.Context(), ps, p))
}

func (s *Server) createProject(c *gin.Context) {
	var req api.ProjectInput
	if err := c.ShouldBindJSON(&req); err != nil {
		apiError(c, http.StatusBadRequest, `request body must be JSON like {"name": "my-site", "repoUrl": "https://github.com/owner/repo"}`)
		return
	}
	ps, err := s.projectStore()
	if err != nil {
		apiError(c, http.StatusInternalServerError, err.Error())
		return
	}
	if req.Name == nil {
		apiError(c, http.StatusUnprocessableEntity, "name is required")
		return
	}
	name := strings.TrimSpace(*req.Name)
	if err := ids.ValidateProject(name); err != nil {
		apiError(c, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if req.RepoURL == nil {
		apiError(c, http.StatusUnprocessableEntity, "repoUrl is required")
		return
	}
	ctx := c.Request.Context()
	exists, err := ps.Exists(ctx, name)
	if err != nil {
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return
	}
	if exists {
		apiError(c, http.StatusConflict, "project "+name+" already exists")
		return
	}
	now := time.Now().UTC()
	// A project redeploys itself unless told otherwise.
	p := &projects.Project{Name: name, ProductionBranch: projects.DefaultBranch, CreatedAt: now, UpdatedAt: now,
		Watch: projects.Watch{Enabled: true}}
	if err := s.apply(ps, p, req); err != nil {
		s.writeProjectError(c, err)
		return
	}
	if err := ps.Put(ctx, p); err != nil {
		s.log.Error("write project", "project", name, "error", err)
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return
	}
	if err := s.control.SyncSchedule(ctx, p, true); err != nil {
		s.log.Error("create poll schedule", "project", name, "error", err)
		apiError(c, http.StatusServiceUnavailable, "project saved, but its poll schedule could not be created (workflow service unavailable): save it again to retry")
		return
	}
	c.JSON(http.StatusCreated, s.view(ctx, ps, p))
}

func (s *Server) updateProject(c *gin.Context) {
	var req api.ProjectInput
	if err := c.ShouldBindJSON(&req); err != nil {
		apiError(c, http.StatusBadRequest, "request body must be a JSON object")
		return
	}
	ps, p, ok := s.withProject(c)
	if !ok {
		return
	}
	if req.Name != nil && *req.Name != p.Name {
		apiError(c, http.StatusUnprocessableEntity, "a project cannot be renamed")
		return
	}
	if err := s.apply(ps, p, req); err != nil {
		s.writeProjectError(c, err)
		return
	}
	p.UpdatedAt = time.Now().UTC()
	ctx := c.Request.Context()
	if err := ps.Put(ctx, p); err != nil {
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return
	}
	if err := s.control.SyncSchedule(ctx, p, false); err != nil {
		s.log.Error("update poll schedule", "project", p.Name, "error", err)
		apiError(c, http.StatusServiceUnavailable, "project saved, but its poll schedule could not be updated (workflow service unavailable): save it again to retry")
		return
	}
	c.JSON(http.StatusOK, s.view(ctx, ps, p))
}

// deleteProject removes the poll schedule, the project's aliases and settings, then purges its
// deployments (manifests, sources, artifacts, logs, and blobs no other deployment uses) through
// the retention workflow. Deployment workflow histories stay in Temporal until its own retention.
func (s *Server) deleteProject(c *gin.Context) {
	ps, p, ok := s.withProject(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	if err := s.control.DeleteSchedule(ctx, p.Name); err != nil {
		s.log.Error("delete poll schedule", "project", p.Name, "error", err)
		apiError(c, http.StatusServiceUnavailable, "could not delete the poll schedule: the workflow service is unavailable, try again")
		return
	}
	if err := s.removeProjectDomains(ctx, p.Name); err != nil {
		apiError(c, http.StatusServiceUnavailable, err.Error())
		return
	}
	if err := aliases.DeleteProject(ctx, s.store, p.Name); err != nil {
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return
	}
	if err := ps.Delete(ctx, p.Name); err != nil {
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return
	}
	if err := s.control.PurgeProject(ctx, p.Name); err != nil {
		s.log.Warn("purge of deleted project's deployments not started", "project", p.Name, "error", err)
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) listProjectDeployments(c *gin.Context) {
	if _, _, ok := s.withProject(c); !ok {
		return
	}
	name := c.Param("name")
	size := 20
	if n, err := fmt.Sscanf(c.DefaultQuery("pageSize", "20"), "%d", &size); n != 1 || err != nil || size < 1 || size > 100 {
		size = 20
	}
	query := fmt.Sprintf("WorkflowType = '%s' AND %s = '%s'", workflows.DeployWorkflowName, workflows.AttrProject.GetName(), name)
	list, err := s.listByQuery(c.Request.Context(), query, size, c.Query("pageToken"))
	if err != nil {
		s.log.Error("list project deployments", "project", name, "error", err)
		apiError(c, http.StatusServiceUnavailable, "the workflow service is unavailable, try again")
		return
	}
	live := s.aliasTarget(c.Request.Context(), name)
	for i := range list.Deployments {
		list.Deployments[i].Live = live != "" && list.Deployments[i].ID == live
	}
	c.JSON(http.StatusOK, list)
}
