package api

import (
	"time"

	"github.com/skydeploy/skydeploy/internal/detect"
)

// Deployment states.
const (
	StateQueued    = "queued"
	StateRunning   = "running"
	StateSucceeded = "succeeded"
	StateFailed    = "failed"
	StateCanceled  = "canceled"
	// StateNeedsAttention: a step failed for a reason of the platform's (storage down, a
	// registry unreachable, workers lost) past its retries; the deployment waits for an
	// operator to retry or abandon it.
	StateNeedsAttention = "needs_attention"
)

// Step states.
const (
	StepPending   = "pending"
	StepRunning   = "running"
	StepSucceeded = "succeeded"
	StepFailed    = "failed"
	StepSkipped   = "skipped"
	StepCanceled  = "canceled"
	// StepNeedsAttention: the step failed for the platform's reasons; it runs again if an
	// operator retries the deployment.
	StepNeedsAttention = "needs_attention"
)

// Ended reports whether a deployment state is final.
func Ended(state string) bool {
	return state == StateSucceeded || state == StateFailed || state == StateCanceled
}

// StepState is one step's progress.
type StepState struct {
	Name       string     `json:"name"`
	State      string     `json:"state"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
}

// Duration is how long the step ran (so far, for a running step; 0 before it started).
func (s StepState) Duration(now time.Time) time.Duration {
	if s.StartedAt == nil {
		return 0
	}
	end := now
	if s.FinishedAt != nil {
		end = *s.FinishedAt
	}
	return end.Sub(*s.StartedAt)
}

// Commit is the commit a deployment deploys, as the clone recorded it.
type Commit struct {
	SHA     string `json:"sha"`
	Message string `json:"message"`
	Author  string `json:"author"`
	Email   string `json:"email,omitempty"`
	Time    string `json:"time,omitempty"`
}

// DeploymentStatus is what the deployment workflow's status query returns and keeps in its
// memo, and the core of what the API shows. Its JSON form is stored in Temporal histories:
// fields may be added, never renamed.
type DeploymentStatus struct {
	ID         string           `json:"id"`
	State      string           `json:"status"`
	Step       string           `json:"step,omitempty"`
	Steps      []StepState      `json:"steps"`
	RepoURL    string           `json:"repoUrl"`
	Branch     string           `json:"branch,omitempty"`
	Project    string           `json:"project,omitempty"`
	Production bool             `json:"production,omitempty"`
	Commit     *Commit          `json:"commit,omitempty"`
	Plan       *detect.Plan     `json:"plan,omitempty"`
	URL        string           `json:"url"`
	Error      string           `json:"error,omitempty"`
	CreatedAt  time.Time        `json:"createdAt"`
	FinishedAt *time.Time       `json:"finishedAt,omitempty"`
	Files      int              `json:"files,omitempty"`
	Bytes      int64            `json:"bytes,omitempty"`
	Trigger    string           `json:"trigger,omitempty"`
	Overrides  detect.Overrides `json:"overrides,omitempty"`
	// Attention is set while the deployment needs an operator (and kept after, for the record).
	Attention *Attention `json:"attention,omitempty"`
	// ResetByOperator: this run was made by a reset in the Temporal UI (same deployment id).
	ResetByOperator bool `json:"resetByOperator,omitempty"`
	// Upload is set when the source is an uploaded folder rather than a clone (upload.go).
	Upload *UploadSource `json:"upload,omitempty"`
}

// Attention says why a deployment needs an operator.
type Attention struct {
	Step     string    `json:"step"`
	Reason   string    `json:"reason"`
	Since    time.Time `json:"since"`
	Deadline time.Time `json:"deadline"`
	// Retries counts the operator's retries of this deployment so far.
	Retries int `json:"retries,omitempty"`
}

// Deployment is the API's view of a deployment: its status and where Temporal keeps it.
type Deployment struct {
	DeploymentStatus
	WorkflowID  string `json:"workflowId"`
	RunID       string `json:"runId,omitempty"`
	TemporalURL string `json:"temporalUrl"`
	// Live says the deployment's project URL serves it.
	Live bool `json:"live,omitempty"`
}

// DeploymentList is a page of deployments, newest first.
type DeploymentList struct {
	Deployments []Deployment `json:"deployments"`
	// NextPageToken is empty on the last page.
	NextPageToken string `json:"nextPageToken"`
}

// DeploymentRequest is the body of POST /api/deployments. With Project the deployment belongs
// to that project (whose repository it must be): the project's settings apply unless the
// request overrides them, the production branch goes live at the project's URL and other
// branches deploy as previews.
type DeploymentRequest struct {
	RepoURL        string `json:"repoUrl"`
	Branch         string `json:"branch,omitempty"`
	Commit         string `json:"commit,omitempty"`
	Project        string `json:"project,omitempty"`
	RootDir        string `json:"rootDir,omitempty"`
	InstallCommand string `json:"installCommand,omitempty"`
	BuildCommand   string `json:"buildCommand,omitempty"`
	OutputDir      string `json:"outputDir,omitempty"`
}

// StartedDeployment answers a request that started a deployment (or found it started).
type StartedDeployment struct {
	ID         string `json:"id"`
	URL        string `json:"url"`
	WorkflowID string `json:"workflowId"`
}

// CanceledDeployment answers POST /api/deployments/:id/cancel.
type CanceledDeployment struct {
	ID string `json:"id"`
}

// SignaledDeployment answers POST /api/deployments/:id/retry and /abandon: the signal was
// sent to the deployment's workflow.
type SignaledDeployment struct {
	ID     string `json:"id"`
	Signal string `json:"signal"`
}

// AbandonRequest is the (optional) body of POST /api/deployments/:id/abandon.
type AbandonRequest struct {
	Reason string `json:"reason,omitempty"`
}

// LogLine is one line of a deployment's log: in the live stream (Redis), in the archive in
// object storage, and in the API's log events.
type LogLine struct {
	// ID is the stream position, set when the line is read back; events carry it as their id.
	ID     string    `json:"id,omitempty"`
	Step   string    `json:"step"`
	Stream string    `json:"stream"` // stdout, stderr or system
	Text   string    `json:"line"`
	Time   time.Time `json:"ts"`
}

// LogEnd is the data of a log stream's last event, "end".
type LogEnd struct {
	Status string `json:"status"`
}
