package activities

import (
	"context"
	"time"

	"github.com/skydeploy/skydeploy/workflows"
)

// BuildSettings configure the sandboxed build.
type BuildSettings struct {
	Timeout     time.Duration
	MemoryBytes int64
	CPUSeconds  int64
	MaxLogBytes int64
	User        string
	Sandbox     string
	CacheBytes  int64
	Concurrency int
}

// ProjectSource gives the build a project's build-time environment variables, decrypted.
type ProjectSource interface {
	BuildEnv(ctx context.Context, project string) (map[string]string, error)
}

// BuildProject is replaced by the sandboxed build.
func (a *Activities) BuildProject(ctx context.Context, in workflows.BuildInput) (workflows.BuildResult, error) {
	return workflows.BuildResult{}, permanent(workflows.ErrUnsupportedProject, "builds are not available on this worker")
}
