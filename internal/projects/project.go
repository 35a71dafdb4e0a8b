// Package projects stores SkyDeploy projects — a repository watched and deployed under a stable
// name — in object storage (projects/<name>.json), with their build-time environment variables
// encrypted at rest (AES-256-GCM, key derived from SKYDEPLOY_SECRET_KEY with HKDF-SHA256).
//
// Plain values exist only in memory: the API shows masked values, logs never see them, and the
// build activity asks BuildSettings for them. The package must never depend on Temporal or Redis.
package projects

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultBranch is the production branch when a project names none.
const DefaultBranch = "main"

// Project is a repository deployed under a stable name.
type Project struct {
	Name             string `json:"name"`
	RepoURL          string `json:"repoUrl"`
	ProductionBranch string `json:"productionBranch"`
	RootDir          string `json:"rootDir,omitempty"`
	InstallCommand   string `json:"installCommand,omitempty"`
	BuildCommand     string `json:"buildCommand,omitempty"`
	OutputDir        string `json:"outputDir,omitempty"`
	// Env holds build-time variables; in storage (and in this struct) every Value is sealed.
	Env       []EnvVar  `json:"env,omitempty"`
	Watch     Watch     `json:"watch"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// EnvVar is one build-time environment variable. Value is sealed (see Store.Seal) except in
// the API's view, where secret values are masked.
type EnvVar struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	// Plain marks a value that is not secret: the API shows it, build logs do not mask it, and
	// by default it applies to previews too. Variables stored before this field existed are
	// secret.
	Plain bool `json:"plain,omitempty"`
	// Target is the environment the variable applies to: TargetProduction, TargetPreview or
	// TargetAll; empty means the default, DefaultTarget.
	Target string `json:"target,omitempty"`
}

// Environments a variable can apply to.
const (
	TargetProduction = "production"
	TargetPreview    = "preview"
	TargetAll        = "all"
)

// DefaultTarget is where a variable applies unless it says otherwise: secrets only to
// production builds (a preview builds whatever a branch pusher wrote, and its log is public),
// plain values everywhere.
func DefaultTarget(plain bool) string {
	if plain {
		return TargetAll
	}
	return TargetProduction
}

// EffectiveTarget is the environment v applies to.
func (v EnvVar) EffectiveTarget() string {
	if v.Target == "" {
		return DefaultTarget(v.Plain)
	}
	return v.Target
}

// AppliesTo reports whether v is set in production (or preview) builds.
func (v EnvVar) AppliesTo(production bool) bool {
	switch v.EffectiveTarget() {
	case TargetAll:
		return true
	case TargetProduction:
		return production
	case TargetPreview:
		return !production
	}
	return false
}

// ValidateTarget returns a readable error for a target that is none of the three.
func ValidateTarget(key, target string) error {
	switch target {
	case "", TargetProduction, TargetPreview, TargetAll:
		return nil
	}
	return fmt.Errorf("environment variable %s: target must be %q, %q or %q, not %q", key, TargetProduction, TargetPreview, TargetAll, target)
}

// Watch says whether and how the project redeploys itself on new commits.
type Watch struct {
	Enabled bool `json:"enabled"`
	// Interval between polls of the production branch (0 = the platform default).
	Interval time.Duration `json:"interval,omitempty"`
	// Paused keeps the schedule but stops polls and webhook deployments.
	Paused bool `json:"paused,omitempty"`
	// Previews deploys pushes to other branches (webhooks only) at <project>--<branch> labels.
	Previews bool `json:"previews,omitempty"`
}

// Branch is the production branch, DefaultBranch when unset.
func (p *Project) Branch() string {
	if p.ProductionBranch == "" {
		return DefaultBranch
	}
	return p.ProductionBranch
}

// AutoDeploy reports whether polls and webhooks may deploy the project.
func (p *Project) AutoDeploy() bool { return p.Watch.Enabled && !p.Watch.Paused }

var envKeyRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reservedEnv are variables a build must not override: they change how the sandbox, the
// loader or the shell behave rather than how the project builds.
var reservedEnv = map[string]bool{
	"PATH": true, "HOME": true, "USER": true, "SHELL": true, "PWD": true, "TMPDIR": true,
	"HOSTNAME": true, "IFS": true, "ENV": true, "BASH_ENV": true,
}

// MaxEnvVars and MaxEnvValueBytes bound a project's environment.
const (
	MaxEnvVars       = 200
	MaxEnvValueBytes = 32 << 10
)

// ValidateEnvKey returns a readable error when key cannot be a project environment variable.
func ValidateEnvKey(key string) error {
	if !envKeyRe.MatchString(key) || len(key) > 256 {
		return fmt.Errorf("environment variable name %q must be letters, digits and underscores, not starting with a digit", key)
	}
	up := strings.ToUpper(key)
	switch {
	case strings.HasPrefix(up, "SKYDEPLOY_"):
		return fmt.Errorf("environment variable %s is reserved: SKYDEPLOY_* variables configure the platform", key)
	case strings.HasPrefix(up, "LD_") || strings.HasPrefix(up, "DYLD_"):
		return fmt.Errorf("environment variable %s is not allowed: it changes how programs are loaded", key)
	case reservedEnv[up]:
		return fmt.Errorf("environment variable %s is set by the build sandbox and cannot be overridden", key)
	}
	return nil
}

// ValidateEnvValue checks a plain value before it is sealed.
func ValidateEnvValue(key, value string) error {
	if len(value) > MaxEnvValueBytes {
		return fmt.Errorf("environment variable %s is longer than %d bytes", key, MaxEnvValueBytes)
	}
	if strings.ContainsRune(value, 0) || !utf8.ValidString(value) {
		return fmt.Errorf("environment variable %s must be UTF-8 text without NUL characters", key)
	}
	return nil
}

// Mask hides a plain value: "••••" and, for values of 8 characters or more, their last 4.
func Mask(value string) string {
	r := []rune(value)
	if len(r) >= 8 {
		return "••••" + string(r[len(r)-4:])
	}
	return "••••"
}

// MaxLabel is the longest DNS label.
const MaxLabel = 63

// BranchAlias is the host label of a project's branch previews: "<project>--<branch-slug>",
// lower case, DNS-safe and at most 63 characters. Long or unusual branch names are shortened
// and given a hash suffix so two branches never share a label.
func BranchAlias(project, branch string) string {
	slug := slugify(branch)
	max := MaxLabel - len(project) - 2
	if slug == "" || len(slug) > max || slug != branch {
		// Lossy slug: add a short hash of the real name so feature/a and feature-a differ.
		h := shortHash(branch)
		room := max - len(h) - 1
		if room < 1 {
			slug = h
		} else {
			if len(slug) > room {
				slug = strings.TrimRight(slug[:room], "-")
			}
			if slug == "" {
				slug = h
			} else {
				slug += "-" + h
			}
		}
	}
	if len(slug) > max {
		slug = slug[:max]
	}
	return strings.TrimRight(project+"--"+slug, "-")
}

func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
			continue
		}
		if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}
