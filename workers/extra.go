package workers

import (
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/skydeploy/skydeploy/activities"
	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/projects"
	"github.com/skydeploy/skydeploy/workflows"
)

// ExtraOptions configure project polling and retention on the light worker.
type ExtraOptions struct {
	// Projects are the project activities; nil leaves them unregistered.
	Projects *activities.ProjectActivities
	// PollTaskQueue runs GitHub head checks, at most PollPerSecond across all workers (a
	// server-side task-queue rate limit, so the budget holds however many workers run).
	PollTaskQueue string
	PollPerSecond float64
}

// NewExtra wires the project activities from cfg, and gives a the project store as the source
// of build-time environment variables.
func NewExtra(cfg config.Config, c client.Client, a *activities.Activities) (ExtraOptions, error) {
	ps, err := projects.NewStore(a.Store, cfg.SecretKey)
	if err != nil {
		return ExtraOptions{}, err
	}
	a.Projects = ps
	perHour := cfg.PollRequestsPerHour
	if perHour <= 0 {
		perHour = 54
		if cfg.GitHubToken != "" {
			perHour = 54_000
		}
	}
	return ExtraOptions{
		Projects: &activities.ProjectActivities{
			Store: a.Store, Projects: ps, Temporal: c, Log: a.Log,
			Settings: activities.ProjectSettings{
				TaskQueue: cfg.TaskQueue, BuildTaskQueue: cfg.BuildTaskQueue, SiteURL: cfg.SiteURL,
				KeepDeployments: cfg.KeepDeployments, GitHubAPIURL: cfg.GitHubAPIURL, GitHubToken: cfg.GitHubToken,
				AllowPrivateGit: cfg.AllowPrivateGitHosts, GitCredentials: cfg.GitCredentials,
			},
		},
		PollTaskQueue: cfg.PollTaskQueue,
		PollPerSecond: float64(perHour) / 3600,
	}, nil
}

// registerExtra registers the workflows and activities of projects, polling and retention.
func registerExtra(w worker.Registry, a *activities.Activities) {
	w.RegisterWorkflowWithOptions(workflows.Poll, workflow.RegisterOptions{Name: workflows.PollWorkflowName})
	w.RegisterWorkflowWithOptions(workflows.Retention, workflow.RegisterOptions{Name: workflows.RetentionWorkflowName})
}

// RegisterProjects registers the project activities on a light worker's registry.
func RegisterProjects(w worker.Registry, p *activities.ProjectActivities) {
	w.RegisterActivityWithOptions(p.CheckBranchHead, activity.RegisterOptions{Name: workflows.CheckBranchHeadActivity})
	w.RegisterActivityWithOptions(p.StartProjectDeployment, activity.RegisterOptions{Name: workflows.StartDeployActivity})
	w.RegisterActivityWithOptions(p.RunningDeployments, activity.RegisterOptions{Name: workflows.RunningDeploymentsActivity})
	w.RegisterActivityWithOptions(p.ApplyRetention, activity.RegisterOptions{Name: workflows.ApplyRetentionActivity})
}

// extraWorkers registers the project activities on the light worker and returns the poll
// worker: only CheckBranchHead, on its own task queue with the GitHub budget as its rate limit.
func extraWorkers(c client.Client, light worker.Worker, o ExtraOptions) []worker.Worker {
	if o.Projects == nil {
		return nil
	}
	RegisterProjects(light, o.Projects)
	if o.PollTaskQueue == "" {
		return nil
	}
	pw := worker.New(c, o.PollTaskQueue, worker.Options{
		TaskQueueActivitiesPerSecond:       o.PollPerSecond,
		MaxConcurrentActivityExecutionSize: 20,
	})
	pw.RegisterActivityWithOptions(o.Projects.CheckBranchHead, activity.RegisterOptions{Name: workflows.CheckBranchHeadActivity})
	return []worker.Worker{pw}
}
