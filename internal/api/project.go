package api

import "time"

// Environment variable targets: which builds a variable applies to.
const (
	TargetProduction = "production"
	TargetPreview    = "preview"
	TargetAll        = "all"
)

// Project is the API's view of a project: secret environment values masked, URLs resolved.
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

// ProjectList answers GET /api/projects.
type ProjectList struct {
	Projects []Project `json:"projects"`
}

// EnvVar is one environment variable as the API shows it: a secret's value masked, a plain
// value as it is, and the builds it applies to (TargetProduction, TargetPreview, TargetAll).
type EnvVar struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Secret bool   `json:"secret"`
	Target string `json:"target"`
}

// Watch is a project's watch settings; Interval is a Go duration ("1m0s").
type Watch struct {
	Enabled  bool   `json:"enabled"`
	Interval string `json:"interval"`
	Paused   bool   `json:"paused"`
	Previews bool   `json:"previews"`
}

// ProjectInput is the body of POST /api/projects and PUT /api/projects/:name. A nil field is
// left out; on PUT it keeps its value.
type ProjectInput struct {
	Name             *string        `json:"name,omitempty"`
	RepoURL          *string        `json:"repoUrl,omitempty"`
	ProductionBranch *string        `json:"productionBranch,omitempty"`
	RootDir          *string        `json:"rootDir,omitempty"`
	InstallCommand   *string        `json:"installCommand,omitempty"`
	BuildCommand     *string        `json:"buildCommand,omitempty"`
	OutputDir        *string        `json:"outputDir,omitempty"`
	Env              *[]EnvVarInput `json:"env,omitempty"`
	Watch            *WatchInput    `json:"watch,omitempty"`
}

// EnvVarInput is one environment variable in a request; the list replaces the project's. A nil
// Value keeps the stored value. Secret defaults to true (on PUT, nil keeps the stored setting);
// Target defaults to production for secrets and all for plain values.
type EnvVarInput struct {
	Key    string  `json:"key"`
	Value  *string `json:"value,omitempty"`
	Secret *bool   `json:"secret,omitempty"`
	Target *string `json:"target,omitempty"`
}

// WatchInput changes a project's watch settings; Interval is a Go duration such as "1m" or
// "30s" ("" = the server's default). A nil field keeps its value.
type WatchInput struct {
	Enabled  *bool   `json:"enabled,omitempty"`
	Interval *string `json:"interval,omitempty"`
	Paused   *bool   `json:"paused,omitempty"`
	Previews *bool   `json:"previews,omitempty"`
}

// RollbackRequest is the body of POST /api/projects/:name/rollback.
type RollbackRequest struct {
	DeploymentID string `json:"deploymentId"`
}

// PollAnswer answers POST /api/projects/:name/poll: the poll schedule was triggered.
type PollAnswer struct {
	OK       bool   `json:"ok"`
	Schedule string `json:"schedule"`
}
