// Package workers runs SkyDeploy's Temporal workers: the light worker (the deployment, poll and
// retention workflows with their clone, detect, upload, publish, status and project activities),
// the poll worker (only CheckBranchHead, on its own task queue whose server-side rate limit is
// the GitHub budget of all workers together) and the build worker (only BuildProject, on its
// own task queue with bounded concurrency, so builds scale on their own).
//
// It registers and runs what it is given; building the activities from the configuration is
// internal/platform's. It must never import gin, the gateway or internal/platform.
package workers

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/skydeploy/skydeploy/activities"
	"github.com/skydeploy/skydeploy/workflows"
)

// Options choose what a worker process runs.
type Options struct {
	TaskQueue      string
	BuildTaskQueue string
	// Light runs the workflows and light activities; Build runs builds. Both may be set.
	Light bool
	Build bool
	// BuildConcurrency bounds builds at once on this worker.
	BuildConcurrency int
	// Projects are the project activities (polls, project deployments, retention) of the
	// light worker; nil leaves them unregistered.
	Projects *activities.ProjectActivities
	// PollTaskQueue runs GitHub head checks, at most PollPerSecond across all workers (a
	// server-side task-queue rate limit, so the budget holds however many workers run).
	PollTaskQueue string
	PollPerSecond float64
	// Domains are the custom-domain verification activities of the light worker (with the
	// VerifyDomain workflow); nil leaves them unregistered.
	Domains *activities.DomainActivities
}

// RegisterLight registers the workflows and light activities on w.
func RegisterLight(w worker.Registry, a *activities.Activities) {
	w.RegisterWorkflowWithOptions(workflows.Deploy, workflow.RegisterOptions{Name: workflows.DeployWorkflowName})
	w.RegisterWorkflowWithOptions(workflows.Poll, workflow.RegisterOptions{Name: workflows.PollWorkflowName})
	w.RegisterWorkflowWithOptions(workflows.Retention, workflow.RegisterOptions{Name: workflows.RetentionWorkflowName})
	w.RegisterActivityWithOptions(a.CloneRepository, activity.RegisterOptions{Name: workflows.CloneActivity})
	w.RegisterActivityWithOptions(a.DetectProject, activity.RegisterOptions{Name: workflows.DetectActivity})
	w.RegisterActivityWithOptions(a.UploadSource, activity.RegisterOptions{Name: workflows.UploadActivity})
	w.RegisterActivityWithOptions(a.PublishDeployment, activity.RegisterOptions{Name: workflows.PublishActivity})
	w.RegisterActivityWithOptions(a.ReportStatus, activity.RegisterOptions{Name: workflows.StatusActivity})
	// Uploaded folders (skydeploy deploy DIR): their source snapshot, and the schedule that
	// removes stale uploads.
	w.RegisterWorkflowWithOptions(workflows.CollectUploads, workflow.RegisterOptions{Name: workflows.CollectUploadsWorkflowName})
	w.RegisterActivityWithOptions(a.MaterializeUpload, activity.RegisterOptions{Name: workflows.MaterializeActivity})
	w.RegisterActivityWithOptions(a.CollectUploads, activity.RegisterOptions{Name: workflows.CollectUploadsActivity})
}

// RegisterProjects registers the project activities on a light worker's registry.
func RegisterProjects(w worker.Registry, p *activities.ProjectActivities) {
	w.RegisterActivityWithOptions(p.CheckBranchHead, activity.RegisterOptions{Name: workflows.CheckBranchHeadActivity})
	w.RegisterActivityWithOptions(p.StartProjectDeployment, activity.RegisterOptions{Name: workflows.StartDeployActivity})
	w.RegisterActivityWithOptions(p.RunningDeployments, activity.RegisterOptions{Name: workflows.RunningDeploymentsActivity})
	w.RegisterActivityWithOptions(p.ApplyRetention, activity.RegisterOptions{Name: workflows.ApplyRetentionActivity})
}

// RegisterDomains registers the domain verification workflow and its activities on a light
// worker's registry.
func RegisterDomains(w worker.Registry, d *activities.DomainActivities) {
	w.RegisterWorkflowWithOptions(workflows.VerifyDomain, workflow.RegisterOptions{Name: workflows.DomainWorkflowName})
	w.RegisterActivityWithOptions(d.CheckDomainDNS, activity.RegisterOptions{Name: workflows.CheckDomainActivity})
	w.RegisterActivityWithOptions(d.ActivateDomain, activity.RegisterOptions{Name: workflows.ActivateDomainActivity})
	w.RegisterActivityWithOptions(d.FailDomain, activity.RegisterOptions{Name: workflows.FailDomainActivity})
}

// RegisterBuild registers the build activity on w.
func RegisterBuild(w worker.Registry, a *activities.Activities) {
	w.RegisterActivityWithOptions(a.BuildProject, activity.RegisterOptions{Name: workflows.BuildActivity})
}

// Run starts the workers o asks for and blocks until ctx ends.
func Run(ctx context.Context, c client.Client, a *activities.Activities, o Options) error {
	var ws []worker.Worker
	if o.Light {
		w := worker.New(c, o.TaskQueue, worker.Options{})
		RegisterLight(w, a)
		if o.Domains != nil {
			RegisterDomains(w, o.Domains)
		}
		ws = append(ws, w)
		if o.Projects != nil {
			RegisterProjects(w, o.Projects)
			if o.PollTaskQueue != "" {
				pw := worker.New(c, o.PollTaskQueue, worker.Options{
					TaskQueueActivitiesPerSecond:       o.PollPerSecond,
					MaxConcurrentActivityExecutionSize: 20,
				})
				pw.RegisterActivityWithOptions(o.Projects.CheckBranchHead, activity.RegisterOptions{Name: workflows.CheckBranchHeadActivity})
				ws = append(ws, pw)
			}
		}
	}
	if o.Build {
		n := o.BuildConcurrency
		if n < 1 {
			n = 1
		}
		w := worker.New(c, o.BuildTaskQueue, worker.Options{
			MaxConcurrentActivityExecutionSize: n,
			// Builds are long: do not take more tasks than can run.
			MaxConcurrentActivityTaskPollers: 1,
			// Heartbeats carry cancellation: do not let the SDK hold them back for long.
			MaxHeartbeatThrottleInterval: 5 * time.Second,
		})
		RegisterBuild(w, a)
		ws = append(ws, w)
	}
	if len(ws) == 0 {
		return fmt.Errorf("worker has nothing to run: enable the light or the build worker")
	}
	for i, w := range ws {
		if err := w.Start(); err != nil {
			for _, started := range ws[:i] {
				started.Stop()
			}
			return fmt.Errorf("start worker: %w", err)
		}
	}
	<-ctx.Done()
	for _, w := range ws {
		w.Stop()
	}
	return nil
}
