package control

import (
	"context"
	"errors"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/detect"
	"github.com/skydeploy/skydeploy/internal/ids"
	"github.com/skydeploy/skydeploy/internal/projects"
	"github.com/skydeploy/skydeploy/workflows"
)

// UploadDeployInput is the workflow input of a deployment of an uploaded folder, under a fresh
// id. Without a project (p nil) it is served at its own URL only, and the branch of the
// folder's checkout is shown. With one, the project's settings apply (o's non-empty fields
// win), and its repository is the deployment's, so that the build and publishing, which check
// it, use them; production makes it live at the project's URL; otherwise it is a preview at
// <project>--<branch> when the folder was a checkout of a branch other than the production
// branch, and at its own URL only when not (a preview never claims the production branch,
// whose builds get production's variables and caches).
func (c *Control) UploadDeployInput(p *projects.Project, src api.UploadSource, production bool, o detect.Overrides) workflows.DeployInput {
	id := ids.NewDeployment()
	branch := ""
	if src.Git != nil {
		branch = src.Git.Branch
	}
	in := workflows.DeployInput{
		DeploymentID: id, Branch: branch, Upload: &src,
		BuildTaskQueue: c.s.BuildTaskQueue, Trigger: workflows.TriggerUpload, RequestedAt: time.Now().UTC(), URL: c.s.SiteURL(id),
	}
	if !src.Prebuilt { // a prebuilt folder is the site: nothing to detect or build
		in.Overrides = o
	}
	if p == nil {
		return in
	}
	in.Project, in.RepoURL, in.Production = p.Name, p.RepoURL, production
	switch {
	case production:
		in.Branch = p.Branch()
	case branch == p.Branch():
		in.Branch = ""
	}
	in.AliasLabels = projects.AliasLabels(p.Name, production, in.Branch)
	if src.Prebuilt {
		return in
	}
	in.Overrides = detect.Overrides{RootDir: p.RootDir, InstallCommand: p.InstallCommand, BuildCommand: p.BuildCommand, OutputDir: p.OutputDir}
	for _, f := range []struct{ req, dst *string }{
		{&o.RootDir, &in.Overrides.RootDir}, {&o.InstallCommand, &in.Overrides.InstallCommand},
		{&o.BuildCommand, &in.Overrides.BuildCommand}, {&o.OutputDir, &in.Overrides.OutputDir},
	} {
		if *f.req != "" {
			*f.dst = *f.req
		}
	}
	return in
}

// CollectUploadsEvery is how often the schedule collect-uploads runs for a TTL: a quarter of
// it, between a minute and an hour.
func CollectUploadsEvery(ttl time.Duration) time.Duration {
	return min(max(ttl/4, time.Minute), time.Hour)
}

// EnsureUploadCollection creates the Temporal Schedule collect-uploads, which runs the
// CollectUploads workflow every CollectUploadsEvery(ttl) (overlap SKIP), or brings an existing
// one up to date with ttl. Operators can pause and trigger it in the Temporal UI.
func (c *Control) EnsureUploadCollection(ctx context.Context, ttl time.Duration) error {
	sc := c.temporal.ScheduleClient()
	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: CollectUploadsEvery(ttl)}}}
	action := &client.ScheduleWorkflowAction{
		ID:                 workflows.CollectUploadsScheduleID,
		Workflow:           workflows.CollectUploadsWorkflowName,
		Args:               []any{workflows.CollectUploadsInput{TTL: ttl}},
		TaskQueue:          c.s.TaskQueue,
		WorkflowRunTimeout: time.Hour,
	}
	_, err := sc.Create(ctx, client.ScheduleOptions{
		ID: workflows.CollectUploadsScheduleID, Spec: spec, Action: action,
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, CatchupWindow: time.Minute,
		Note: "removes uploaded folders (manifests and contents) older than " + ttl.String() + " that no deployment needs",
	})
	var exists *serviceerror.AlreadyExists
	if !errors.As(err, &exists) && (err == nil || !strings.Contains(err.Error(), "already")) {
		return err
	}
	return sc.GetHandle(ctx, workflows.CollectUploadsScheduleID).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			sch := in.Description.Schedule
			sch.Spec, sch.Action = &spec, action
			return &client.ScheduleUpdate{Schedule: &sch}, nil
		},
	})
}

// CollectUploadsNow runs the schedule collect-uploads now (skipped while a run is going).
func (c *Control) CollectUploadsNow(ctx context.Context) error {
	return c.temporal.ScheduleClient().GetHandle(ctx, workflows.CollectUploadsScheduleID).
		Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP})
}
