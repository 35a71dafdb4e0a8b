package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/detect"
	"github.com/skydeploy/skydeploy/internal/ids"
	"github.com/skydeploy/skydeploy/internal/projects"
	"github.com/skydeploy/skydeploy/internal/repourl"
	"github.com/skydeploy/skydeploy/workflows"
)

func (s *Server) createDeployment(c *gin.Context) {
	var req api.DeploymentRequest
	if !bindJSON(c, &req, `{"repoUrl": "https://github.com/owner/repo", "branch": "main"}`) {
		return
	}
	in, err := s.deployInput(req)
	if err != nil {
		apiError(c, http.StatusUnprocessableEntity, err.Error())
		return
	}
	in.Trigger = "api"
	if req.Project != "" {
		var ok bool
		if in, ok = s.attachToProject(c, in, req.Project); !ok {
			return
		}
	}
	started, err := s.control.Start(c.Request.Context(), in)
	if err != nil {
		s.log.Error("start deployment", "error", err)
		apiError(c, http.StatusServiceUnavailable, "could not start the deployment: the workflow service is unavailable, try again")
		return
	}
	c.JSON(http.StatusAccepted, started)
}

// deployInput validates a request into a workflow input with a new deployment id.
func (s *Server) deployInput(req api.DeploymentRequest) (workflows.DeployInput, error) {
	repo, err := s.policy.Validate(req.RepoURL)
	if err != nil {
		return workflows.DeployInput{}, err
	}
	branch := strings.TrimSpace(req.Branch)
	if err := repourl.ValidateBranch(branch); err != nil {
		return workflows.DeployInput{}, err
	}
	commit := strings.ToLower(strings.TrimSpace(req.Commit))
	if commit != "" && len(commit) != 40 {
		return workflows.DeployInput{}, errors.New("commit must be a full 40-character SHA")
	}
	if err := repourl.ValidateCommit(commit); err != nil {
		return workflows.DeployInput{}, err
	}
	o := detect.Overrides{RootDir: req.RootDir, InstallCommand: req.InstallCommand, BuildCommand: req.BuildCommand, OutputDir: req.OutputDir}
	if err := validateOverrides(o); err != nil {
		return workflows.DeployInput{}, err
	}
	id := ids.NewDeployment()
	return workflows.DeployInput{
		DeploymentID: id, RepoURL: repo, Branch: branch, Commit: commit, Overrides: o,
		BuildTaskQueue: s.cfg.BuildTaskQueue, URL: s.cfg.SiteURL(id), RequestedAt: time.Now().UTC(),
	}, nil
}

func validateOverrides(o detect.Overrides) error {
	for name, p := range map[string]string{"rootDir": o.RootDir, "outputDir": o.OutputDir} {
		if p == "" {
			continue
		}
		clean := strings.Trim(p, "/")
		if strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || strings.Contains(p, "\x00") || len(p) > 512 {
			return fmt.Errorf("%s must be a relative path inside the repository", name)
		}
		for _, seg := range strings.Split(clean, "/") {
			if seg == ".." {
				return fmt.Errorf("%s must not contain '..'", name)
			}
		}
	}
	for name, cmd := range map[string]string{"installCommand": o.InstallCommand, "buildCommand": o.BuildCommand} {
		if len(cmd) > 1024 || strings.ContainsAny(cmd, "\x00\n\r") {
			return fmt.Errorf("%s must be a single line of at most 1024 characters", name)
		}
	}
	return nil
}

func (s *Server) getDeployment(c *gin.Context) {
	d, ok := s.deploymentParam(c)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, d)
}

func (s *Server) cancelDeployment(c *gin.Context) {
	d, ok := s.deploymentParam(c)
	if !ok {
		return
	}
	id := d.ID
	if d.State != workflows.StateRunning && d.State != workflows.StateQueued && d.State != workflows.StateNeedsAttention {
		apiError(c, http.StatusConflict, "deployment "+id+" has already ended ("+d.State+")")
		return
	}
	if err := s.control.Cancel(c.Request.Context(), id); err != nil {
		s.log.Error("cancel deployment", "deployment", id, "error", err)
		apiError(c, http.StatusServiceUnavailable, "could not cancel: the workflow service is unavailable")
		return
	}
	c.JSON(http.StatusAccepted, api.CanceledDeployment{ID: id})
}

// retryDeployment runs the failed step of a deployment that needs attention again.
func (s *Server) retryDeployment(c *gin.Context) {
	s.signalAttention(c, workflows.SignalRetry, "")
}

// abandonDeployment fails a deployment that needs attention, with the operator's reason.
func (s *Server) abandonDeployment(c *gin.Context) {
	var req api.AbandonRequest
	if c.Request.ContentLength != 0 && !bindJSON(c, &req, `{"reason": "storage will not come back today"}`) {
		return
	}
	if len(req.Reason) > 1000 {
		apiError(c, http.StatusUnprocessableEntity, "the reason is longer than 1000 characters")
		return
	}
	s.signalAttention(c, workflows.SignalAbandon, req.Reason)
}

// signalAttention sends an operator's decision to a deployment that needs attention; any
// other state is a 409 with the state named.
func (s *Server) signalAttention(c *gin.Context, signal, reason string) {
	d, ok := s.deploymentParam(c)
	if !ok {
		return
	}
	if d.State != workflows.StateNeedsAttention {
		apiError(c, http.StatusConflict, "deployment "+d.ID+" does not need attention (it is "+d.State+"): only a deployment waiting for an operator can be retried or abandoned")
		return
	}
	var err error
	if signal == workflows.SignalRetry {
		err = s.control.Retry(c.Request.Context(), d.ID)
	} else {
		err = s.control.Abandon(c.Request.Context(), d.ID, reason)
	}
	if err != nil {
		s.log.Error("signal deployment", "deployment", d.ID, "signal", signal, "error", err)
		apiError(c, http.StatusServiceUnavailable, "could not reach the deployment: the workflow service is unavailable")
		return
	}
	c.JSON(http.StatusAccepted, api.SignaledDeployment{ID: d.ID, Signal: signal})
}

// redeployDeployment deploys the same repository, branch and overrides again under a new id;
// a project's deployment stays its project's (production or the same preview).
func (s *Server) redeployDeployment(c *gin.Context) {
	d, ok := s.deploymentParam(c)
	if !ok {
		return
	}
	if d.Upload != nil {
		s.redeployUpload(c, d) // uploads.go
		return
	}
	in, err := s.deployInput(api.DeploymentRequest{
		RepoURL: d.RepoURL, Branch: d.Branch, RootDir: d.Overrides.RootDir, InstallCommand: d.Overrides.InstallCommand,
		BuildCommand: d.Overrides.BuildCommand, OutputDir: d.Overrides.OutputDir,
	})
	if err != nil {
		apiError(c, http.StatusUnprocessableEntity, err.Error())
		return
	}
	in.Project, in.Production, in.Trigger = d.Project, d.Production, "redeploy"
	if d.Project != "" {
		in.AliasLabels = projects.AliasLabels(d.Project, d.Production, d.Branch)
	}
	started, err := s.control.Start(c.Request.Context(), in)
	if err != nil {
		apiError(c, http.StatusServiceUnavailable, "could not start the deployment: the workflow service is unavailable, try again")
		return
	}
	c.JSON(http.StatusAccepted, started)
}
