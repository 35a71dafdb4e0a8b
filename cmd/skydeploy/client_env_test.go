package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skydeploy/skydeploy/internal/api"
)

// parseEnvFlags parses the environment flags of `projects update` from args.
func parseEnvFlags(t *testing.T, args ...string) *envChanges {
	t.Helper()
	var c envChanges
	fs := flagSet("test", "test")
	fs.Var(envValueFlag{c: &c, secret: true}, "env", "")
	fs.Var(envValueFlag{c: &c}, "plain-env", "")
	fs.Var(envTargetFlag{c: &c}, "env-target", "")
	fs.Var(envUnsetFlag{c: &c}, "unset-env", "")
	if _, err := parseArgs(fs, args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return &c
}

// text renders an env request compactly: KEY=value/secret/target, "-" for what is left out.
func text(in []api.EnvVarInput) string {
	var parts []string
	for _, e := range in {
		s := e.Key + "="
		for _, p := range []*string{e.Value, boolText(e.Secret), e.Target} {
			if p == nil {
				s += "-/"
			} else {
				s += *p + "/"
			}
		}
		parts = append(parts, strings.TrimSuffix(s, "/"))
	}
	return strings.Join(parts, " ")
}

func boolText(b *bool) *string {
	if b == nil {
		return nil
	}
	s := "plain"
	if *b {
		s = "secret"
	}
	return &s
}

func TestEnvChanges(t *testing.T) {
	current := []api.EnvVar{
		{Key: "TOKEN", Value: "••••cdef", Secret: true, Target: "production"},
		{Key: "API_URL", Value: "https://api.example", Target: "all"},
	}
	for _, tc := range []struct {
		name    string
		args    []string
		current []api.EnvVar
		want    string // text of the request, or the error
	}{
		{"create: secret and plain with default targets", []string{"--env", "TOKEN=s3cret", "--plain-env", "MODE=fast=yes"}, nil,
			"TOKEN=s3cret/secret/- MODE=fast=yes/plain/-"},
		{"create: a target for a new variable", []string{"--plain-env", "API_URL=https://staging", "--env-target", "API_URL=preview"}, nil,
			"API_URL=https://staging/plain/preview"},
		{"update keeps the variables it does not name", []string{"--plain-env", "MODE=fast"}, current,
			"TOKEN=-/-/- API_URL=-/-/- MODE=fast/plain/-"},
		{"update retargets without a value", []string{"--env-target", "TOKEN=all"}, current,
			"TOKEN=-/-/all API_URL=-/-/-"},
		{"update replaces a value and its kind", []string{"--env", "API_URL=secret-now"}, current,
			"TOKEN=-/-/- API_URL=secret-now/secret/-"},
		{"update removes a variable", []string{"--unset-env", "TOKEN"}, current, "API_URL=-/-/-"},
		{"removing the last variable sends an empty list", []string{"--unset-env", "TOKEN", "--unset-env", "API_URL"}, current, ""},
		{"a variable given twice", []string{"--env", "A=1", "--plain-env", "A=2"}, nil, "environment variable A is given twice"},
		{"set and unset", []string{"--env", "TOKEN=1", "--unset-env", "TOKEN"}, current, "both set and unset"},
		{"unset of an unknown variable", []string{"--unset-env", "NOPE"}, current, "the project has no such variable"},
		{"target of an unknown variable", []string{"--env-target", "NOPE=all"}, current, "set the variable with --env or --plain-env"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseEnvFlags(t, tc.args...).apply(tc.current)
			if err != nil {
				if !strings.Contains(err.Error(), tc.want) || tc.want == "" {
					t.Fatalf("error %q, want %q", err, tc.want)
				}
				return
			}
			if got == nil || text(got) != tc.want {
				t.Fatalf("request %q, want %q", text(got), tc.want)
			}
		})
	}
	var c envChanges
	for _, bad := range []string{"KEY", "KEY=staging", "=all"} {
		if err := (envTargetFlag{c: &c}).Set(bad); err == nil {
			t.Errorf("--env-target %q accepted", bad)
		}
	}
	if err := (envValueFlag{c: &c}).Set("=x"); err == nil {
		t.Error("--plain-env =x accepted")
	}
}

// TestProjectsUpdateEnv runs `projects update` against a fake gateway: the project's other
// variables are sent back without values (kept), and show prints kind and target.
func TestProjectsUpdateEnv(t *testing.T) {
	var put api.ProjectInput
	project := api.Project{Name: "site", RepoURL: "https://github.com/o/r", Env: []api.EnvVar{
		{Key: "TOKEN", Value: "••••cdef", Secret: true, Target: "production"},
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method + " " + r.URL.Path {
		case "GET /api/projects/site":
		case "PUT /api/projects/site":
			body, _ := io.ReadAll(r.Body)
			if err := json.Unmarshal(body, &put); err != nil {
				t.Errorf("PUT body %s: %v", body, err)
			}
			project.Env = append(project.Env, api.EnvVar{Key: "MODE", Value: "fast", Target: "preview"})
		default:
			w.WriteHeader(http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(project)
	}))
	defer srv.Close()
	t.Setenv("SKYDEPLOY_API_URL", srv.URL)
	t.Setenv("SKYDEPLOY_TOKEN", "skd_test")
	t.Setenv("SKYDEPLOY_CONFIG", filepath.Join(t.TempDir(), "none.json"))
	out := captureStdout(t, func() {
		if err := projectsSave(context.Background(), []string{"site", "--plain-env", "MODE=fast", "--env-target", "MODE=preview"}, false); err != nil {
			t.Fatal(err)
		}
	})
	if put.Env == nil || text(*put.Env) != "TOKEN=-/-/- MODE=fast/plain/preview" || put.RepoURL != nil {
		t.Fatalf("PUT %+v", put)
	}
	for _, want := range []string{"Env TOKEN", "••••cdef  (secret, production)", "Env MODE", "fast  (plain, preview)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// captureStdout returns what fn writes to os.Stdout.
func captureStdout(t *testing.T, fn func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	defer func() { os.Stdout = old }()
	fn()
	w.Close()
	os.Stdout = old
	return <-done
}
