package activities

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/skydeploy/skydeploy/internal/control"
	"github.com/skydeploy/skydeploy/internal/githead"
	"github.com/skydeploy/skydeploy/internal/projects"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/workflows"
)

// ProjectActivities poll repositories, start project deployments and prune old deployments.
// Unlike Activities they reach Temporal: starting a deployment from a poll is a side effect
// like any other, and goes through the same control room (internal/control) as the API's.
type ProjectActivities struct {
	Store    *storage.Store
	Projects *projects.Store
	// Temporal is read: which deployments still run (RunningDeployments, blob collection).
	Temporal client.Client
	// Control starts deployments and signals retention.
	Control *control.Control
	// Heads finds branch heads (CheckBranchHead).
	Heads *githead.Checker
	// BlobGrace protects unreferenced blobs younger than this from retention (an in-flight
	// publish may be about to reference them). Default one hour.
	BlobGrace time.Duration
	Log       *slog.Logger
}

func (p *ProjectActivities) logger() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

// StartProjectDeployment starts the deployment of a project's commit with the id derived from
// project and commit, so a poll and a webhook (or two polls) for one commit start it once. A
// commit already deployed (or deploying) is returned as is. Production deployments also tell the
// project's retention workflow to prune once the deployment has ended (control.Start).
func (p *ProjectActivities) StartProjectDeployment(ctx context.Context, in workflows.StartDeployInput) (workflows.StartDeployResult, error) {
	var res workflows.StartDeployResult
	proj, err := p.Projects.Get(ctx, in.Project)
	if errors.Is(err, projects.ErrNotFound) {
		res.Skipped = "project " + in.Project + " no longer exists"
		return res, nil
	}
	if err != nil {
		return res, transient("StorageUnavailable", err, "read project %s", in.Project)
	}
	if in.Trigger == "poll" || in.Trigger == "webhook" {
		if !proj.AutoDeploy() {
			res.Skipped = "watching is off or paused for project " + in.Project
			return res, nil
		}
		if in.Production && in.Branch != proj.Branch() {
			res.Skipped = "production branch of " + in.Project + " is now " + proj.Branch()
			return res, nil
		}
	}
	if len(in.Commit) != 40 {
		return res, permanent(workflows.ErrInvalidInput, "commit %q is not a full SHA", in.Commit)
	}
	di := p.Control.DeployInput(proj, projects.DeployTarget{Branch: in.Branch, Commit: in.Commit, Production: in.Production, Trigger: in.Trigger})
	started, err := p.Control.Start(ctx, di)
	if err != nil {
		return res, transient("TemporalUnavailable", err, "start deployment %s", di.DeploymentID)
	}
	p.logger().Info("project deployment started", "project", in.Project, "deployment", di.DeploymentID, "commit", in.Commit, "trigger", in.Trigger)
	return workflows.StartDeployResult{DeploymentID: started.ID, WorkflowID: started.WorkflowID}, nil
}

// CheckBranchHead returns the head commit of a project's branch (see githead.Checker.Check):
// the poll workflow's activity, on the rate-limited poll task queue for GitHub repositories.
func (p *ProjectActivities) CheckBranchHead(ctx context.Context, in workflows.BranchHeadInput) (workflows.BranchHead, error) {
	return p.Heads.Check(ctx, in)
}
