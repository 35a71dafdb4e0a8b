package apiclient

import "time"

// Deployment states and step states.
const (
	StateQueued    = "queued"
	StateRunning   = "running"
	StateSucceeded = "succeeded"
	StateFailed    = "failed"
	StateCanceled  = "canceled"

	StepPending   = "pending"
	StepRunning   = "running"
	StepSucceeded = "succeeded"
	StepFailed    = "failed"
	StepSkipped   = "skipped"
	StepCanceled  = "canceled"
)

// Ended reports whether a deployment state is final.
func Ended(state string) bool {
	return state == StateSucceeded || state == StateFailed || state == StateCanceled
}

// DeploymentRequest is the body of POST /api/deployments.
type DeploymentRequest struct {
	RepoURL        string `json:"repoUrl"`
	Branch         string `json:"branch,omitempty"`
	Commit         string `json:"commit,omitempty"`
	RootDir        string `json:"rootDir,omitempty"`
	InstallCommand string `json:"installCommand,omitempty"`
	BuildCommand   string `json:"buildCommand,omitempty"`
	OutputDir      string `json:"outputDir,omitempty"`
}

// StartedDeployment answers a request that started a deployment.
type StartedDeployment struct {
	ID         string `json:"id"`
	URL        string `json:"url"`
	WorkflowID string `json:"workflowId"`
}

// Step is one step of a deployment.
type Step struct {
	Name       string     `json:"name"`
	State      string     `json:"state"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
}

// Duration is how long the step ran (so far, for a running step; 0 before it started).
func (s Step) Duration(now time.Time) time.Duration {
	if s.StartedAt == nil {
		return 0
	}
	end := now
	if s.FinishedAt != nil {
		end = *s.FinishedAt
	}
	return end.Sub(*s.StartedAt)
}

// Commit is the deployed commit.
type Commit struct {
	SHA     string `json:"sha"`
	Message string `json:"message"`
	Author  string `json:"author"`
	Email   string `json:"email,omitempty"`
	Time    string `json:"time,omitempty"`
}

// Plan is the build plan detection made.
type Plan struct {
	Kind           string   `json:"kind"`
	Framework      string   `json:"framework,omitempty"`
	FrameworkName  string   `json:"frameworkName,omitempty"`
	RootDir        string   `json:"rootDir,omitempty"`
	PackageManager string   `json:"packageManager,omitempty"`
	InstallCommand string   `json:"installCommand,omitempty"`
	BuildCommand   string   `json:"buildCommand,omitempty"`
	OutputDir      string   `json:"outputDir,omitempty"`
	NodeVersion    string   `json:"nodeVersion,omitempty"`
	SPA            bool     `json:"spa,omitempty"`
	Notes          []string `json:"notes,omitempty"`
}

// Deployment is the API's view of a deployment (gateway.Deployment).
type Deployment struct {
	ID          string     `json:"id"`
	State       string     `json:"status"`
	Step        string     `json:"step,omitempty"`
	Steps       []Step     `json:"steps"`
	RepoURL     string     `json:"repoUrl"`
	Branch      string     `json:"branch,omitempty"`
	Project     string     `json:"project,omitempty"`
	Production  bool       `json:"production,omitempty"`
	Commit      *Commit    `json:"commit,omitempty"`
	Plan        *Plan      `json:"plan,omitempty"`
	URL         string     `json:"url"`
	Error       string     `json:"error,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	FinishedAt  *time.Time `json:"finishedAt,omitempty"`
	Files       int        `json:"files,omitempty"`
	Bytes       int64      `json:"bytes,omitempty"`
	Trigger     string     `json:"trigger,omitempty"`
	WorkflowID  string     `json:"workflowId"`
	RunID       string     `json:"runId,omitempty"`
	TemporalURL string     `json:"temporalUrl"`
	Live        bool       `json:"live,omitempty"`
}

// DeploymentList is a page of deployments.
type DeploymentList struct {
	Deployments   []Deployment `json:"deployments"`
	NextPageToken string       `json:"nextPageToken"`
}

// ListOptions filter and page deployment lists.
type ListOptions struct {
	Project   string // only this project's deployments
	Status    string // running, succeeded, failed or canceled
	PageSize  int    // 1..100 (default 20)
	PageToken string // NextPageToken of the previous page
}

// LogLine is one line of a deployment's log.
type LogLine struct {
	ID     string    `json:"id,omitempty"`
	Step   string    `json:"step"`
	Stream string    `json:"stream"` // stdout, stderr or system
	Line   string    `json:"line"`
	Time   time.Time `json:"ts"`
}

// EnvVar is a project environment variable (values are masked in answers).
type EnvVar struct {
	Key   string  `json:"key"`
	Value *string `json:"value,omitempty"`
}

// Watch says whether and how a project redeploys itself on new commits.
type Watch struct {
	Enabled  bool   `json:"enabled"`
	Interval string `json:"interval"`
	Paused   bool   `json:"paused"`
	Previews bool   `json:"previews"`
}

// Project is a project as the API shows it.
type Project struct {
	Name             string    `json:"name"`
	RepoURL          string    `json:"repoUrl"`
	ProductionBranch string    `json:"productionBranch"`
	RootDir          string    `json:"rootDir"`
	InstallCommand   string    `json:"installCommand"`
	BuildCommand     string    `json:"buildCommand"`
	OutputDir        string    `json:"outputDir"`
	Env              []EnvVar  `json:"env"`
	Watch            Watch     `json:"watch"`
	URL              string    `json:"url"`
	LiveDeploymentID string    `json:"liveDeploymentId"`
	CreatedAt        time.Time `json:"createdAt"`
	UpdatedAt        time.Time `json:"updatedAt"`
}

// ProjectInput is the body of POST /api/projects and PUT /api/projects/:name: nil fields are
// left out (on PUT they keep their value).
type ProjectInput struct {
	Name             *string     `json:"name,omitempty"`
	RepoURL          *string     `json:"repoUrl,omitempty"`
	ProductionBranch *string     `json:"productionBranch,omitempty"`
	RootDir          *string     `json:"rootDir,omitempty"`
	InstallCommand   *string     `json:"installCommand,omitempty"`
	BuildCommand     *string     `json:"buildCommand,omitempty"`
	OutputDir        *string     `json:"outputDir,omitempty"`
	Env              *[]EnvVar   `json:"env,omitempty"`
	Watch            *WatchInput `json:"watch,omitempty"`
}

// WatchInput changes a project's watch settings; nil fields are left out.
type WatchInput struct {
	Enabled  *bool   `json:"enabled,omitempty"`
	Interval *string `json:"interval,omitempty"`
	Paused   *bool   `json:"paused,omitempty"`
	Previews *bool   `json:"previews,omitempty"`
}

// Config is the gateway's public configuration (GET /api/config).
type Config struct {
	BaseDomain        string `json:"baseDomain"`
	TemporalUIURL     string `json:"temporalUIURL"`
	TemporalNamespace string `json:"temporalNamespace"`
	AuthRequired      bool   `json:"authRequired"`
	Version           string `json:"version"`
}

// String returns a pointer to s (for ProjectInput fields).
func String(s string) *string { return &s }

// Bool returns a pointer to b (for WatchInput fields).
func Bool(b bool) *bool { return &b }
