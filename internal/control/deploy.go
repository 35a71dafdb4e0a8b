package control

import (
	"context"
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/detect"
	"github.com/skydeploy/skydeploy/internal/ids"
	"github.com/skydeploy/skydeploy/internal/projects"
	"github.com/skydeploy/skydeploy/workflows"
)

// DeployInput is the workflow input of a project deployment: the id derives from project and
// commit (projects.DeploymentID), so every trigger of one commit names one deployment; the
// project's settings are the overrides; the branch defaults to the production branch.
func (c *Control) DeployInput(p *projects.Project, t projects.DeployTarget) workflows.DeployInput {
	id := projects.DeploymentID(p.Name, t)
	if t.Branch == "" {
		t.Branch = p.Branch()
	}
	return workflows.DeployInput{
		DeploymentID: id, RepoURL: p.RepoURL, Branch: t.Branch, Commit: t.Commit, Project: p.Name,
		Production: t.Production, AliasLabels: projects.AliasLabels(p.Name, t.Production, t.Branch),
		Overrides: detect.Overrides{
			RootDir: p.RootDir, InstallCommand: p.InstallCommand, BuildCommand: p.BuildCommand, OutputDir: p.OutputDir,
		},
		BuildTaskQueue: c.s.BuildTaskQueue, Trigger: t.Trigger, RequestedAt: time.Now().UTC(), URL: c.s.SiteURL(id),
	}
}

// NewDeploymentID gives in a fresh id (and the URL that goes with it): a commit whose derived
// deployment failed is deployed again under a new one.
func (c *Control) NewDeploymentID(in workflows.DeployInput) workflows.DeployInput {
	in.DeploymentID = ids.NewDeployment()
	in.URL = c.s.SiteURL(in.DeploymentID)
	return in
}

// Start starts the deployment workflow of in, or finds it started: the REJECT_DUPLICATE reuse
// policy and the USE_EXISTING conflict policy make a second start of one id (a poll and a
// webhook for the same commit) answer with the first. The memo holds the queued status so lists
// need no query per row; the typed search attributes let the UI and the API filter. A
// production deployment of a project then signals the project's retention workflow (a failure
// there is logged, not returned: the deployment has started).
func (c *Control) Start(ctx context.Context, in workflows.DeployInput) (api.StartedDeployment, error) {
	wid := ids.WorkflowID(in.DeploymentID)
	if in.AttentionTimeout == 0 {
		in.AttentionTimeout = c.s.AttentionTimeout
	}
	if in.StepAttempts == 0 {
		in.StepAttempts = int32(c.s.StepAttempts)
	}
	attention := in.AttentionTimeout
	if attention <= 0 {
		attention = workflows.DefaultAttentionTimeout
	}
	_, err := c.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       wid,
		TaskQueue:                c.s.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		// Three hours of steps, and the longest an operator may be waited for.
		WorkflowExecutionTimeout: 3*time.Hour + attention,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrStatus.ValueSet(workflows.StateQueued),
			workflows.AttrRepository.ValueSet(in.RepoURL),
			workflows.AttrProject.ValueSet(in.Project),
			workflows.AttrBranch.ValueSet(in.Branch),
			workflows.AttrTrigger.ValueSet(in.Trigger),
		),
		Memo: map[string]any{workflows.MemoKey: QueuedStatus(in)},
	}, workflows.DeployWorkflowName, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &already) {
		return api.StartedDeployment{}, err
	}
	if in.Production && in.Project != "" {
		if err := c.SignalRetention(ctx, in.Project, wid); err != nil {
			c.log.Warn("retention not signalled", "project", in.Project, "error", err)
		}
	}
	return api.StartedDeployment{ID: in.DeploymentID, URL: in.URL, WorkflowID: wid}, nil
}

// Cancel asks the deployment's workflow to stop; its activities learn it through their
// heartbeats and the build's whole process group is killed.
func (c *Control) Cancel(ctx context.Context, deploymentID string) error {
	return c.temporal.CancelWorkflow(ctx, ids.WorkflowID(deploymentID), "")
}

// Retry asks a deployment that needs attention to run its failed step again.
func (c *Control) Retry(ctx context.Context, deploymentID string) error {
	return c.temporal.SignalWorkflow(ctx, ids.WorkflowID(deploymentID), "", workflows.SignalRetry, nil)
}

// Abandon asks a deployment that needs attention to fail, with the operator's reason.
func (c *Control) Abandon(ctx context.Context, deploymentID, reason string) error {
	return c.temporal.SignalWorkflow(ctx, ids.WorkflowID(deploymentID), "", workflows.SignalAbandon, reason)
}

// QueuedStatus is a deployment's status before its workflow runs: every step pending.
func QueuedStatus(in workflows.DeployInput) workflows.DeploymentStatus {
	names := workflows.StepsOf(in)
	steps := make([]workflows.StepState, 0, len(names))
	for _, st := range names {
		steps = append(steps, workflows.StepState{Name: st, State: workflows.StepPending})
	}
	return workflows.DeploymentStatus{
		ID: in.DeploymentID, State: workflows.StateQueued, Steps: steps, RepoURL: in.RepoURL, Branch: in.Branch,
		Project: in.Project, Production: in.Production, URL: in.URL, CreatedAt: in.RequestedAt, Trigger: in.Trigger, Overrides: in.Overrides,
		Upload: in.Upload,
	}
}
