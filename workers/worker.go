// Package workers runs SkyDeploy's Temporal workers: the light worker (the deployment workflow
// and its clone, detect, upload, publish and status activities) and the build worker (only
// BuildProject, on its own task queue with bounded concurrency, so builds scale on their own).
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
	// Extra configures project polling and retention (see extra.go).
	Extra ExtraOptions
}

// RegisterLight registers the workflows and light activities on w.
func RegisterLight(w worker.Registry, a *activities.Activities) {
	w.RegisterWorkflowWithOptions(workflows.Deploy, workflow.RegisterOptions{Name: workflows.DeployWorkflowName})
	w.RegisterActivityWithOptions(a.CloneRepository, activity.RegisterOptions{Name: workflows.CloneActivity})
	w.RegisterActivityWithOptions(a.DetectProject, activity.RegisterOptions{Name: workflows.DetectActivity})
	w.RegisterActivityWithOptions(a.UploadSource, activity.RegisterOptions{Name: workflows.UploadActivity})
	w.RegisterActivityWithOptions(a.PublishDeployment, activity.RegisterOptions{Name: workflows.PublishActivity})
	w.RegisterActivityWithOptions(a.ReportStatus, activity.RegisterOptions{Name: workflows.StatusActivity})
	registerExtra(w, a)
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
		ws = append(ws, w)
		ws = append(ws, extraWorkers(c, w, o.Extra)...)
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
