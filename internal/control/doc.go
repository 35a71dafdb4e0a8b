// Package control is the one place where SkyDeploy's API and its activities tell Temporal to do
// something:
//
//   - deploy.go: a project's commit becomes a deployment's workflow input (the same for every
//     trigger: API, webhook, poll), and Start starts the deployment workflow `deploy-<id>` with
//     its memo, typed search attributes and id policies, then tells the project's retention
//     workflow about production deployments; Cancel stops one.
//   - schedules.go: a project's poll schedule `poll-<project>` follows its watch settings
//     (created, updated, paused, triggered, deleted).
//   - retention.go: the retention workflow `retention-<project>` is signalled (started if
//     needed) for each production deployment, and started to purge a deleted project.
//   - uploads.go: an uploaded folder becomes a deployment's workflow input (production, a
//     preview or neither), and the schedule `collect-uploads` removes stale uploads.
//
// Reading deployments back (describe, query, list) is the gateway's, which shows them.
//
// It must never import gin, Redis, the sandbox, the build cache or the activities: the gateway
// imports it and runs none of those. Of object storage it knows only the projects' types.
package control

import (
	"errors"
	"log/slog"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/skydeploy/skydeploy/internal/config"
)

// Settings say where workflows run and how projects deploy.
type Settings struct {
	// TaskQueue runs the deployment, poll and retention workflows; BuildTaskQueue the builds.
	TaskQueue      string
	BuildTaskQueue string
	// PollTaskQueue runs the head checks of GitHub repositories, rate-limited (SKYDEPLOY_POLL_*).
	PollTaskQueue string
	// SiteURL is the public URL of a host label (a deployment id, a project, a preview label).
	SiteURL func(label string) string
	// KeepDeployments is how many deployments retention keeps per project (< 1: no retention).
	KeepDeployments int
	// PollInterval is the watch interval of projects that set none (default one minute).
	PollInterval time.Duration
	// AttentionTimeout is how long a deployment that needs an operator waits (0: the
	// workflow's default); StepAttempts how often a light step is tried first (0: default).
	AttentionTimeout time.Duration
	StepAttempts     int
}

// SettingsFrom takes the settings from the configuration.
func SettingsFrom(cfg config.Config) Settings {
	return Settings{
		TaskQueue: cfg.TaskQueue, BuildTaskQueue: cfg.BuildTaskQueue, PollTaskQueue: cfg.PollTaskQueue,
		SiteURL: cfg.SiteURL, KeepDeployments: cfg.KeepDeployments, PollInterval: cfg.PollInterval,
		AttentionTimeout: cfg.AttentionTimeout, StepAttempts: cfg.StepAttempts,
	}
}

// Control starts and steers SkyDeploy's workflows through one Temporal client.
type Control struct {
	temporal client.Client
	s        Settings
	log      *slog.Logger
}

// New returns a Control; log (nil: slog.Default) hears about retention signals that failed.
func New(c client.Client, s Settings, log *slog.Logger) *Control {
	if log == nil {
		log = slog.Default()
	}
	return &Control{temporal: c, s: s, log: log}
}

// ErrNoSchedule says a project has no poll schedule (watching is off, or it was deleted).
var ErrNoSchedule = errors.New("the project has no poll schedule")

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf) || (err != nil && strings.Contains(strings.ToLower(err.Error()), "not found"))
}
