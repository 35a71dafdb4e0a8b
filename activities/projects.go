package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/skydeploy/skydeploy/internal/ids"
	"github.com/skydeploy/skydeploy/internal/projects"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/workflows"
)

// ProjectSettings configure the project activities.
type ProjectSettings struct {
	// TaskQueue runs deployment workflows; BuildTaskQueue their builds.
	TaskQueue      string
	BuildTaskQueue string
	// SiteURL is the public URL of a host label.
	SiteURL func(label string) string
	// KeepDeployments is how many successful deployments retention keeps per project.
	KeepDeployments int
	// GitHubAPIURL and GitHubToken reach the GitHub REST API (token optional: 60 requests/hour).
	// The token goes to that API's host and GitHub's git host only (see gitfetch.HostCredentials).
	GitHubAPIURL string
	GitHubToken  string
	// GitCredentials are per-host git credentials for ls-remote (SKYDEPLOY_GIT_CREDENTIALS).
	GitCredentials map[string]string
	// AllowPrivateGit lets ls-remote reach internal addresses (development and tests only).
	AllowPrivateGit bool
	// BlobGrace protects unreferenced blobs younger than this from retention (an in-flight
	// publish may be about to reference them). Default one hour.
	BlobGrace time.Duration
}

// ProjectActivities poll repositories, start project deployments and prune old deployments.
// Unlike Activities they hold a Temporal client: starting a deployment from a poll is a side
// effect like any other.
type ProjectActivities struct {
	Store    *storage.Store
	Projects *projects.Store
	Temporal client.Client
	Settings ProjectSettings
	Log      *slog.Logger
	// HTTPClient is used for the GitHub API (nil: a client with a 20 s timeout).
	HTTPClient *http.Client

	ghOnce sync.Once
	gh     *github.Client
	ghErr  error
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
// project's retention workflow to prune once the deployment has ended.
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
	di := proj.DeployInput(projects.DeployTarget{Branch: in.Branch, Commit: in.Commit, Production: in.Production, Trigger: in.Trigger},
		p.Settings.BuildTaskQueue, p.Settings.SiteURL, time.Now())
	wid, err := StartDeploymentWorkflow(ctx, p.Temporal, p.Settings.TaskQueue, di)
	if err != nil {
		return res, transient("TemporalUnavailable", err, "start deployment %s", di.DeploymentID)
	}
	if in.Production {
		if err := SignalRetention(ctx, p.Temporal, p.Settings.TaskQueue, in.Project, p.Settings.KeepDeployments, wid); err != nil {
			p.logger().Warn("retention not signalled", "project", in.Project, "error", err)
		}
	}
	p.logger().Info("project deployment started", "project", in.Project, "deployment", di.DeploymentID, "commit", in.Commit, "trigger", in.Trigger)
	return workflows.StartDeployResult{DeploymentID: di.DeploymentID, WorkflowID: wid}, nil
}

// StartDeploymentWorkflow starts deployment in (or finds it: REJECT_DUPLICATE reuse plus
// USE_EXISTING conflict policy make a second start of the same id a no-op) and returns its
// workflow id. The gateway's StartDeployment uses the same options.
func StartDeploymentWorkflow(ctx context.Context, c client.Client, taskQueue string, in workflows.DeployInput) (string, error) {
	wid := ids.WorkflowID(in.DeploymentID)
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       wid,
		TaskQueue:                taskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowExecutionTimeout: 3 * time.Hour,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrStatus.ValueSet(workflows.StateQueued),
			workflows.AttrRepository.ValueSet(in.RepoURL),
			workflows.AttrProject.ValueSet(in.Project),
			workflows.AttrBranch.ValueSet(in.Branch),
			workflows.AttrTrigger.ValueSet(in.Trigger),
		),
		Memo: map[string]any{workflows.MemoKey: queuedStatus(in)},
	}, workflows.DeployWorkflowName, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &already) {
		return "", err
	}
	return wid, nil
}

func queuedStatus(in workflows.DeployInput) workflows.DeploymentStatus {
	steps := make([]workflows.StepState, 0, len(workflows.AllSteps))
	for _, st := range workflows.AllSteps {
		steps = append(steps, workflows.StepState{Name: st, State: workflows.StepPending})
	}
	return workflows.DeploymentStatus{
		ID: in.DeploymentID, State: workflows.StateQueued, Steps: steps, RepoURL: in.RepoURL, Branch: in.Branch,
		Project: in.Project, Production: in.Production, URL: in.URL, CreatedAt: in.RequestedAt, Trigger: in.Trigger, Overrides: in.Overrides,
	}
}

// SignalRetention tells the project's retention workflow (starting it if none runs) that the
// deployment workflow wid has started and should be waited for before pruning.
func SignalRetention(ctx context.Context, c client.Client, taskQueue, project string, keep int, wid string) error {
	if keep < 1 {
		return nil // retention disabled
	}
	_, err := c.SignalWithStartWorkflow(ctx, workflows.RetentionWorkflowID(project), workflows.RetentionSignal, wid,
		client.StartWorkflowOptions{
			TaskQueue:             taskQueue,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			TypedSearchAttributes: temporal.NewSearchAttributes(workflows.AttrProject.ValueSet(project)),
		}, workflows.RetentionWorkflowName, workflows.RetentionInput{Project: project, Keep: keep})
	return err
}

// githubClient is the shared go-github client: sharing it lets go-github refuse requests locally
// while it knows the rate limit is exhausted.
func (p *ProjectActivities) githubClient() (*github.Client, error) {
	p.ghOnce.Do(func() {
		hc := p.HTTPClient
		if hc == nil {
			hc = &http.Client{Timeout: 20 * time.Second}
		}
		p.gh, p.ghErr = NewGitHubClient(hc, p.Settings.GitHubAPIURL, p.Settings.GitHubToken)
	})
	return p.gh, p.ghErr
}

// NewGitHubClient returns a go-github client for apiURL ("" = api.github.com), authenticated
// when token is set. The token is sent only to the API's own host: a redirect elsewhere goes
// without it (hostScopedToken).
func NewGitHubClient(hc *http.Client, apiURL, token string) (*github.Client, error) {
	if apiURL == "" {
		apiURL = "https://api.github.com/"
	}
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/"
	}
	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("GitHub API URL %q is not an http(s) URL", apiURL)
	}
	if token != "" {
		scoped := *hc
		scoped.Transport = &hostScopedToken{base: hc.Transport, host: u.Host, token: token}
		hc = &scoped
	}
	c := github.NewClient(hc)
	c.BaseURL = u
	return c, nil
}
