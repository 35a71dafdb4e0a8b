package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/skydeploy/skydeploy/activities"
	"github.com/skydeploy/skydeploy/internal/detect"
	"github.com/skydeploy/skydeploy/internal/ids"
	"github.com/skydeploy/skydeploy/internal/manifest"
	"github.com/skydeploy/skydeploy/internal/projects"
	"github.com/skydeploy/skydeploy/internal/repourl"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/workflows"
)

// ProjectView is the API's view of a project: environment values masked, URLs resolved.
type ProjectView struct {
	Name             string    `json:"name"`
	RepoURL          string    `json:"repoUrl"`
	ProductionBranch string    `json:"productionBranch"`
	RootDir          string    `json:"rootDir"`
	InstallCommand   string    `json:"installCommand"`
	BuildCommand     string    `json:"buildCommand"`
	OutputDir        string    `json:"outputDir"`
	Env              []EnvView `json:"env"`
	Watch            WatchView `json:"watch"`
	URL              string    `json:"url"`
	LiveDeploymentID string    `json:"liveDeploymentId"`
	CreatedAt        time.Time `json:"createdAt"`
	UpdatedAt        time.Time `json:"updatedAt"`
}

// WatchView is a project's watch settings; Interval is a Go duration ("1m0s").
type WatchView struct {
	Enabled  bool   `json:"enabled"`
	Interval string `json:"interval"`
	Paused   bool   `json:"paused"`
	Previews bool   `json:"previews"`
}

// ProjectRequest is the body of POST /api/projects and PUT /api/projects/:name. On PUT an
// omitted field keeps its value; an env entry without "value" keeps the stored value.
type ProjectRequest struct {
	Name             *string       `json:"name"`
	RepoURL          *string       `json:"repoUrl"`
	ProductionBranch *string       `json:"productionBranch"`
	RootDir          *string       `json:"rootDir"`
	InstallCommand   *string       `json:"installCommand"`
	BuildCommand     *string       `json:"buildCommand"`
	OutputDir        *string       `json:"outputDir"`
	Env              *[]EnvRequest `json:"env"`
	Watch            *WatchRequest `json:"watch"`
}

// EnvView is one environment variable as the API shows it: secret values masked, plain ones
// as they are, and the environment it applies to.
type EnvView struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Secret bool   `json:"secret"`
	Target string `json:"target"`
}

// EnvRequest is one environment variable in a request. Secret defaults to true (and keeps the
// stored setting on PUT when omitted); Target is production, preview or all, defaulting to
// production for secrets and all for plain values.
type EnvRequest struct {
	Key    string  `json:"key"`
	Value  *string `json:"value"`
	Secret *bool   `json:"secret"`
	Target *string `json:"target"`
}

// WatchRequest changes watch settings; Interval is a Go duration such as "1m" or "30s".
type WatchRequest struct {
	Enabled  *bool   `json:"enabled"`
	Interval *string `json:"interval"`
	Paused   *bool   `json:"paused"`
	Previews *bool   `json:"previews"`
}

// errInvalid marks validation failures (422).
type errInvalid struct{ msg string }

func (e *errInvalid) Error() string { return e.msg }

func invalid(format string, args ...any) error { return &errInvalid{fmt.Sprintf(format, args...)} }

func (s *Server) projectStore() (*projects.Store, error) {
	return projects.NewStore(s.store, s.cfg.SecretKey)
}

// withProject loads the project named in the path, answering 404 or 503 itself.
func (s *Server) withProject(c *gin.Context) (*projects.Store, *projects.Project, bool) {
	name := c.Param("name")
	ps, err := s.projectStore()
	if err != nil {
		apiError(c, http.StatusInternalServerError, err.Error())
		return nil, nil, false
	}
	if ids.ValidateProject(name) != nil {
		apiError(c, http.StatusNotFound, "project "+name+" not found")
		return nil, nil, false
	}
	p, err := ps.Get(c.Request.Context(), name)
	if errors.Is(err, projects.ErrNotFound) {
		apiError(c, http.StatusNotFound, "project "+name+" not found")
		return nil, nil, false
	}
	if err != nil {
		s.log.Error("read project", "project", name, "error", err)
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return nil, nil, false
	}
	return ps, p, true
}

func (s *Server) view(ctx context.Context, ps *projects.Store, p *projects.Project) ProjectView {
	return ProjectView{
		Name: p.Name, RepoURL: p.RepoURL, ProductionBranch: p.Branch(), RootDir: p.RootDir,
		InstallCommand: p.InstallCommand, BuildCommand: p.BuildCommand, OutputDir: p.OutputDir,
		Env: envView(ps.Masked(p)),
		Watch: WatchView{
			Enabled: p.Watch.Enabled, Interval: s.interval(p).String(), Paused: p.Watch.Paused, Previews: p.Watch.Previews,
		},
		URL: s.cfg.SiteURL(p.Name), LiveDeploymentID: s.aliasTarget(ctx, p.Name), CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
}

func (s *Server) interval(p *projects.Project) time.Duration {
	if p.Watch.Interval > 0 {
		return p.Watch.Interval
	}
	if s.cfg.PollInterval > 0 {
		return s.cfg.PollInterval
	}
	return time.Minute
}

func (s *Server) listProjects(c *gin.Context) {
	ps, err := s.projectStore()
	if err != nil {
		apiError(c, http.StatusInternalServerError, err.Error())
		return
	}
	list, err := ps.List(c.Request.Context())
	if err != nil {
		s.log.Error("list projects", "error", err)
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return
	}
	out := make([]ProjectView, 0, len(list))
	for _, p := range list {
		out = append(out, s.view(c.Request.Context(), ps, p))
	}
	c.JSON(http.StatusOK, gin.H{"projects": out})
}

func (s *Server) getProject(c *gin.Context) {
	ps, p, ok := s.withProject(c)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, s.view(c.Request.Context(), ps, p))
}

func (s *Server) createProject(c *gin.Context) {
	var req ProjectRequest
	if err := c.ShouldBindJSON(&req); err != nil {
		apiError(c, http.StatusBadRequest, `request body must be JSON like {"name": "my-site", "repoUrl": "https://github.com/owner/repo"}`)
		return
	}
	ps, err := s.projectStore()
	if err != nil {
		apiError(c, http.StatusInternalServerError, err.Error())
		return
	}
	if req.Name == nil {
		apiError(c, http.StatusUnprocessableEntity, "name is required")
		return
	}
	name := strings.TrimSpace(*req.Name)
	if err := ids.ValidateProject(name); err != nil {
		apiError(c, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if req.RepoURL == nil {
		apiError(c, http.StatusUnprocessableEntity, "repoUrl is required")
		return
	}
	ctx := c.Request.Context()
	exists, err := ps.Exists(ctx, name)
	if err != nil {
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return
	}
	if exists {
		apiError(c, http.StatusConflict, "project "+name+" already exists")
		return
	}
	now := time.Now().UTC()
	p := &projects.Project{Name: name, ProductionBranch: projects.DefaultBranch, CreatedAt: now, UpdatedAt: now,
		Watch: projects.Watch{Enabled: true}}
	if req.Watch == nil || req.Watch.Enabled == nil {
		p.Watch.Enabled = true // a project redeploys itself unless told otherwise
	}
	if err := s.apply(ps, p, req); err != nil {
		s.writeProjectError(c, err)
		return
	}
	if err := ps.Put(ctx, p); err != nil {
		s.log.Error("write project", "project", name, "error", err)
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return
	}
	if err := s.syncSchedule(ctx, p, true); err != nil {
		s.log.Error("create poll schedule", "project", name, "error", err)
		apiError(c, http.StatusServiceUnavailable, "project saved, but its poll schedule could not be created (workflow service unavailable): save it again to retry")
		return
	}
	c.JSON(http.StatusCreated, s.view(ctx, ps, p))
}

func (s *Server) updateProject(c *gin.Context) {
	var req ProjectRequest
	if err := c.ShouldBindJSON(&req); err != nil {
		apiError(c, http.StatusBadRequest, "request body must be a JSON object")
		return
	}
	ps, p, ok := s.withProject(c)
	if !ok {
		return
	}
	if req.Name != nil && *req.Name != p.Name {
		apiError(c, http.StatusUnprocessableEntity, "a project cannot be renamed")
		return
	}
	if err := s.apply(ps, p, req); err != nil {
		s.writeProjectError(c, err)
		return
	}
	p.UpdatedAt = time.Now().UTC()
	ctx := c.Request.Context()
	if err := ps.Put(ctx, p); err != nil {
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return
	}
	if err := s.syncSchedule(ctx, p, false); err != nil {
		s.log.Error("update poll schedule", "project", p.Name, "error", err)
		apiError(c, http.StatusServiceUnavailable, "project saved, but its poll schedule could not be updated (workflow service unavailable): save it again to retry")
		return
	}
	c.JSON(http.StatusOK, s.view(ctx, ps, p))
}

func (s *Server) writeProjectError(c *gin.Context, err error) {
	var inv *errInvalid
	var re *repourl.Error
	switch {
	case errors.As(err, &inv), errors.As(err, &re), errors.Is(err, projects.ErrNoSecretKey):
		apiError(c, http.StatusUnprocessableEntity, err.Error())
	default:
		s.log.Error("project request", "error", err)
		apiError(c, http.StatusInternalServerError, "could not save the project")
	}
}

// apply validates req and merges it into p. Environment values are sealed here and never kept
// or logged in plain form.
func (s *Server) apply(ps *projects.Store, p *projects.Project, req ProjectRequest) error {
	if req.RepoURL != nil {
		repo, err := s.policy.Validate(*req.RepoURL)
		if err != nil {
			return err
		}
		p.RepoURL = repo
	}
	if req.ProductionBranch != nil {
		b := strings.TrimSpace(*req.ProductionBranch)
		if b == "" {
			b = projects.DefaultBranch
		}
		if err := repourl.ValidateBranch(b); err != nil {
			return err
		}
		p.ProductionBranch = b
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	set(&p.RootDir, req.RootDir)
	set(&p.InstallCommand, req.InstallCommand)
	set(&p.BuildCommand, req.BuildCommand)
	set(&p.OutputDir, req.OutputDir)
	if err := validateOverrides(detect.Overrides{RootDir: p.RootDir, InstallCommand: p.InstallCommand, BuildCommand: p.BuildCommand, OutputDir: p.OutputDir}); err != nil {
		return invalid("%v", err)
	}
	if req.Env != nil {
		env, err := mergeEnv(ps, p, *req.Env)
		if err != nil {
			return err
		}
		p.Env = env
	}
	if w := req.Watch; w != nil {
		if w.Enabled != nil {
			p.Watch.Enabled = *w.Enabled
		}
		if w.Paused != nil {
			p.Watch.Paused = *w.Paused
		}
		if w.Previews != nil {
			p.Watch.Previews = *w.Previews
		}
		if w.Interval != nil {
			if *w.Interval == "" {
				p.Watch.Interval = 0
			} else {
				d, err := time.ParseDuration(*w.Interval)
				if err != nil {
					return invalid("watch.interval %q is not a duration such as 30s or 5m", *w.Interval)
				}
				if d < s.cfg.MinPollInterval {
					return invalid("watch.interval must be at least %s (SKYDEPLOY_MIN_POLL_INTERVAL)", s.cfg.MinPollInterval)
				}
				if d > 24*time.Hour {
					return invalid("watch.interval must be at most 24h")
				}
				p.Watch.Interval = d
			}
		}
	}
	return nil
}

// envView is the API's form of a project's (masked) environment.
func envView(env []projects.EnvVar) []EnvView {
	out := make([]EnvView, 0, len(env))
	for _, e := range env {
		out = append(out, EnvView{Key: e.Key, Value: e.Value, Secret: !e.Plain, Target: e.EffectiveTarget()})
	}
	return out
}

// mergeEnv replaces p's environment with entries; an entry without a value keeps the stored
// one, and without secret or target keeps the stored setting.
func mergeEnv(ps *projects.Store, p *projects.Project, entries []EnvRequest) ([]projects.EnvVar, error) {
	if len(entries) > projects.MaxEnvVars {
		return nil, invalid("a project may have at most %d environment variables", projects.MaxEnvVars)
	}
	old := map[string]projects.EnvVar{}
	for _, e := range p.Env {
		old[e.Key] = e
	}
	seen := map[string]bool{}
	out := make([]projects.EnvVar, 0, len(entries))
	for _, e := range entries {
		key := strings.TrimSpace(e.Key)
		if err := projects.ValidateEnvKey(key); err != nil {
			return nil, invalid("%v", err)
		}
		if seen[key] {
			return nil, invalid("environment variable %s is given twice", key)
		}
		seen[key] = true
		prev, existed := old[key]
		v := projects.EnvVar{Key: key, Plain: prev.Plain, Target: prev.Target}
		if e.Secret != nil {
			v.Plain = !*e.Secret
		}
		if e.Target != nil {
			if err := projects.ValidateTarget(key, *e.Target); err != nil {
				return nil, invalid("%v", err)
			}
			v.Target = *e.Target
		}
		if e.Value == nil {
			if !existed {
				return nil, invalid("environment variable %s needs a value", key)
			}
			v.Value = prev.Value
			out = append(out, v)
			continue
		}
		if err := projects.ValidateEnvValue(key, *e.Value); err != nil {
			return nil, invalid("%v", err)
		}
		if !ps.CanSeal() {
			return nil, projects.ErrNoSecretKey
		}
		sealed, err := ps.Seal(p.Name, key, *e.Value)
		if err != nil {
			return nil, err
		}
		v.Value = sealed
		out = append(out, v)
	}
	return out, nil
}

// pollInput is the poll schedule's action argument for p.
func (s *Server) pollInput(p *projects.Project) workflows.PollInput {
	in := workflows.PollInput{Project: p.Name, RepoURL: p.RepoURL, Branch: p.Branch()}
	if _, _, ok := repourl.GitHubRepo(p.RepoURL); ok {
		in.CheckTaskQueue = s.cfg.PollTaskQueue
	}
	return in
}

func (s *Server) pollAction(p *projects.Project) *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{
		ID:                 workflows.PollScheduleID(p.Name),
		Workflow:           workflows.PollWorkflowName,
		Args:               []any{s.pollInput(p)},
		TaskQueue:          s.cfg.TaskQueue,
		WorkflowRunTimeout: 75 * time.Minute,
		Memo:               map[string]any{"project": p.Name},
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrProject.ValueSet(p.Name), workflows.AttrRepository.ValueSet(p.RepoURL), workflows.AttrBranch.ValueSet(p.Branch()),
		),
	}
}

// syncSchedule makes the project's poll schedule match its watch settings: none when watching
// is off, else one every interval (overlap SKIP: a slow or rate-limited poll is never doubled),
// paused when the watch is paused. A new schedule polls at once.
func (s *Server) syncSchedule(ctx context.Context, p *projects.Project, created bool) error {
	sc := s.temporal.ScheduleClient()
	id := workflows.PollScheduleID(p.Name)
	h := sc.GetHandle(ctx, id)
	if !p.Watch.Enabled {
		if err := h.Delete(ctx); err != nil && !isNotFound(err) {
			return err
		}
		return nil
	}
	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: s.interval(p)}}}
	if !created {
		if _, err := h.Describe(ctx); err == nil {
			return h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				sch := in.Description.Schedule
				sch.Spec = &spec
				sch.Action = s.pollAction(p)
				if sch.State == nil {
					sch.State = &client.ScheduleState{}
				}
				sch.State.Paused = p.Watch.Paused
				if sch.Policy == nil {
					sch.Policy = &client.SchedulePolicies{}
				}
				sch.Policy.Overlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
				return &client.ScheduleUpdate{Schedule: &sch}, nil
			}})
		} else if !isNotFound(err) {
			return err
		}
	}
	_, err := sc.Create(ctx, client.ScheduleOptions{
		ID:                    id,
		Spec:                  spec,
		Action:                s.pollAction(p),
		Overlap:               enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow:         time.Minute,
		Paused:                p.Watch.Paused,
		TriggerImmediately:    !p.Watch.Paused,
		Note:                  "polls " + p.RepoURL + " branch " + p.Branch() + " for new commits",
		Memo:                  map[string]any{"project": p.Name},
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.AttrProject.ValueSet(p.Name)),
	})
	var exists *serviceerror.AlreadyExists
	if errors.As(err, &exists) || (err != nil && strings.Contains(err.Error(), "already")) {
		// Left over from a project of the same name: replace it.
		if derr := h.Delete(ctx); derr != nil && !isNotFound(derr) {
			return derr
		}
		return s.syncSchedule(ctx, p, true)
	}
	return err
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf) || (err != nil && strings.Contains(strings.ToLower(err.Error()), "not found"))
}

// deleteProject removes the poll schedule, the project's aliases and settings, then purges its
// deployments (manifests, sources, artifacts, logs, and blobs no other deployment uses) through
// the retention workflow. Deployment workflow histories stay in Temporal until its own retention.
func (s *Server) deleteProject(c *gin.Context) {
	ps, p, ok := s.withProject(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	if err := s.temporal.ScheduleClient().GetHandle(ctx, workflows.PollScheduleID(p.Name)).Delete(ctx); err != nil && !isNotFound(err) {
		s.log.Error("delete poll schedule", "project", p.Name, "error", err)
		apiError(c, http.StatusServiceUnavailable, "could not delete the poll schedule: the workflow service is unavailable, try again")
		return
	}
	aliases, err := s.store.List(ctx, storage.AliasesPrefix)
	if err != nil {
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return
	}
	for _, o := range aliases {
		label := strings.TrimSuffix(strings.TrimPrefix(o.Key, storage.AliasesPrefix), ".json")
		if label != p.Name && !strings.HasPrefix(label, p.Name+"--") {
			continue
		}
		if a, err := s.readAlias(ctx, label); err == nil && a.Project != p.Name && a.Project != "" {
			continue
		}
		if err := s.store.Delete(ctx, o.Key); err != nil {
			apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
			return
		}
	}
	if err := ps.Delete(ctx, p.Name); err != nil {
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return
	}
	_, err = s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.RetentionWorkflowID(p.Name),
		TaskQueue:                s.cfg.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING,
		TypedSearchAttributes:    temporal.NewSearchAttributes(workflows.AttrProject.ValueSet(p.Name)),
	}, workflows.RetentionWorkflowName, workflows.RetentionInput{Project: p.Name, Purge: true})
	if err != nil {
		s.log.Warn("purge of deleted project's deployments not started", "project", p.Name, "error", err)
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) listProjectDeployments(c *gin.Context) {
	if _, _, ok := s.withProject(c); !ok {
		return
	}
	name := c.Param("name")
	size := 20
	if n, err := fmt.Sscanf(c.DefaultQuery("pageSize", "20"), "%d", &size); n != 1 || err != nil || size < 1 || size > 100 {
		size = 20
	}
	query := fmt.Sprintf("WorkflowType = '%s' AND %s = '%s'", workflows.DeployWorkflowName, workflows.AttrProject.GetName(), name)
	deps, next, err := s.listByQuery(c.Request.Context(), query, size, c.Query("pageToken"))
	if err != nil {
		s.log.Error("list project deployments", "project", name, "error", err)
		apiError(c, http.StatusServiceUnavailable, "the workflow service is unavailable, try again")
		return
	}
	live := s.aliasTarget(c.Request.Context(), name)
	for i := range deps {
		deps[i].Live = live != "" && deps[i].ID == live
	}
	c.JSON(http.StatusOK, gin.H{"deployments": deps, "nextPageToken": next})
}

// headChecker resolves a branch head the way the poller does (GitHub API or ls-remote).
func (s *Server) headChecker() *activities.ProjectActivities {
	return &activities.ProjectActivities{Settings: activities.ProjectSettings{
		GitHubAPIURL: s.cfg.GitHubAPIURL, GitHubToken: s.cfg.GitHubToken, AllowPrivateGit: s.cfg.AllowPrivateGitHosts,
		GitCredentials: s.cfg.GitCredentials,
	}}
}

// deployProject deploys the production branch's head now, under the same derived id the poller
// and webhooks use, so it never duplicates their deployment. A commit whose derived deployment
// failed is deployed again under a fresh id.
func (s *Server) deployProject(c *gin.Context) {
	_, p, ok := s.withProject(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	head, err := s.headChecker().CheckBranchHead(hctx, workflows.BranchHeadInput{Project: p.Name, RepoURL: p.RepoURL, Branch: p.Branch()})
	if err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.NonRetryable() {
			apiError(c, http.StatusUnprocessableEntity, appErr.Message())
			return
		}
		apiError(c, http.StatusBadGateway, "could not read the head of branch "+p.Branch()+": "+workflows.Reason(err))
		return
	}
	in := p.DeployInput(projects.DeployTarget{Branch: p.Branch(), Commit: head.SHA, Production: true, Trigger: "api"},
		s.cfg.BuildTaskQueue, s.cfg.SiteURL, time.Now())
	if d, err := s.deployment(ctx, in.DeploymentID); err == nil && (d.State == workflows.StateFailed || d.State == workflows.StateCanceled) {
		in.DeploymentID = ids.NewDeployment()
		in.URL = s.cfg.SiteURL(in.DeploymentID)
	}
	started, err := s.StartDeployment(ctx, in)
	if err != nil {
		s.log.Error("start project deployment", "project", p.Name, "error", err)
		apiError(c, http.StatusServiceUnavailable, "could not start the deployment: the workflow service is unavailable, try again")
		return
	}
	if err := activities.SignalRetention(ctx, s.temporal, s.cfg.TaskQueue, p.Name, s.cfg.KeepDeployments, started.WorkflowID); err != nil {
		s.log.Warn("retention not signalled", "project", p.Name, "error", err)
	}
	c.JSON(http.StatusAccepted, started)
}

// rollbackProject points the project's alias back at an earlier successful deployment of the
// project, without rebuilding: one object write, like publishing.
func (s *Server) rollbackProject(c *gin.Context) {
	var req struct {
		DeploymentID string `json:"deploymentId"`
	}
	if err := c.ShouldBindJSON(&req); err != nil || req.DeploymentID == "" {
		apiError(c, http.StatusBadRequest, `request body must be JSON like {"deploymentId": "..."}`)
		return
	}
	ps, p, ok := s.withProject(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	id := req.DeploymentID
	if !ids.IsDeployment(id) {
		apiError(c, http.StatusUnprocessableEntity, id+" is not a deployment id")
		return
	}
	data, err := s.store.GetBytes(ctx, storage.ManifestKey(id), 256<<20)
	if errors.Is(err, storage.ErrNotFound) {
		apiError(c, http.StatusUnprocessableEntity, "deployment "+id+" has no published files (it did not succeed, or retention removed it)")
		return
	}
	if err != nil {
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return
	}
	m, err := manifest.Parse(data)
	if err != nil {
		apiError(c, http.StatusUnprocessableEntity, "deployment "+id+" has an unreadable manifest")
		return
	}
	if m.Project != p.Name {
		apiError(c, http.StatusUnprocessableEntity, "deployment "+id+" is not a deployment of project "+p.Name)
		return
	}
	if s.aliasTarget(ctx, p.Name) == id {
		apiError(c, http.StatusConflict, "deployment "+id+" is already live for "+p.Name)
		return
	}
	alias, _ := json.Marshal(manifest.Alias{Label: p.Name, Project: p.Name, DeploymentID: id, UpdatedAt: time.Now().UTC(), Reason: "rollback"})
	if err := s.store.Put(ctx, storage.AliasKey(p.Name), alias, storage.PutOptions{ContentType: "application/json"}); err != nil {
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return
	}
	s.log.Info("project rolled back", "project", p.Name, "deployment", id)
	c.JSON(http.StatusOK, s.view(ctx, ps, p))
}

func (s *Server) pollProject(c *gin.Context) {
	_, p, ok := s.withProject(c)
	if !ok {
		return
	}
	if !p.Watch.Enabled {
		apiError(c, http.StatusConflict, "project "+p.Name+" is not watched: enable watch first")
		return
	}
	h := s.temporal.ScheduleClient().GetHandle(c.Request.Context(), workflows.PollScheduleID(p.Name))
	if err := h.Trigger(c.Request.Context(), client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP}); err != nil {
		s.scheduleError(c, p.Name, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"ok": true, "schedule": h.GetID()})
}

func (s *Server) pauseProject(c *gin.Context)  { s.setPaused(c, true) }
func (s *Server) resumeProject(c *gin.Context) { s.setPaused(c, false) }

func (s *Server) setPaused(c *gin.Context, paused bool) {
	ps, p, ok := s.withProject(c)
	if !ok {
		return
	}
	if !p.Watch.Enabled {
		apiError(c, http.StatusConflict, "project "+p.Name+" is not watched: enable watch first")
		return
	}
	ctx := c.Request.Context()
	h := s.temporal.ScheduleClient().GetHandle(ctx, workflows.PollScheduleID(p.Name))
	var err error
	if paused {
		err = h.Pause(ctx, client.SchedulePauseOptions{Note: "paused through the SkyDeploy API"})
	} else {
		err = h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: "resumed through the SkyDeploy API"})
	}
	if err != nil && isNotFound(err) {
		err = s.syncSchedule(ctx, p, false)
	}
	if err != nil {
		s.scheduleError(c, p.Name, err)
		return
	}
	p.Watch.Paused = paused
	p.UpdatedAt = time.Now().UTC()
	if err := ps.Put(ctx, p); err != nil {
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return
	}
	c.JSON(http.StatusOK, s.view(ctx, ps, p))
}

func (s *Server) scheduleError(c *gin.Context, project string, err error) {
	if isNotFound(err) {
		apiError(c, http.StatusConflict, "project "+project+" has no poll schedule: save the project to recreate it")
		return
	}
	s.log.Error("poll schedule", "project", project, "error", err)
	apiError(c, http.StatusServiceUnavailable, "the workflow service is unavailable, try again")
}

// attachToProject makes a deployment started from POST /api/deployments with a "project" belong
// to that project: its settings apply unless the request overrides them, a deployment of the
// production branch goes live at the project's URL, other branches deploy as previews. The
// repository must be the project's.
func (s *Server) attachToProject(c *gin.Context, in workflows.DeployInput, name string) (workflows.DeployInput, bool) {
	ps, err := s.projectStore()
	if err != nil {
		apiError(c, http.StatusInternalServerError, err.Error())
		return in, false
	}
	if ids.ValidateProject(name) != nil {
		apiError(c, http.StatusUnprocessableEntity, "project "+name+" does not exist")
		return in, false
	}
	p, err := ps.Get(c.Request.Context(), name)
	if errors.Is(err, projects.ErrNotFound) {
		apiError(c, http.StatusUnprocessableEntity, "project "+name+" does not exist")
		return in, false
	}
	if err != nil {
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return in, false
	}
	if !sameRepo(in.RepoURL, p.RepoURL) {
		apiError(c, http.StatusUnprocessableEntity, "project "+name+" deploys "+p.RepoURL+", not "+in.RepoURL)
		return in, false
	}
	production := in.Branch == "" || in.Branch == p.Branch()
	out := p.DeployInput(projects.DeployTarget{Branch: in.Branch, Commit: in.Commit, Production: production, Trigger: "api"},
		s.cfg.BuildTaskQueue, s.cfg.SiteURL, time.Now())
	if in.Commit == "" {
		// Without a commit the id cannot derive from it: every click is its own deployment.
		out.DeploymentID, out.URL = in.DeploymentID, in.URL
	}
	for _, o := range []struct{ req, dst *string }{
		{&in.Overrides.RootDir, &out.Overrides.RootDir}, {&in.Overrides.InstallCommand, &out.Overrides.InstallCommand},
		{&in.Overrides.BuildCommand, &out.Overrides.BuildCommand}, {&in.Overrides.OutputDir, &out.Overrides.OutputDir},
	} {
		if *o.req != "" {
			*o.dst = *o.req
		}
	}
	return out, true
}

// sameRepo compares repository URLs ignoring case of the host, a trailing slash and ".git".
func sameRepo(a, b string) bool {
	norm := func(u string) string {
		return strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(u), "/"), ".git")
	}
	return norm(a) == norm(b)
}
