package platform

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"

	"github.com/skydeploy/skydeploy/activities"
	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/control"
	"github.com/skydeploy/skydeploy/internal/egress"
	"github.com/skydeploy/skydeploy/internal/githead"
	"github.com/skydeploy/skydeploy/internal/livestatus"
	"github.com/skydeploy/skydeploy/internal/projects"
	"github.com/skydeploy/skydeploy/internal/sandbox"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/workers"
)

// NewActivities wires the activities of a worker. The egress proxy of builds refuses the
// addresses of every service in cfg, resolved now.
func NewActivities(ctx context.Context, cfg config.Config, store *storage.Store, live *livestatus.Store, log *slog.Logger) (*activities.Activities, error) {
	setting, err := egress.ParseSetting(cfg.BuildEgress)
	if err != nil {
		return nil, fmt.Errorf("SKYDEPLOY_BUILD_EGRESS: %w", err)
	}
	control := BuildControl(cfg)
	return &activities.Activities{
		Store: store,
		Live:  live,
		Log:   log,
		Settings: activities.Settings{
			WorkDir:         cfg.WorkDir,
			MaxRepoBytes:    cfg.MaxRepoBytes,
			MaxFileBytes:    cfg.MaxFileBytes,
			MaxFiles:        cfg.MaxFiles,
			MaxSiteBytes:    cfg.MaxSiteBytes,
			AllowPrivateGit: cfg.AllowPrivateGitHosts,
			GitHubToken:     cfg.GitHubToken,
			GitHubAPIURL:    cfg.GitHubAPIURL, GitCredentials: cfg.GitCredentials, CloneConcurrency: cfg.CloneConcurrency,
			Build: activities.BuildSettings{
				Timeout: cfg.BuildTimeout, MemoryBytes: cfg.BuildMemoryBytes, CPUSeconds: cfg.BuildCPUSeconds,
				CPUs: cfg.BuildCPUs, ResourceControl: control,
				MaxLogBytes: cfg.BuildMaxLogBytes, User: cfg.BuildUser, Sandbox: cfg.Sandbox,
				CacheBytes: cfg.BuildCacheBytes, Concurrency: cfg.BuildConcurrency, MaxWorkspaceBytes: cfg.BuildMaxDiskBytes,
				Egress: setting, EgressBytes: cfg.BuildEgressBytes,
				PlatformAddresses: egress.PlatformAddresses(ctx, nil, PlatformEndpoints(cfg)),
			},
		},
	}, nil
}

// BuildControl is how the sandbox enforces a build's resource limits under cfg.
func BuildControl(cfg config.Config) string {
	if cfg.BuildCgroups == "off" {
		return sandbox.ControlWatchdog
	}
	return sandbox.ControlAuto
}

// PlatformEndpoints lists the addresses of every SkyDeploy service in cfg: what a build must
// never reach.
func PlatformEndpoints(cfg config.Config) []string {
	return []string{
		cfg.RedisURL, cfg.TemporalAddress, cfg.S3Endpoint, cfg.GatewayAddr, cfg.ServeAddr,
		cfg.ServeAdminAddr, cfg.MetricsAddr, cfg.PublicAPIURL,
	}
}

// ProjectOptions wires the project activities (polls, project deployments, retention) and the
// poll worker's budget from cfg, and gives a the project store as the source of build-time
// environment variables.
func ProjectOptions(cfg config.Config, c client.Client, a *activities.Activities, log *slog.Logger) (workers.Options, error) {
	ps, err := projects.NewStore(a.Store, cfg.SecretKey)
	if err != nil {
		return workers.Options{}, err
	}
	a.Projects = ps
	perHour := cfg.PollRequestsPerHour
	if perHour <= 0 {
		perHour = 54
		if cfg.GitHubToken != "" {
			perHour = 54_000
		}
	}
	return workers.Options{
		Projects: &activities.ProjectActivities{
			Store: a.Store, Projects: ps, Temporal: c, Log: log,
			Control: control.New(c, control.SettingsFrom(cfg), log),
			Heads: &githead.Checker{
				GitHubAPIURL: cfg.GitHubAPIURL, GitHubToken: cfg.GitHubToken, GitCredentials: cfg.GitCredentials,
				AllowPrivate: cfg.AllowPrivateGitHosts,
			},
		},
		PollTaskQueue: cfg.PollTaskQueue,
		PollPerSecond: float64(perHour) / 3600,
	}, nil
}
