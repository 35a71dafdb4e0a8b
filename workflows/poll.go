package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// PollWorkflowName is the workflow type a project's poll schedule starts.
const PollWorkflowName = "PollRepository"

// Activity names of polling and project deployments.
const (
	CheckBranchHeadActivity = "CheckBranchHead"
	StartDeployActivity     = "StartProjectDeployment"
)

// PollScheduleID is the Temporal Schedule that polls a watched project; the workflows it starts
// have ids "poll-<project>-<time>".
func PollScheduleID(project string) string { return "poll-" + project }

// PollInput is the schedule's action argument: what to poll. internal/control updates the schedule
// when the project's repository or branch changes.
type PollInput struct {
	Project string `json:"project"`
	RepoURL string `json:"repoUrl"`
	Branch  string `json:"branch"`
	// CheckTaskQueue is where CheckBranchHead runs: the rate-limited poll queue for GitHub
	// repositories (so all polls together stay within the API budget), "" for the workflow's queue.
	CheckTaskQueue string `json:"checkTaskQueue,omitempty"`
}

// PollResult is what a poll completes with; the schedule hands it to the next run through
// workflow.GetLastCompletionResult, which is how the ETag and the last seen commit travel.
type PollResult struct {
	SHA  string `json:"sha,omitempty"`
	ETag string `json:"etag,omitempty"`
	// DeploymentID is the deployment this run started ("" when nothing changed).
	DeploymentID string `json:"deploymentId,omitempty"`
}

// BranchHeadInput asks for the head commit of a branch, conditionally.
type BranchHeadInput struct {
	Project string `json:"project"`
	RepoURL string `json:"repoUrl"`
	Branch  string `json:"branch"`
	ETag    string `json:"etag,omitempty"`
	LastSHA string `json:"lastSha,omitempty"`
}

// BranchHead is the answer: the head commit, or NotModified when the ETag still matches.
type BranchHead struct {
	SHA         string `json:"sha,omitempty"`
	ETag        string `json:"etag,omitempty"`
	NotModified bool   `json:"notModified,omitempty"`
	// RateRemaining is the API budget left after this request (-1 when unknown).
	RateRemaining int `json:"rateRemaining"`
}

// StartDeployInput asks to start (or find) the deployment of a project's commit.
type StartDeployInput struct {
	Project    string `json:"project"`
	Branch     string `json:"branch"`
	Commit     string `json:"commit"`
	Production bool   `json:"production"`
	Trigger    string `json:"trigger"`
}

// StartDeployResult names the deployment started (or found running or finished).
type StartDeployResult struct {
	DeploymentID string `json:"deploymentId"`
	WorkflowID   string `json:"workflowId"`
	// Skipped says why nothing was started (project deleted, paused, branch changed).
	Skipped string `json:"skipped,omitempty"`
}

// Poll checks a project's production branch once and starts a deployment when its head moved.
// A Temporal Schedule (overlap SKIP) runs it every interval; Temporal's retries, not a loop
// here, deal with GitHub being slow, down or rate limiting.
func Poll(ctx workflow.Context, in PollInput) (PollResult, error) {
	p := &poller{in: in}
	p.setup(ctx)
	return p.run(ctx)
}

type poller struct {
	in   PollInput
	last PollResult
}

// pollRetry: GitHub being down is retried a few times with backoff, then this poll fails and the
// next scheduled one tries afresh. Rate limits set NextRetryDelay to the reset time instead.
var pollRetry = &temporal.RetryPolicy{
	InitialInterval:        2 * time.Second,
	BackoffCoefficient:     2,
	MaximumInterval:        30 * time.Second,
	MaximumAttempts:        5,
	NonRetryableErrorTypes: []string{ErrInvalidInput},
}

func (p *poller) setup(ctx workflow.Context) {
	if workflow.HasLastCompletionResult(ctx) {
		if err := workflow.GetLastCompletionResult(ctx, &p.last); err != nil {
			workflow.GetLogger(ctx).Warn("last poll result unreadable, polling without it", "error", err)
			p.last = PollResult{}
		}
	}
}

func (p *poller) run(ctx workflow.Context) (PollResult, error) {
	checkCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           p.in.CheckTaskQueue,
		StartToCloseTimeout: 30 * time.Second,
		// Room for a rate-limit wait until the hourly reset; the schedule skips runs meanwhile.
		ScheduleToCloseTimeout: 70 * time.Minute,
		RetryPolicy:            pollRetry,
	})
	var head BranchHead
	err := workflow.ExecuteActivity(checkCtx, CheckBranchHeadActivity, BranchHeadInput{
		Project: p.in.Project, RepoURL: p.in.RepoURL, Branch: p.in.Branch, ETag: p.last.ETag, LastSHA: p.last.SHA,
	}).Get(ctx, &head)
	if err != nil {
		return p.last, err
	}
	res := PollResult{SHA: p.last.SHA, ETag: p.last.ETag}
	if head.NotModified || head.SHA == "" || head.SHA == p.last.SHA {
		if head.ETag != "" {
			res.ETag = head.ETag
		}
		return res, nil
	}
	startCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 20 * time.Second, MaximumAttempts: 6},
	})
	var started StartDeployResult
	if err := workflow.ExecuteActivity(startCtx, StartDeployActivity, StartDeployInput{
		Project: p.in.Project, Branch: p.in.Branch, Commit: head.SHA, Production: true, Trigger: "poll",
	}).Get(ctx, &started); err != nil {
		// The commit is not recorded as seen, so the next poll tries again.
		return p.last, err
	}
	if started.Skipped != "" {
		workflow.GetLogger(ctx).Info("deployment not started", "reason", started.Skipped)
	}
	return PollResult{SHA: head.SHA, ETag: head.ETag, DeploymentID: started.DeploymentID}, nil
}
