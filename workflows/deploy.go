package workflows

import (
	"errors"
	"path"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/skydeploy/skydeploy/internal/detect"
)

// Deploy is the deployment workflow: clone, detect, upload, build (Node projects only) and
// publish one commit of a repository. Its id is "deploy-<deployment id>".
func Deploy(ctx workflow.Context, in DeployInput) (DeploymentStatus, error) {
	d := newDeployment(ctx, in)
	if err := d.setup(ctx); err != nil {
		return d.status, err
	}
	return d.run(ctx)
}

// deployment is the workflow's state; the status query returns its status.
type deployment struct {
	in     DeployInput
	status DeploymentStatus
	// memoEveryStep: the memo (what lists show) follows every step change, not only clone,
	// detect and the end. Histories recorded before this change replay without it.
	memoEveryStep bool
	// attention: a step failed for the platform's reasons past its retries waits for an
	// operator instead of failing the deployment (attention.go).
	attention bool
	// resetRunID is this run's id when an operator's reset made it (else "").
	resetRunID string
}

// Change ids of workflow.GetVersion, one per change of the commands a deployment issues.
const (
	versionMemoEveryStep = "memo-every-step"
	versionAttention     = "needs-attention"
)

func newDeployment(ctx workflow.Context, in DeployInput) *deployment {
	names := StepsOf(in)
	steps := make([]StepState, len(names))
	for i, s := range names {
		steps[i] = StepState{Name: s, State: StepPending}
	}
	created := in.RequestedAt
	if created.IsZero() {
		created = workflow.Now(ctx)
	}
	return &deployment{in: in, status: DeploymentStatus{
		ID: in.DeploymentID, State: StateQueued, Steps: steps, RepoURL: in.RepoURL, Branch: in.Branch,
		Project: in.Project, Production: in.Production, URL: in.URL, CreatedAt: created,
		Trigger: in.Trigger, Overrides: in.Overrides, Upload: in.Upload,
	}}
}

func (d *deployment) setup(ctx workflow.Context) error {
	d.memoEveryStep = workflow.GetVersion(ctx, versionMemoEveryStep, workflow.DefaultVersion, 1) == 1
	d.attention = workflow.GetVersion(ctx, versionAttention, workflow.DefaultVersion, 1) == 1
	// A reset in the Temporal UI makes a new run whose OriginalRunID is the run it was reset
	// from; the status and the live log say so.
	if info := workflow.GetInfo(ctx); info.OriginalRunID != "" && info.OriginalRunID != info.WorkflowExecution.RunID {
		d.resetRunID = info.WorkflowExecution.RunID
		d.status.ResetByOperator = true
	}
	return workflow.SetQueryHandler(ctx, StatusQuery, func() (DeploymentStatus, error) {
		return d.status, nil
	})
}

// Retry policies. Permanent failures are returned by activities as non-retryable application
// errors and fail the workflow at once; everything else is retried with backoff.
var (
	lightRetry = &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    30 * time.Second,
		MaximumAttempts:    8,
	}
	// A build is retried when its worker dies (heartbeat timeout) or storage fails, not when the
	// project's own build fails: that is a non-retryable BuildFailed.
	buildRetry = &temporal.RetryPolicy{
		InitialInterval:    2 * time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
		MaximumAttempts:    4,
	}
)

// withAttempts is p with at most attempts tries (0 keeps p's).
func withAttempts(p *temporal.RetryPolicy, attempts int32) *temporal.RetryPolicy {
	if attempts <= 0 {
		return p
	}
	c := *p
	c.MaximumAttempts = attempts
	return &c
}

func (d *deployment) run(ctx workflow.Context) (DeploymentStatus, error) {
	in := d.in
	d.status.State = StateRunning
	d.upsert(ctx, AttrStatus.ValueSet(StateRunning), AttrRepository.ValueSet(in.RepoURL),
		AttrProject.ValueSet(in.Project), AttrBranch.ValueSet(in.Branch), AttrTrigger.ValueSet(in.Trigger))

	light := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         withAttempts(lightRetry, in.StepAttempts),
	})
	if in.Upload != nil {
		// An uploaded folder: a path of its own (upload.go) that recorded histories, all of
		// clones, never take.
		return d.runUpload(ctx, light)
	}

	cloneIn := CloneInput{DeploymentID: in.DeploymentID, RepoURL: in.RepoURL, Branch: in.Branch, Commit: in.Commit}
	var cloned CloneResult
	if err := d.step(ctx, StepClone, func() error {
		return workflow.ExecuteActivity(light, CloneActivity, cloneIn).Get(ctx, &cloned)
	}); err != nil {
		return d.fail(ctx, err)
	}
	commit := cloned.Commit
	d.status.Commit = &commit
	d.upsert(ctx, AttrCommit.ValueSet(commit.SHA))
	d.saveMemo(ctx)
	// Later steps work on this exact commit, even if the branch moves meanwhile.
	cloneIn.Commit = commit.SHA

	var plan detect.Plan
	if err := d.step(ctx, StepDetect, func() error {
		return workflow.ExecuteActivity(light, DetectActivity, DetectInput{CloneInput: cloneIn, Overrides: in.Overrides}).Get(ctx, &plan)
	}); err != nil {
		return d.fail(ctx, err)
	}
	d.planned(ctx, plan)

	var uploaded UploadResult
	if err := d.step(ctx, StepUpload, func() error {
		return workflow.ExecuteActivity(light, UploadActivity, cloneIn).Get(ctx, &uploaded)
	}); err != nil {
		return d.fail(ctx, err)
	}
	return d.buildAndPublish(ctx, light, plan, uploaded, commit)
}

// buildAndPublish builds the stored source snapshot when the plan needs it, then publishes the
// build output (or the snapshot itself) and ends the deployment.
func (d *deployment) buildAndPublish(ctx, light workflow.Context, plan detect.Plan, uploaded UploadResult, commit Commit) (DeploymentStatus, error) {
	in := d.in
	publishIn := PublishInput{DeploymentID: in.DeploymentID, Project: in.Project, Branch: in.Branch, RepoURL: in.RepoURL, Commit: commit, Plan: plan, AliasLabels: in.AliasLabels, RequestedAt: d.status.CreatedAt}
	if plan.NeedsBuild() {
		build := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			TaskQueue: in.BuildTaskQueue,
			// The sandbox enforces the configured build time limit; this bounds a lost worker.
			StartToCloseTimeout:    2 * time.Hour,
			ScheduleToStartTimeout: 2 * time.Hour,
			HeartbeatTimeout:       30 * time.Second,
			RetryPolicy:            withAttempts(buildRetry, min(in.StepAttempts, buildRetry.MaximumAttempts)),
			WaitForCancellation:    true,
		})
		var built BuildResult
		if err := d.step(ctx, StepBuild, func() error {
			return workflow.ExecuteActivity(build, BuildActivity, BuildInput{
				DeploymentID: in.DeploymentID, Project: in.Project, Branch: in.Branch, RepoURL: in.RepoURL, SourceKey: uploaded.Key, Plan: plan,
			}).Get(ctx, &built)
		}); err != nil {
			return d.fail(ctx, err)
		}
		publishIn.ArchiveKey = built.ArtifactKey
	} else {
		d.setStep(ctx, StepBuild, StepSkipped)
		if d.memoEveryStep {
			d.saveMemo(ctx)
		}
		publishIn.ArchiveKey = uploaded.Key
		publishIn.SubDir = path.Join(plan.RootDir, plan.OutputDir)
		if publishIn.SubDir == "." {
			publishIn.SubDir = ""
		}
	}

	var published PublishResult
	if err := d.step(ctx, StepPublish, func() error {
		return workflow.ExecuteActivity(light, PublishActivity, publishIn).Get(ctx, &published)
	}); err != nil {
		return d.fail(ctx, err)
	}
	d.status.Files, d.status.Bytes = published.Files, published.Bytes
	now := workflow.Now(ctx)
	d.status.State, d.status.Step, d.status.FinishedAt = StateSucceeded, "", &now
	d.countFinished(ctx)
	d.upsert(ctx, AttrStatus.ValueSet(StateSucceeded))
	d.saveMemo(ctx)
	d.report(ctx, StatusUpdate{State: StateSucceeded, Message: "Deployment is live at " + in.URL})
	return d.status, nil
}

// step runs fn as the named step, keeping the status, the memo and the live view up to date.
// A failure of the platform's (not the project's) past the step's retries waits for an
// operator, who may run the step again (attention.go).
func (d *deployment) step(ctx workflow.Context, name string, fn func() error) error {
	for {
		d.status.Step = name
		d.setStep(ctx, name, StepRunning)
		if d.memoEveryStep {
			d.saveMemo(ctx)
		}
		d.report(ctx, StatusUpdate{State: StateRunning, Step: name})
		err := fn()
		switch {
		case err == nil:
			d.setStep(ctx, name, StepSucceeded)
			return nil
		case temporal.IsCanceledError(err) || errors.Is(ctx.Err(), workflow.ErrCanceled):
			d.setStep(ctx, name, StepCanceled)
			return err
		case d.attention && isPlatformFailure(err):
			d.setStep(ctx, name, StepNeedsAttention)
			if werr := d.needsAttention(ctx, name, err); werr != nil {
				if temporal.IsCanceledError(werr) {
					d.setStep(ctx, name, StepCanceled)
				} else {
					d.setStep(ctx, name, StepFailed)
				}
				return werr
			}
			// Retried: run the step again.
		default:
			d.setStep(ctx, name, StepFailed)
			return err
		}
	}
}

func (d *deployment) setStep(ctx workflow.Context, name, state string) {
	now := workflow.Now(ctx)
	for i := range d.status.Steps {
		s := &d.status.Steps[i]
		if s.Name != name {
			continue
		}
		s.State = state
		switch state {
		case StepRunning:
			s.StartedAt = &now
		case StepSucceeded, StepFailed, StepCanceled:
			s.FinishedAt = &now
			if s.StartedAt != nil {
				// The SDK's metrics handler is silent during replay, so this stays deterministic.
				workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"step": name}).
					Timer("skydeploy_deployment_step_duration_seconds").Record(now.Sub(*s.StartedAt))
			}
		}
	}
}

// fail records a failed or canceled deployment and returns the error that ends the workflow.
func (d *deployment) fail(ctx workflow.Context, err error) (DeploymentStatus, error) {
	now := workflow.Now(ctx)
	d.status.FinishedAt = &now
	if temporal.IsCanceledError(err) || errors.Is(ctx.Err(), workflow.ErrCanceled) {
		d.status.State = StateCanceled
		d.status.Error = "deployment was canceled"
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		d.countFinished(dctx)
		d.upsert(dctx, AttrStatus.ValueSet(StateCanceled))
		d.saveMemo(dctx)
		d.report(dctx, StatusUpdate{State: StateCanceled, Step: d.status.Step, Error: d.status.Error})
		return d.status, err
	}
	d.status.State = StateFailed
	d.status.Error = Reason(err)
	d.countFinished(ctx)
	d.upsert(ctx, AttrStatus.ValueSet(StateFailed))
	d.saveMemo(ctx)
	d.report(ctx, StatusUpdate{State: StateFailed, Step: d.status.Step, Error: d.status.Error})
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		// Fail with the activity's own type and message so the Temporal UI shows why.
		return d.status, temporal.NewNonRetryableApplicationError(d.status.Step+" failed: "+appErr.Message(), appErr.Type(), nil)
	}
	return d.status, err
}

// Reason returns the readable message of an activity failure.
func Reason(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) {
		return "step timed out (" + timeoutErr.TimeoutType().String() + ")"
	}
	return err.Error()
}

func (d *deployment) upsert(ctx workflow.Context, updates ...temporal.SearchAttributeUpdate) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("upsert search attributes", "error", err)
	}
}

// countFinished counts the deployment's outcome by project kind.
func (d *deployment) countFinished(ctx workflow.Context) {
	kind := "unknown"
	if d.status.Plan != nil && d.status.Plan.Kind != "" {
		kind = string(d.status.Plan.Kind)
	}
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"kind": kind, "status": d.status.State}).
		Counter("skydeploy_deployments_finished_total").Inc(1)
}

// saveMemo stores the status in the workflow's memo, which visibility lists return.
func (d *deployment) saveMemo(ctx workflow.Context) {
	if err := workflow.UpsertMemo(ctx, map[string]any{MemoKey: d.status}); err != nil {
		workflow.GetLogger(ctx).Warn("upsert memo", "error", err)
	}
}

// report writes the live status to Redis through a local activity. The live view is best
// effort: a failure here never fails the deployment.
func (d *deployment) report(ctx workflow.Context, u StatusUpdate) {
	u.DeploymentID = d.in.DeploymentID
	u.ResetRunID = d.resetRunID
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 5 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 2},
	})
	if err := workflow.ExecuteLocalActivity(lctx, StatusActivity, u).Get(lctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("live status not reported", "error", err)
	}
}
