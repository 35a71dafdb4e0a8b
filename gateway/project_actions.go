package gateway

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/temporal"

	"github.com/skydeploy/skydeploy/internal/aliases"
	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/control"
	"github.com/skydeploy/skydeploy/internal/ids"
	"github.com/skydeploy/skydeploy/internal/manifest"
	"github.com/skydeploy/skydeploy/internal/projects"
	"github.com/skydeploy/skydeploy/internal/repourl"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/workflows"
)

// deployProject deploys the production branch's head now, under the same derived id the poller
// and webhooks use, so it never duplicates their deployment. A commit whose derived deployment
// failed is deployed again under a fresh id.
func (s *Server) deployProject(c *gin.Context) {
	_, p, ok := s.withProject(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	head, err := s.heads.Check(hctx, workflows.BranchHeadInput{Project: p.Name, RepoURL: p.RepoURL, Branch: p.Branch()})
	if err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.NonRetryable() {
			apiError(c, http.StatusUnprocessableEntity, appErr.Message())
			return
		}
		apiError(c, http.StatusBadGateway, "could not read the head of branch "+p.Branch()+": "+workflows.Reason(err))
		return
	}
	in := s.control.DeployInput(p, projects.DeployTarget{Branch: p.Branch(), Commit: head.SHA, Production: true, Trigger: "api"})
	if d, err := s.deployment(ctx, in.DeploymentID); err == nil && (d.State == workflows.StateFailed || d.State == workflows.StateCanceled) {
		in = s.control.NewDeploymentID(in)
	}
	started, err := s.control.Start(ctx, in)
	if err != nil {
		s.log.Error("start project deployment", "project", p.Name, "error", err)
		apiError(c, http.StatusServiceUnavailable, "could not start the deployment: the workflow service is unavailable, try again")
		return
	}
	c.JSON(http.StatusAccepted, started)
}

// rollbackProject points the project's alias back at an earlier successful deployment of the
// project, without rebuilding: one object write, like publishing.
func (s *Server) rollbackProject(c *gin.Context) {
	var req api.RollbackRequest
	if err := c.ShouldBindJSON(&req); err != nil || req.DeploymentID == "" {
		apiError(c, http.StatusBadRequest, `request body must be JSON like {"deploymentId": "..."}`)
		return
	}
	ps, p, ok := s.withProject(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	id := req.DeploymentID
	if !ids.IsDeployment(id) {
		apiError(c, http.StatusUnprocessableEntity, id+" is not a deployment id")
		return
	}
	data, err := s.store.GetBytes(ctx, storage.ManifestKey(id), 256<<20)
	if errors.Is(err, storage.ErrNotFound) {
		apiError(c, http.StatusUnprocessableEntity, "deployment "+id+" has no published files (it did not succeed, or retention removed it)")
		return
	}
	if err != nil {
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return
	}
	m, err := manifest.Parse(data)
	if err != nil {
		apiError(c, http.StatusUnprocessableEntity, "deployment "+id+" has an unreadable manifest")
		return
	}
	if m.Project != p.Name {
		apiError(c, http.StatusUnprocessableEntity, "deployment "+id+" is not a deployment of project "+p.Name)
		return
	}
	if s.aliasTarget(ctx, p.Name) == id {
		apiError(c, http.StatusConflict, "deployment "+id+" is already live for "+p.Name)
		return
	}
	if err := aliases.Move(ctx, s.store, p.Name, p.Name, id, aliases.ReasonRollback); err != nil {
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return
	}
	s.log.Info("project rolled back", "project", p.Name, "deployment", id)
	c.JSON(http.StatusOK, s.view(ctx, ps, p))
}

// watchedProject is withProject for actions on the poll schedule: an unwatched project has
// none (409).
func (s *Server) watchedProject(c *gin.Context) (*projects.Store, *projects.Project, bool) {
	ps, p, ok := s.withProject(c)
	if ok && !p.Watch.Enabled {
		apiError(c, http.StatusConflict, "project "+p.Name+" is not watched: enable watch first")
		return nil, nil, false
	}
	return ps, p, ok
}

func (s *Server) pollProject(c *gin.Context) {
	_, p, ok := s.watchedProject(c)
	if !ok {
		return
	}
	id, err := s.control.TriggerPoll(c.Request.Context(), p.Name)
	if err != nil {
		s.scheduleError(c, p.Name, err)
		return
	}
	c.JSON(http.StatusAccepted, api.PollAnswer{OK: true, Schedule: id})
}

func (s *Server) pauseProject(c *gin.Context)  { s.setPaused(c, true) }
func (s *Server) resumeProject(c *gin.Context) { s.setPaused(c, false) }

func (s *Server) setPaused(c *gin.Context, paused bool) {
	ps, p, ok := s.watchedProject(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	if err := s.control.SetPaused(ctx, p, paused); err != nil {
		s.scheduleError(c, p.Name, err)
		return
	}
	p.Watch.Paused = paused
	p.UpdatedAt = time.Now().UTC()
	if err := ps.Put(ctx, p); err != nil {
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return
	}
	c.JSON(http.StatusOK, s.view(ctx, ps, p))
}

func (s *Server) scheduleError(c *gin.Context, project string, err error) {
	if errors.Is(err, control.ErrNoSchedule) {
		apiError(c, http.StatusConflict, "project "+project+" has no poll schedule: save the project to recreate it")
		return
	}
	s.log.Error("poll schedule", "project", project, "error", err)
	apiError(c, http.StatusServiceUnavailable, "the workflow service is unavailable, try again")
}

// attachToProject makes a deployment started from POST /api/deployments with a "project" belong
// to that project: its settings apply unless the request overrides them, a deployment of the
// production branch goes live at the project's URL, other branches deploy as previews. The
// repository must be the project's.
func (s *Server) attachToProject(c *gin.Context, in workflows.DeployInput, name string) (workflows.DeployInput, bool) {
	p, ok := s.namedProject(c, name) // uploads.go
	if !ok {
		return in, false
	}
	if !repourl.SameRepository(in.RepoURL, p.RepoURL) {
		apiError(c, http.StatusUnprocessableEntity, "project "+name+" deploys "+p.RepoURL+", not "+in.RepoURL)
		return in, false
	}
	production := in.Branch == "" || in.Branch == p.Branch()
	out := s.control.DeployInput(p, projects.DeployTarget{Branch: in.Branch, Commit: in.Commit, Production: production, Trigger: "api"})
	if in.Commit == "" {
		// Without a commit the id cannot derive from it: every click is its own deployment.
		out.DeploymentID, out.URL = in.DeploymentID, in.URL
	}
	for _, o := range []struct{ req, dst *string }{
		{&in.Overrides.RootDir, &out.Overrides.RootDir}, {&in.Overrides.InstallCommand, &out.Overrides.InstallCommand},
		{&in.Overrides.BuildCommand, &out.Overrides.BuildCommand}, {&in.Overrides.OutputDir, &out.Overrides.OutputDir},
	} {
		if *o.req != "" {
			*o.dst = *o.req
		}
	}
	return out, true
}
