// Package activities holds every side effect of a deployment: cloning with go-git, detecting
// the project, storing the source snapshot, the sandboxed build, publishing to object storage
// and reporting live status to Redis. Activities are methods of one struct whose clients are
// injected, so tests and workers wire them the same way.
//
// Data passes between activities through object storage, never through a worker's disk: a
// workspace left on disk by an earlier step is only a cache, rebuilt when another worker
// takes the next step.
package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/skydeploy/skydeploy/internal/ids"
	"github.com/skydeploy/skydeploy/internal/livestatus"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/workflows"
)

// Settings are the limits and switches activities work under.
type Settings struct {
	WorkDir      string
	MaxRepoBytes int64
	MaxFileBytes int64
	MaxFiles     int
	MaxSiteBytes int64
	// AllowPrivateGit lets clones reach internal addresses (development and tests only).
	AllowPrivateGit bool
	// GitHubToken goes to GitHub's git host and to the host of GitHubAPIURL, and nowhere else;
	// GitCredentials ("host" or "host:port" -> "user:token") go each to their own host only.
	GitHubToken    string
	GitHubAPIURL   string
	GitCredentials map[string]string
	// CloneConcurrency bounds the clones this worker runs at once (0: 4).
	CloneConcurrency int
	// Build settings.
	Build BuildSettings
}

// Activities carries the clients every activity uses.
type Activities struct {
	Store    *storage.Store
	Live     *livestatus.Store // nil disables the live view
	Settings Settings
	Log      *slog.Logger
	// Secrets opens project settings (environment variables); nil when no projects exist.
	Projects ProjectSource

	cloneSlotsOnce sync.Once
	cloneSlots     chan struct{}
}

func (a *Activities) logger() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

func (a *Activities) workspace(deploymentID string) string {
	return filepath.Join(a.Settings.WorkDir, "deployments", deploymentID)
}

// checkDeploymentID refuses an id that is not a deployment id before it names a directory, an
// object key or a Redis key: workflow input is not trusted (a workflow can be started by hand).
func checkDeploymentID(id string) error {
	if !ids.IsDeployment(id) {
		return permanent(workflows.ErrInvalidInput, "refusing to work on %q: not a deployment id", id)
	}
	return nil
}

// permanent returns a non-retryable failure with a type the Temporal UI shows.
func permanent(errType, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), errType, nil)
}

// transient returns a retryable failure with a readable message.
func transient(errType string, err error, format string, args ...any) error {
	return temporal.NewApplicationErrorWithCause(fmt.Sprintf(format, args...)+": "+err.Error(), errType, err)
}

// isPermanent reports whether err is already a non-retryable application error.
func isPermanent(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.NonRetryable()
}

// keepAlive heartbeats every interval until the returned stop function is called, so that a
// long step (a slow clone, a large upload) is not mistaken for a dead worker, and so that
// cancellation reaches it.
func keepAlive(ctx context.Context, every time.Duration) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}
