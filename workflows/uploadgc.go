package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// CollectUploadsWorkflowName is the workflow type that removes stale uploads; the Temporal
// Schedule CollectUploadsScheduleID runs it (internal/control makes the schedule).
const CollectUploadsWorkflowName = "CollectUploads"

// CollectUploadsScheduleID is the one schedule that collects stale uploads.
const CollectUploadsScheduleID = "collect-uploads"

// CollectUploadsActivity deletes stale upload manifests and the contents no manifest lists.
const CollectUploadsActivity = "CollectUploads"

// CollectUploadsInput says how old an upload may get.
type CollectUploadsInput struct {
	// TTL: manifests older than this are deleted, and contents older than this that no
	// remaining manifest lists (SKYDEPLOY_UPLOAD_TTL).
	TTL time.Duration `json:"ttl"`
}

// CollectUploadsResult counts what was removed and kept.
type CollectUploadsResult struct {
	ManifestsDeleted int   `json:"manifestsDeleted"`
	ManifestsKept    int   `json:"manifestsKept"`
	ContentsDeleted  int   `json:"contentsDeleted"`
	BytesDeleted     int64 `json:"bytesDeleted"`
	ContentsKept     int   `json:"contentsKept"`
	// Skipped says why contents were not collected (a manifest could not be read).
	Skipped string `json:"skipped,omitempty"`
}

// CollectUploads removes what uploaded folders left behind: an upload's manifest TTL after it
// was made (a deployment copies the files into its own source snapshot in its first step, so a
// deployed upload needs its manifest no longer than an undeployed one), and each content TTL
// after it was sent once no remaining manifest lists it. One activity does it; the schedule
// runs this again later if it fails.
func CollectUploads(ctx workflow.Context, in CollectUploadsInput) (CollectUploadsResult, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 2 * time.Second, MaximumInterval: time.Minute, MaximumAttempts: 5},
	})
	var res CollectUploadsResult
	err := workflow.ExecuteActivity(actx, CollectUploadsActivity, in).Get(ctx, &res)
	return res, err
}
