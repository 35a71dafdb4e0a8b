package gateway

import (
	"context"
	"encoding/base64"
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
	"go.temporal.io/sdk/converter"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/ids"
	"github.com/skydeploy/skydeploy/workflows"
)

var errNotFound = errors.New("not found")

// deploymentParam looks up the deployment named by the route's :id, answering 404 or 503
// itself when it cannot.
func (s *Server) deploymentParam(c *gin.Context) (api.Deployment, bool) {
	id := c.Param("id")
	if !ids.IsDeployment(id) {
		apiError(c, http.StatusNotFound, "deployment "+id+" not found")
		return api.Deployment{}, false
	}
	d, err := s.deployment(c.Request.Context(), id)
	if err != nil {
		s.writeLookupError(c, id, err)
		return api.Deployment{}, false
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
func (s *Server) deployment(ctx context.Context, id string) (api.Deployment, error) {
	wid := ids.WorkflowID(id)
	desc, err := s.temporal.DescribeWorkflowExecution(ctx, wid, "")
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return api.Deployment{}, errNotFound
		}
		return api.Deployment{}, err
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
func (s *Server) fromExecution(info *workflowpb.WorkflowExecutionInfo) api.Deployment {
	wid := info.GetExecution().GetWorkflowId()
	d := api.Deployment{WorkflowID: wid, RunID: info.GetExecution().GetRunId()}
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
func applyCloseStatus(d *api.Deployment, info *workflowpb.WorkflowExecutionInfo) {
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

// isLive reports whether a deployment is what its project's alias points at. Without projects
// it is always false.
func (s *Server) isLive(ctx context.Context, st workflows.DeploymentStatus) bool {
	if st.Project == "" || s.store == nil {
		return false
	}
	return s.aliasTarget(ctx, st.Project) == st.ID
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
		case workflows.StateNeedsAttention:
			query += fmt.Sprintf(" AND ExecutionStatus = 'Running' AND %s = '%s'", workflows.AttrStatus.GetName(), workflows.StateNeedsAttention)
		case workflows.StateSucceeded:
			query += " AND ExecutionStatus = 'Completed'"
		case workflows.StateFailed:
			query += " AND ExecutionStatus IN ('Failed', 'Terminated', 'TimedOut')"
		case workflows.StateCanceled:
			query += " AND ExecutionStatus = 'Canceled'"
		default:
			apiError(c, http.StatusBadRequest, "status must be running, needs_attention, succeeded, failed or canceled")
			return
		}
	}
	list, err := s.listByQuery(c.Request.Context(), query, size, c.Query("pageToken"))
	if err != nil {
		s.log.Error("list deployments", "error", err)
		apiError(c, http.StatusServiceUnavailable, "the workflow service is unavailable, try again")
		return
	}
	c.JSON(http.StatusOK, list)
}

// listByQuery lists deployments from Temporal visibility, newest first.
func (s *Server) listByQuery(ctx context.Context, query string, size int, token string) (api.DeploymentList, error) {
	resp, err := s.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: s.cfg.TemporalNamespace, PageSize: int32(size), NextPageToken: decodeToken(token), Query: query,
	})
	if err != nil {
		return api.DeploymentList{}, err
	}
	deps := make([]api.Deployment, 0, len(resp.GetExecutions()))
	for _, info := range currentRuns(resp.GetExecutions()) {
		deps = append(deps, s.fromExecution(info))
	}
	return api.DeploymentList{Deployments: deps, NextPageToken: encodeToken(resp.GetNextPageToken())}, nil
}

// currentRuns keeps one run per workflow id, in the order given: an operator's reset in the
// Temporal UI leaves the old run beside the new one, and the deployment is the newest run (the
// running one, else the last to close).
func currentRuns(in []*workflowpb.WorkflowExecutionInfo) []*workflowpb.WorkflowExecutionInfo {
	best := map[string]*workflowpb.WorkflowExecutionInfo{}
	newer := func(a, b *workflowpb.WorkflowExecutionInfo) bool {
		ar, br := a.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, b.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
		if ar != br {
			return ar
		}
		return a.GetCloseTime().AsTime().After(b.GetCloseTime().AsTime())
	}
	for _, info := range in {
		wid := info.GetExecution().GetWorkflowId()
		if cur, ok := best[wid]; !ok || newer(info, cur) {
			best[wid] = info
		}
	}
	out := make([]*workflowpb.WorkflowExecutionInfo, 0, len(best))
	for _, info := range in {
		if best[info.GetExecution().GetWorkflowId()] == info {
			out = append(out, info)
		}
	}
	return out
}

func encodeToken(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil
	}
	return b
}
