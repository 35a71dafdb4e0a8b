// Package workflows holds SkyDeploy's deterministic orchestration: the deployment workflow
// (clone -> detect -> upload -> build -> publish) and its types. No I/O happens here: every side
// effect is an activity in package activities.
//
// It must never import Redis, S3, HTTP clients or go-git (internal/gitfetch): its types come
// from internal/api and internal/detect, which are data (go list -deps ./workflows shows it).
package workflows

import (
	"time"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/detect"
)

// DeployWorkflowName is the workflow type operators see in the Temporal UI.
const DeployWorkflowName = "Deploy"

// StatusQuery returns the deployment's DeploymentStatus.
const StatusQuery = "status"

// Activity names, as operators read them in the Temporal UI.
const (
	CloneActivity   = "CloneRepository"
	DetectActivity  = "DetectProject"
	UploadActivity  = "UploadSource"
	BuildActivity   = "BuildProject"
	PublishActivity = "PublishDeployment"
	StatusActivity  = "ReportStatus"
)

// Steps in order.
const (
	StepClone   = "clone"
	StepDetect  = "detect"
	StepUpload  = "upload"
	StepBuild   = "build"
	StepPublish = "publish"
)

// AllSteps lists the steps in the order they run.
var AllSteps = []string{StepClone, StepDetect, StepUpload, StepBuild, StepPublish}

// Deployment states (defined with the API's types, which show them).
const (
	StateQueued         = api.StateQueued
	StateRunning        = api.StateRunning
	StateSucceeded      = api.StateSucceeded
	StateFailed         = api.StateFailed
	StateCanceled       = api.StateCanceled
	StateNeedsAttention = api.StateNeedsAttention
)

// Signals an operator sends to a deployment that needs attention (from the dashboard, the CLI,
// or the Temporal UI's Signal dialog).
const (
	// SignalRetry runs the failed step again. No input.
	SignalRetry = "retry"
	// SignalAbandon fails the deployment. Input: an optional reason (a JSON string).
	SignalAbandon = "abandon"
)

// DefaultAttentionTimeout is how long a deployment waits for an operator before it fails.
const DefaultAttentionTimeout = 24 * time.Hour

// Attention says why a deployment needs an operator.
type Attention = api.Attention

// Step states.
const (
	StepPending        = api.StepPending
	StepRunning        = api.StepRunning
	StepSucceeded      = api.StepSucceeded
	StepFailed         = api.StepFailed
	StepSkipped        = api.StepSkipped
	StepCanceled       = api.StepCanceled
	StepNeedsAttention = api.StepNeedsAttention
)

// Error types of non-retryable failures, as the Temporal UI shows them.
const (
	ErrInvalidInput       = "InvalidInput"
	ErrUnsupportedProject = "UnsupportedProject"
	ErrLimitExceeded      = "LimitExceeded"
	ErrBuildFailed        = "BuildFailed"
	ErrUnsafeContent      = "UnsafeContent"
)

// DeployInput starts a deployment. It holds no secrets: project environment variables are read
// by the build activity from the project's encrypted settings.
type DeployInput struct {
	DeploymentID string `json:"deploymentId"`
	RepoURL      string `json:"repoUrl"`
	Branch       string `json:"branch,omitempty"`
	Commit       string `json:"commit,omitempty"`
	Project      string `json:"project,omitempty"`
	// Production deployments move the project's alias when they publish.
	Production bool `json:"production,omitempty"`
	// AliasLabels are the host labels publishing moves to this deployment (project, project--branch).
	AliasLabels []string         `json:"aliasLabels,omitempty"`
	Overrides   detect.Overrides `json:"overrides,omitempty"`
	// BuildTaskQueue is the task queue of build workers.
	BuildTaskQueue string `json:"buildTaskQueue"`
	// Trigger says what started it: api, redeploy, poll, webhook, upload.
	Trigger     string    `json:"trigger,omitempty"`
	RequestedAt time.Time `json:"requestedAt"`
	// URL is the deployment's own public URL.
	URL string `json:"url"`
	// AttentionTimeout is how long the deployment waits for an operator when a step failed for
	// the platform's reasons past its retries (0: DefaultAttentionTimeout).
	AttentionTimeout time.Duration `json:"attentionTimeout,omitempty"`
	// StepAttempts is how many times a light step is tried before the deployment needs
	// attention (0: 8); builds are tried at most 4 times.
	StepAttempts int32 `json:"stepAttempts,omitempty"`
	// Upload, when set, makes the source an uploaded folder instead of RepoURL (upload.go):
	// RepoURL is then empty, or the repository of Project so its settings apply.
	Upload *api.UploadSource `json:"upload,omitempty"`
}

// StepState is one step's progress.
type StepState = api.StepState

// Commit is the commit a deployment deploys, as the clone recorded it.
type Commit = api.Commit

// DeploymentStatus is what the status query returns and the memo holds: the API shows it as
// it is (api.Deployment embeds it), so it is defined with the API's types.
type DeploymentStatus = api.DeploymentStatus

// MemoKey is the memo field holding the DeploymentStatus, so lists need no query per row.
const MemoKey = "deployment"

// CloneInput asks for a repository at a branch or commit.
type CloneInput struct {
	DeploymentID string `json:"deploymentId"`
	RepoURL      string `json:"repoUrl"`
	Branch       string `json:"branch,omitempty"`
	Commit       string `json:"commit,omitempty"`
	// SourceKey, when set, is the deployment's stored source snapshot, which a worker without
	// the workspace unpacks instead of cloning (deployments of uploaded folders).
	SourceKey string `json:"sourceKey,omitempty"`
}

// CloneResult describes the fetched commit and its tree.
type CloneResult struct {
	Commit Commit `json:"commit"`
	Files  int    `json:"files"`
	Bytes  int64  `json:"bytes"`
}

// DetectInput asks for the build plan of a cloned commit.
type DetectInput struct {
	CloneInput
	Overrides detect.Overrides `json:"overrides,omitempty"`
}

// UploadResult says where the source snapshot was stored.
type UploadResult struct {
	Key   string `json:"key"`
	Files int    `json:"files"`
	Bytes int64  `json:"bytes"`
}

// BuildInput asks a build worker to build a stored source snapshot.
type BuildInput struct {
	DeploymentID string `json:"deploymentId"`
	Project      string `json:"project,omitempty"`
	// Branch decides, with the project's settings, whether this is a production build (its
	// caches and variables) or a preview.
	Branch string `json:"branch,omitempty"`
	// RepoURL scopes the build cache of deployments that belong to no project.
	RepoURL   string      `json:"repoUrl,omitempty"`
	SourceKey string      `json:"sourceKey"`
	Plan      detect.Plan `json:"plan"`
}

// BuildResult says where the build output was stored.
type BuildResult struct {
	ArtifactKey string        `json:"artifactKey"`
	Files       int           `json:"files"`
	Bytes       int64         `json:"bytes"`
	Duration    time.Duration `json:"duration"`
	CacheHit    bool          `json:"cacheHit"`
}

// PublishInput asks to publish an archive (build output or source snapshot) as a deployment.
type PublishInput struct {
	DeploymentID string      `json:"deploymentId"`
	Project      string      `json:"project,omitempty"`
	Branch       string      `json:"branch,omitempty"`
	RepoURL      string      `json:"repoUrl,omitempty"`
	Commit       Commit      `json:"commit"`
	Plan         detect.Plan `json:"plan"`
	ArchiveKey   string      `json:"archiveKey"`
	// SubDir is the directory inside the archive whose files are published ("" = all).
	SubDir string `json:"subDir,omitempty"`
	// AliasLabels are what the workflow expects publishing to move; the activity derives the
	// labels itself from the project and branch and moves only those.
	AliasLabels []string `json:"aliasLabels,omitempty"`
	// RequestedAt orders deployments: publishing never moves an alias away from a newer one.
	RequestedAt time.Time `json:"requestedAt"`
}

// PublishResult counts what was published.
type PublishResult struct {
	Files    int   `json:"files"`
	Bytes    int64 `json:"bytes"`
	Uploaded int   `json:"uploaded"`
	Reused   int   `json:"reused"`
}

// StatusUpdate is what ReportStatus writes to the live view.
type StatusUpdate struct {
	DeploymentID string `json:"deploymentId"`
	State        string `json:"state"`
	Step         string `json:"step,omitempty"`
	Error        string `json:"error,omitempty"`
	// Message, when set, is written to the deployment's log as a system line.
	Message string `json:"message,omitempty"`
	// ResetRunID, in a run made by an operator's reset, is that run's id: the first report of
	// the run writes a "reset by an operator" line to the live log, once.
	ResetRunID string `json:"resetRunId,omitempty"`
}
