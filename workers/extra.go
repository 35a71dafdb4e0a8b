package workers

import (
	"go.temporal.io/sdk/worker"

	"github.com/skydeploy/skydeploy/activities"
)

// registerExtra registers the workflows and activities of projects, polling and retention.
func registerExtra(w worker.Registry, a *activities.Activities) {}
