package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/detect"
	"github.com/skydeploy/skydeploy/internal/projects"
	"github.com/skydeploy/skydeploy/internal/repourl"
)

// errInvalid marks validation failures (422).
type errInvalid struct{ msg string }

func (e *errInvalid) Error() string { return e.msg }

func invalid(format string, args ...any) error { return &errInvalid{fmt.Sprintf(format, args...)} }

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
func (s *Server) apply(ps *projects.Store, p *projects.Project, req api.ProjectInput) error {
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
	if req.Watch != nil {
		return s.applyWatch(p, *req.Watch)
	}
	return nil
}

// applyWatch merges watch settings into p; the interval must lie between
// SKYDEPLOY_MIN_POLL_INTERVAL and a day ("" = the default).
func (s *Server) applyWatch(p *projects.Project, w api.WatchInput) error {
	if w.Enabled != nil {
		p.Watch.Enabled = *w.Enabled
	}
	if w.Paused != nil {
		p.Watch.Paused = *w.Paused
	}
	if w.Previews != nil {
		p.Watch.Previews = *w.Previews
	}
	if w.Interval == nil {
		return nil
	}
	if *w.Interval == "" {
		p.Watch.Interval = 0
		return nil
	}
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
	return nil
}

// envView is the API's form of a project's (masked) environment.
func envView(env []projects.EnvVar) []api.EnvVar {
	out := make([]api.EnvVar, 0, len(env))
	for _, e := range env {
		out = append(out, api.EnvVar{Key: e.Key, Value: e.Value, Secret: !e.Plain, Target: e.EffectiveTarget()})
	}
	return out
}

// mergeEnv replaces p's environment with entries; an entry without a value keeps the stored
// one, and without secret or target keeps the stored setting.
func mergeEnv(ps *projects.Store, p *projects.Project, entries []api.EnvVarInput) ([]projects.EnvVar, error) {
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
