package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/skydeploy/skydeploy/internal/api"
)

// envChanges are the environment flags of `projects create|update`:
//
//	--env KEY=VALUE          a secret variable (masked in the API and the build log; production builds by default)
//	--plain-env KEY=VALUE    a plain variable (shown as it is; every build by default)
//	--env-target KEY=T       which builds KEY applies to: production, preview or all
//	--unset-env KEY          remove KEY (update)
//
// On update the project's other variables keep their values and settings.
type envChanges struct {
	set     []envSet
	targets map[string]string
	unset   map[string]bool
}

type envSet struct {
	key, value string
	secret     bool
}

func (c *envChanges) empty() bool {
	return len(c.set) == 0 && len(c.targets) == 0 && len(c.unset) == 0
}

// envValueFlag collects --env (secret) or --plain-env KEY=VALUE flags into c.
type envValueFlag struct {
	c      *envChanges
	secret bool
}

func (f envValueFlag) String() string { return "" }

func (f envValueFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE")
	}
	f.c.set = append(f.c.set, envSet{key: k, value: v, secret: f.secret})
	return nil
}

// envTargetFlag collects --env-target KEY=production|preview|all flags into c.
type envTargetFlag struct{ c *envChanges }

func (f envTargetFlag) String() string { return "" }

func (f envTargetFlag) Set(s string) error {
	k, t, ok := strings.Cut(s, "=")
	k, t = strings.TrimSpace(k), strings.TrimSpace(t)
	if !ok || k == "" || !slices.Contains([]string{api.TargetProduction, api.TargetPreview, api.TargetAll}, t) {
		return fmt.Errorf("want KEY=production, KEY=preview or KEY=all")
	}
	if f.c.targets == nil {
		f.c.targets = map[string]string{}
	}
	f.c.targets[k] = t
	return nil
}

// envUnsetFlag collects --unset-env KEY flags into c.
type envUnsetFlag struct{ c *envChanges }

func (f envUnsetFlag) String() string { return "" }

func (f envUnsetFlag) Set(s string) error {
	k := strings.TrimSpace(s)
	if k == "" || strings.Contains(k, "=") {
		return fmt.Errorf("want KEY")
	}
	if f.c.unset == nil {
		f.c.unset = map[string]bool{}
	}
	f.c.unset[k] = true
	return nil
}

// apply returns the environment to send: current (the project's variables, none on create)
// changed by c. Variables c does not name are sent without a value, secret or target, so the
// gateway keeps what it stores.
func (c *envChanges) apply(current []api.EnvVar) ([]api.EnvVarInput, error) {
	exists := map[string]bool{}
	for _, e := range current {
		exists[e.Key] = true
	}
	given := map[string]bool{}
	for _, s := range c.set {
		if given[s.key] {
			return nil, fmt.Errorf("environment variable %s is given twice", s.key)
		}
		if c.unset[s.key] {
			return nil, fmt.Errorf("environment variable %s is both set and unset", s.key)
		}
		given[s.key] = true
	}
	for k := range c.unset {
		if !exists[k] {
			return nil, fmt.Errorf("--unset-env %s: the project has no such variable", k)
		}
	}
	for k := range c.targets {
		if !given[k] && (!exists[k] || c.unset[k]) {
			return nil, fmt.Errorf("--env-target %s: set the variable with --env or --plain-env", k)
		}
	}
	target := func(k string) *string {
		if t, ok := c.targets[k]; ok {
			return &t
		}
		return nil
	}
	var out []api.EnvVarInput
	for _, e := range current {
		if c.unset[e.Key] || given[e.Key] {
			continue
		}
		out = append(out, api.EnvVarInput{Key: e.Key, Target: target(e.Key)})
	}
	for _, s := range c.set {
		v, secret := s.value, s.secret
		out = append(out, api.EnvVarInput{Key: s.key, Value: &v, Secret: &secret, Target: target(s.key)})
	}
	if out == nil {
		out = []api.EnvVarInput{}
	}
	return out, nil
}

// envText is how `projects show` prints a variable: its (masked) value, kind and target.
func envText(e api.EnvVar) string {
	kind := "plain"
	if e.Secret {
		kind = "secret"
	}
	return fmt.Sprintf("%s  (%s, %s)", e.Value, kind, e.Target)
}
