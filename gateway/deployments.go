package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/skydeploy/skydeploy/activities"
	"github.com/skydeploy/skydeploy/internal/detect"
	"github.com/skydeploy/skydeploy/internal/ids"
	"github.com/skydeploy/skydeploy/internal/repourl"
	"github.com/skydeploy/skydeploy/workflows"
)

// DeploymentRequest is the body of POST /api/deployments.
type DeploymentRequest struct {
	RepoURL        string `json:"repoUrl"`
	Branch         string `json:"branch"`
	Commit         string `json:"commit"`
	Project        string `json:"project"`
	RootDir        string `json:"rootDir"`
	InstallCommand string `json:"installCommand"`
	BuildCommand   string `json:"buildCommand"`
	OutputDir      string `json:"outputDir"`
}

// Deployment is the API's view of a deployment.
type Deployment struct {
	workflows.DeploymentStatus
	WorkflowID  string `json:"workflowId"`
	RunID       string `json:"runId,omitempty"`
	TemporalURL string `json:"temporalUrl"`
	Live        bool   `json:"live,omitempty"`
}

// StartedDeployment answers a request that started a deployment.
type StartedDeployment struct {
	ID         string `json:"id"`
	URL        string `json:"url"`
	WorkflowID string `json:"workflowId"`
}

func (s *Server) createDeployment(c *gin.Context) {
	var req DeploymentRequest
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
	started, err := s.StartDeployment(c.Request.Context(), in)
	if err != nil {
		s.log.Error("start deployment", "error", err)
		apiError(c, http.StatusServiceUnavailable, "could not start the deployment: the workflow service is unavailable, try again")
		return
	}
	if in.Production && in.Project != "" {
		if err := activities.SignalRetention(c.Request.Context(), s.temporal, s.cfg.TaskQueue, in.Project, s.cfg.KeepDeployments, started.WorkflowID); err != nil {
			s.log.Warn("retention not signalled", "project", in.Project, "error", err)
		}
	}
	c.JSON(http.StatusAccepted, started)
}

// deployInput validates a request into a workflow input with a new deployment id.
func (s *Server) deployInput(req DeploymentRequest) (workflows.DeployInput, error) {
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

// StartDeployment starts the deployment workflow. A second start with the same deployment id
// (derived ids of poll and webhook triggers) returns the running or finished one.
func (s *Server) StartDeployment(ctx context.Context, in workflows.DeployInput) (StartedDeployment, error) {
	wid := ids.WorkflowID(in.DeploymentID)
	_, err := s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       wid,
		TaskQueue:                s.cfg.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowExecutionTimeout: 3 * time.Hour,
		TypedSearchAttributes:    temporalAttrs(in),
		Memo:                     map[string]any{workflows.MemoKey: initialStatus(in)},
	}, workflows.DeployWorkflowName, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &already) {
		return StartedDeployment{}, err
	}
	return StartedDeployment{ID: in.DeploymentID, URL: in.URL, WorkflowID: wid}, nil
}

func (s *Server) getDeployment(c *gin.Context) {
	d, ok := s.deploymentParam(c)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, d)
}

var errNotFound = errors.New("not found")

// deploymentParam looks up the deployment named by the route's :id, answering 404 or 503
// itself when it cannot.
func (s *Server) deploymentParam(c *gin.Context) (Deployment, bool) {
	id := c.Param("id")
	if !ids.IsDeployment(id) {
		apiError(c, http.StatusNotFound, "deployment "+id+" not found")
		return Deployment{}, false
	}
	d, err := s.deployment(c.Request.Context(), id)
	if err != nil {
		s.writeLookupError(c, id, err)
		return Deployment{}, false
	}
	return d, true
}

func (s *Server) writeLookupError(c *gin.Context, id string, err error) {
	if errors.Is(err, errNotFound) {
		apiError(c, http.StatusNotFound, "deployment "+id+" not found")
		return
	}
	s.log.Error("look up deployment", "deployment", id, "error", err)
	apiError(c, http.StatusServiceUnavailable, "the workflow service is unavailable, try again")
}

// deployment reads a deployment's status from Temporal: the workflow's status query while a
// worker can answer it, else the memo and execution state.
func (s *Server) deployment(ctx context.Context, id string) (Deployment, error) {
	wid := ids.WorkflowID(id)
	desc, err := s.temporal.DescribeWorkflowExecution(ctx, wid, "")
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return Deployment{}, errNotFound
		}
		return Deployment{}, err
	}
	info := desc.GetWorkflowExecutionInfo()
	d := s.fromExecution(info)
	qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if v, err := s.temporal.QueryWorkflow(qctx, wid, "", workflows.StatusQuery); err == nil {
		var st workflows.DeploymentStatus
		if err := v.Get(&st); err == nil {
			d.DeploymentStatus = st
			applyCloseStatus(&d, info)
		}
	}
	d.Live = s.isLive(ctx, d.DeploymentStatus)
	return d, nil
}

// fromExecution builds a Deployment from visibility data (memo and execution status).
func (s *Server) fromExecution(info *workflowpb.WorkflowExecutionInfo) Deployment {
	wid := info.GetExecution().GetWorkflowId()
	d := Deployment{WorkflowID: wid, RunID: info.GetExecution().GetRunId()}
	if p, ok := info.GetMemo().GetFields()[workflows.MemoKey]; ok {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &d.DeploymentStatus)
	}
	if d.ID == "" {
		d.ID = ids.FromWorkflowID(wid)
	}
	if d.URL == "" {
		d.URL = s.cfg.SiteURL(d.ID)
	}
	if d.CreatedAt.IsZero() && info.GetStartTime() != nil {
		d.CreatedAt = info.GetStartTime().AsTime()
	}
	if len(d.Steps) == 0 {
		for _, st := range workflows.AllSteps {
			d.Steps = append(d.Steps, workflows.StepState{Name: st, State: workflows.StepPending})
		}
	}
	applyCloseStatus(&d, info)
	d.TemporalURL = fmt.Sprintf("%s/namespaces/%s/workflows/%s", strings.TrimRight(s.cfg.TemporalUIURL, "/"), s.cfg.TemporalNamespace, wid)
	if d.RunID != "" {
		d.TemporalURL += "/" + d.RunID + "/history"
	}
	return d
}

// applyCloseStatus makes the execution's own status win over the memo for ended workflows
// (a terminated or timed-out workflow never wrote its final memo).
func applyCloseStatus(d *Deployment, info *workflowpb.WorkflowExecutionInfo) {
	switch info.GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		if d.State == "" || d.State == workflows.StateQueued {
			d.State = workflows.StateRunning
		}
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		d.State = workflows.StateSucceeded
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		d.State = workflows.StateCanceled
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		d.State = workflows.StateFailed
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		d.State = workflows.StateFailed
		if d.Error == "" {
			d.Error = "deployment was terminated by an operator"
		}
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		d.State = workflows.StateFailed
		if d.Error == "" {
			d.Error = "deployment timed out"
		}
	}
	if d.FinishedAt == nil && info.GetCloseTime() != nil && info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t := info.GetCloseTime().AsTime()
		d.FinishedAt = &t
	}
}

func (s *Server) listDeployments(c *gin.Context) {
	size, _ := strconv.Atoi(c.DefaultQuery("pageSize", "20"))
	if size < 1 || size > 100 {
		size = 20
	}
	query := fmt.Sprintf("WorkflowType = '%s'", workflows.DeployWorkflowName)
	if p := c.Query("project"); p != "" {
		if err := ids.ValidateProject(p); err != nil {
			apiError(c, http.StatusBadRequest, err.Error())
			return
		}
		query += fmt.Sprintf(" AND %s = '%s'", workflows.AttrProject.GetName(), p)
	}
	if st := c.Query("status"); st != "" {
		switch st {
		case workflows.StateRunning:
			query += " AND ExecutionStatus = 'Running'"
		case workflows.StateSucceeded:
			query += " AND ExecutionStatus = 'Completed'"
		case workflows.StateFailed:
			query += " AND ExecutionStatus IN ('Failed', 'Terminated', 'TimedOut')"
		case workflows.StateCanceled:
			query += " AND ExecutionStatus = 'Canceled'"
		default:
			apiError(c, http.StatusBadRequest, "status must be running, succeeded, failed or canceled")
			return
		}
	}
	deps, next, err := s.listByQuery(c.Request.Context(), query, size, c.Query("pageToken"))
	if err != nil {
		s.log.Error("list deployments", "error", err)
		apiError(c, http.StatusServiceUnavailable, "the workflow service is unavailable, try again")
		return
	}
	c.JSON(http.StatusOK, gin.H{"deployments": deps, "nextPageToken": next})
}

// listByQuery lists deployments from Temporal visibility, newest first.
func (s *Server) listByQuery(ctx context.Context, query string, size int, token string) ([]Deployment, string, error) {
	resp, err := s.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: s.cfg.TemporalNamespace, PageSize: int32(size), NextPageToken: decodeToken(token), Query: query,
	})
	if err != nil {
		return nil, "", err
	}
	deps := make([]Deployment, 0, len(resp.GetExecutions()))
	for _, info := range resp.GetExecutions() {
		d := s.fromExecution(info)
		deps = append(deps, d)
	}
	return deps, encodeToken(resp.GetNextPageToken()), nil
}

func (s *Server) cancelDeployment(c *gin.Context) {
	d, ok := s.deploymentParam(c)
	if !ok {
		return
	}
	id := d.ID
	if d.State != workflows.StateRunning && d.State != workflows.StateQueued {
		apiError(c, http.StatusConflict, "deployment "+id+" has already ended ("+d.State+")")
		return
	}
	if err := s.temporal.CancelWorkflow(c.Request.Context(), ids.WorkflowID(id), ""); err != nil {
		s.log.Error("cancel deployment", "deployment", id, "error", err)
		apiError(c, http.StatusServiceUnavailable, "could not cancel: the workflow service is unavailable")
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"id": id})
}

func (s *Server) redeployDeployment(c *gin.Context) {
	d, ok := s.deploymentParam(c)
	if !ok {
		return
	}
	in, err := s.deployInput(DeploymentRequest{
		RepoURL: d.RepoURL, Branch: d.Branch, RootDir: d.Overrides.RootDir, InstallCommand: d.Overrides.InstallCommand,
		BuildCommand: d.Overrides.BuildCommand, OutputDir: d.Overrides.OutputDir,
	})
	if err != nil {
		apiError(c, http.StatusUnprocessableEntity, err.Error())
		return
	}
	in.Project, in.Production, in.Trigger = d.Project, d.Production, "redeploy"
	if d.Project != "" {
		in.AliasLabels = s.aliasLabels(d.Project, d.Production, d.Branch)
	}
	started, err := s.StartDeployment(c.Request.Context(), in)
	if err != nil {
		apiError(c, http.StatusServiceUnavailable, "could not start the deployment: the workflow service is unavailable, try again")
		return
	}
	c.JSON(http.StatusAccepted, started)
}

func temporalAttrs(in workflows.DeployInput) (sa temporalSearchAttributes) {
	return newSearchAttributes(in)
}

func initialStatus(in workflows.DeployInput) workflows.DeploymentStatus {
	steps := make([]workflows.StepState, 0, len(workflows.AllSteps))
	for _, st := range workflows.AllSteps {
		steps = append(steps, workflows.StepState{Name: st, State: workflows.StepPending})
	}
	return workflows.DeploymentStatus{
		ID: in.DeploymentID, State: workflows.StateQueued, Steps: steps, RepoURL: in.RepoURL, Branch: in.Branch,
		Project: in.Project, Production: in.Production, URL: in.URL, CreatedAt: in.RequestedAt, Trigger: in.Trigger, Overrides: in.Overrides,
	}
}
