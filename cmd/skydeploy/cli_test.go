package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/apiclient"
	"github.com/skydeploy/skydeploy/internal/detect"
)

// The client's unit tests: argument parsing, settings, and what each command prints and
// sends, against a recording gateway over HTTP. e2e/cli_test.go runs the built binary against
// the real platform.

// output runs fn with os.Stdout and os.Stderr captured (tests here do not run in parallel).
func output(t *testing.T, fn func() error) (stdout, stderr string, err error) {
	t.Helper()
	oldOut, oldErr := os.Stdout, os.Stderr
	rOut, wOut, _ := os.Pipe()
	rErr, wErr, _ := os.Pipe()
	os.Stdout, os.Stderr = wOut, wErr
	var bOut, bErr strings.Builder
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _, _ = io.Copy(&bOut, rOut) }()
	go func() { defer wg.Done(); _, _ = io.Copy(&bErr, rErr) }()
	func() {
		defer func() { os.Stdout, os.Stderr = oldOut, oldErr }()
		err = fn()
	}()
	wOut.Close()
	wErr.Close()
	wg.Wait()
	return bOut.String(), bErr.String(), err
}

func exitCode(err error) int {
	var e exitError
	if errors.As(err, &e) {
		return e.code
	}
	if err != nil {
		return 1
	}
	return 0
}

// isolate gives the test a configuration file of its own and no SKYDEPLOY_* client settings.
func isolate(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.json")
	t.Setenv("SKYDEPLOY_CONFIG", path)
	t.Setenv("SKYDEPLOY_API_URL", "")
	t.Setenv("SKYDEPLOY_TOKEN", "")
	return path
}

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		wantPos    []string
		wantBranch string
		wantFollow bool
		wantCode   int // exit code of the returned error; -1 for none
	}{
		{args: []string{"https://github.com/o/r"}, wantPos: []string{"https://github.com/o/r"}, wantCode: -1},
		{args: []string{"https://github.com/o/r", "--branch", "dev", "-f"}, wantPos: []string{"https://github.com/o/r"}, wantBranch: "dev", wantFollow: true, wantCode: -1},
		{args: []string{"--branch=dev", "a", "b"}, wantPos: []string{"a", "b"}, wantBranch: "dev", wantCode: -1},
		{args: []string{"a", "--", "--branch", "x"}, wantPos: []string{"a", "--branch", "x"}, wantCode: -1},
		{args: []string{"--", "-f"}, wantPos: []string{"-f"}, wantCode: -1},
		{args: nil, wantPos: nil, wantCode: -1},
		{args: []string{"a", "--no-such-flag"}, wantCode: 2},
		{args: []string{"--branch"}, wantCode: 2},
		{args: []string{"-h"}, wantCode: 0},
	} {
		fs := flagSet("test", "test")
		branch := fs.String("branch", "", "")
		follow := fs.Bool("f", false, "")
		var pos []string
		var err error
		_, _, _ = output(t, func() error { pos, err = parseArgs(fs, tc.args); return nil })
		if tc.wantCode >= 0 {
			var e exitError
			if !errors.As(err, &e) || e.code != tc.wantCode {
				t.Errorf("parseArgs(%q) = %v, want exit %d", tc.args, err, tc.wantCode)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(pos, tc.wantPos) || *branch != tc.wantBranch || *follow != tc.wantFollow {
			t.Errorf("parseArgs(%q) = %q, %v (branch %q, f %v); want %q (branch %q, f %v)", tc.args, pos, err, *branch, *follow, tc.wantPos, tc.wantBranch, tc.wantFollow)
		}
	}
}

func TestEnvFlag(t *testing.T) {
	var env envChanges
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(envValueFlag{c: &env, secret: true}, "env", "")
	if err := fs.Parse([]string{"--env", "API_URL=https://x/?a=b", "--env", " EMPTY =", "--env", "K=v=w"}); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range env.set {
		got[e.key] = e.value
	}
	want := map[string]string{"API_URL": "https://x/?a=b", "EMPTY": "", "K": "v=w"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("--env values = %v, want %v", got, want)
	}
	for _, bad := range []string{"NOVALUE", "=v", " =v"} {
		if err := (envValueFlag{c: &env, secret: true}).Set(bad); err == nil {
			t.Errorf("--env %q accepted, want KEY=VALUE error", bad)
		}
	}
}

// TestSettingsPrecedence: the environment wins over the file written by login, which wins
// over the default; a trailing slash is dropped.
func TestSettingsPrecedence(t *testing.T) {
	path := isolate(t)
	url, tok, err := apiSettings()
	if err != nil || url != apiclient.DefaultURL || tok != "" {
		t.Errorf("no settings: %q %q %v, want the default URL and no token", url, tok, err)
	}
	if err := writeCLIConfig(path, cliConfig{APIURL: "https://deploy.example.com/", Token: "skd_file"}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("config file mode = %v, %v; want 0600", st.Mode().Perm(), err)
	}
	url, tok, _ = apiSettings()
	if url != "https://deploy.example.com" || tok != "skd_file" {
		t.Errorf("from the file: %q %q", url, tok)
	}
	t.Setenv("SKYDEPLOY_API_URL", " http://127.0.0.1:9/ ")
	t.Setenv("SKYDEPLOY_TOKEN", "skd_env")
	url, tok, _ = apiSettings()
	if url != "http://127.0.0.1:9" || tok != "skd_env" {
		t.Errorf("environment over the file: %q %q", url, tok)
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := apiSettings(); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a broken config file = %v, want an error naming it", err)
	}
}

func TestFormatting(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		ago  time.Duration
		want string
	}{{-time.Second, "0s"}, {12 * time.Second, "12s"}, {5*time.Minute + 59*time.Second, "5m"}, {3 * time.Hour, "3h"}, {47 * time.Hour, "47h"}, {72 * time.Hour, "3d"}} {
		if got := age(now, now.Add(-tc.ago)); got != tc.want {
			t.Errorf("age(%s) = %q, want %q", tc.ago, got, tc.want)
		}
	}
	if got := age(now, time.Time{}); got != "-" {
		t.Errorf("age(zero) = %q", got)
	}
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{0, "0.0s"}, {1234 * time.Millisecond, "1.2s"}, {90*time.Second + 400*time.Millisecond, "1m30s"}} {
		if got := fmtDuration(tc.d); got != tc.want {
			t.Errorf("fmtDuration(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
	sha := "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		commit *api.Commit
		want   string
	}{
		{nil, ""},
		{&api.Commit{SHA: sha}, "0123456"},
		{&api.Commit{SHA: sha, Message: "Fix the header\n\nLong body"}, "0123456 Fix the header"},
		{&api.Commit{SHA: sha, Message: strings.Repeat("é", 50)}, "0123456 " + strings.Repeat("é", 39) + "…"},
	} {
		if got := shortCommit(api.Deployment{DeploymentStatus: api.DeploymentStatus{Commit: tc.commit}}); got != tc.want {
			t.Errorf("shortCommit(%+v) = %q, want %q", tc.commit, got, tc.want)
		}
	}
	for _, tc := range []struct {
		w    api.Watch
		want string
	}{
		{api.Watch{}, "off"},
		{api.Watch{Enabled: true, Paused: true, Interval: "1m0s"}, "paused"},
		{api.Watch{Enabled: true, Interval: "1m0s"}, "every 1m0s"},
		{api.Watch{Enabled: true, Interval: "30s", Previews: true}, "every 30s +previews"},
	} {
		if got := watchText(tc.w); got != tc.want {
			t.Errorf("watchText(%+v) = %q, want %q", tc.w, got, tc.want)
		}
	}
}

func TestReportEnd(t *testing.T) {
	for _, tc := range []struct {
		d       api.Deployment
		wantOut string
		wantErr string
	}{
		{api.Deployment{DeploymentStatus: api.DeploymentStatus{ID: "a1", State: "succeeded", URL: "http://a1.localhost:3002/"}}, "✓ Deployed a1\n  http://a1.localhost:3002/", ""},
		{api.Deployment{DeploymentStatus: api.DeploymentStatus{ID: "a2", State: "failed", Step: "build", Error: "npm run build exited with status 1"}}, "", "deployment a2 failed at build: npm run build exited with status 1"},
		{api.Deployment{DeploymentStatus: api.DeploymentStatus{ID: "a3", State: "failed"}}, "", "deployment a3 failed: deployment failed"},
		{api.Deployment{DeploymentStatus: api.DeploymentStatus{ID: "a4", State: "canceled", Step: "build"}}, "", "deployment a4 was canceled"},
	} {
		out, _, err := output(t, func() error { return reportEnd(tc.d) })
		if tc.wantErr == "" && (err != nil || !strings.Contains(out, tc.wantOut)) {
			t.Errorf("reportEnd(%s) printed %q, %v; want %q", tc.d.State, out, err, tc.wantOut)
		}
		if tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
			t.Errorf("reportEnd(%s) = %v, want %q", tc.d.State, err, tc.wantErr)
		}
	}
}

func TestStepPrinterPrintsEachEndedStepOnce(t *testing.T) {
	var b strings.Builder
	p := &stepPrinter{w: &b}
	start := time.Now().Add(-3 * time.Second)
	end := start.Add(1500 * time.Millisecond)
	d := api.Deployment{DeploymentStatus: api.DeploymentStatus{Steps: []api.StepState{
		{Name: "clone", State: "succeeded", StartedAt: &start, FinishedAt: &end},
		{Name: "detect", State: "running", StartedAt: &end},
		{Name: "build", State: "pending"},
	}}}
	p.update(d)
	p.update(d)
	d.Steps[1].State, d.Steps[1].FinishedAt = "failed", &end
	d.Steps[2].State = "skipped"
	p.update(d)
	want := "✓ clone 1.5s\n✗ detect 0.0s\n- build skipped\n"
	if b.String() != want {
		t.Errorf("printed:\n%s\nwant:\n%s", b.String(), want)
	}
}

// gateway is a recording stand-in for the API: it answers each "METHOD path" from routes and
// keeps the requests it saw.
type gateway struct {
	t      *testing.T
	routes map[string]func(w http.ResponseWriter, body map[string]any)
	mu     sync.Mutex
	seen   []seenRequest
}

type seenRequest struct {
	method, path, query, auth string
	body                      map[string]any
}

func startGateway(t *testing.T, routes map[string]func(w http.ResponseWriter, body map[string]any)) *gateway {
	t.Helper()
	g := &gateway{t: t, routes: routes}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	isolate(t)
	t.Setenv("SKYDEPLOY_API_URL", srv.URL)
	t.Setenv("SKYDEPLOY_TOKEN", "skd_test")
	return g
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if r.Body != nil {
		data, _ := io.ReadAll(r.Body)
		if len(data) > 0 {
			if err := json.Unmarshal(data, &body); err != nil {
				g.t.Errorf("%s %s: body is not JSON: %q", r.Method, r.URL.Path, data)
			}
		}
	}
	g.mu.Lock()
	g.seen = append(g.seen, seenRequest{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), body})
	g.mu.Unlock()
	h, ok := g.routes[r.Method+" "+r.URL.Path]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"no route"}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	h(w, body)
}

func (g *gateway) requests() []seenRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]seenRequest(nil), g.seen...)
}

func reply(code int, v any) func(http.ResponseWriter, map[string]any) {
	return func(w http.ResponseWriter, _ map[string]any) {
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
}

func TestListCommand(t *testing.T) {
	created := time.Now().Add(-5 * time.Minute)
	page := api.DeploymentList{Deployments: []api.Deployment{
		{DeploymentStatus: api.DeploymentStatus{ID: "k3x9a2m4p7qd", State: "succeeded", Project: "blog", Plan: &detect.Plan{Kind: "node", Framework: "vite"},
			Commit: &api.Commit{SHA: "0123456789abcdef0123456789abcdef01234567", Message: "Add posts"}, CreatedAt: created, URL: "http://k3x9a2m4p7qd.localhost:3002/"}, Live: true},
		{DeploymentStatus: api.DeploymentStatus{ID: "b7c2d9e4f1ga", State: "failed", Plan: &detect.Plan{Kind: "static"}, CreatedAt: created, URL: "http://b7c2d9e4f1ga.localhost:3002/"}},
	}, NextPageToken: "next"}
	g := startGateway(t, map[string]func(http.ResponseWriter, map[string]any){"GET /api/deployments": reply(200, page)})
	ctx := context.Background()

	out, _, err := output(t, func() error { return runList(ctx, []string{"--project", "blog", "--limit", "2"}) })
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "STATUS") {
		t.Fatalf("ls printed:\n%s", out)
	}
	for _, want := range []string{"k3x9a2m4p7qd", "succeeded (live)", "blog", "vite", "0123456 Add posts", "5m", "http://k3x9a2m4p7qd.localhost:3002/"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("row %q lacks %q", lines[1], want)
		}
	}
	if f := strings.Fields(lines[2]); len(f) != 7 || f[1] != "failed" || f[2] != "-" || f[3] != "static" || f[4] != "-" {
		t.Errorf("row %q: want id, failed, -, static, -, age, URL", lines[2])
	}
	reqs := g.requests()
	if len(reqs) != 1 || reqs[0].query != "pageSize=2&project=blog" || reqs[0].auth != "Bearer skd_test" {
		t.Errorf("requests = %+v, want one page of 2 for project blog with the token", reqs)
	}

	out, _, err = output(t, func() error { return runList(ctx, []string{"--json", "--limit", "1"}) })
	var got []api.Deployment
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || len(got) != 1 || got[0].ID != "k3x9a2m4p7qd" {
		t.Errorf("ls --json --limit 1 printed %q (%v), want one deployment as JSON", out, err)
	}

	_, stderr, err := output(t, func() error { return runList(ctx, []string{"--limit", "0"}) })
	if exitCode(err) != 2 || !strings.Contains(stderr, "--limit must be at least 1") {
		t.Errorf("ls --limit 0: exit %d, stderr %q", exitCode(err), stderr)
	}
	_, stderr, err = output(t, func() error { return runList(ctx, []string{"extra"}) })
	if exitCode(err) != 2 || !strings.Contains(stderr, "usage: skydeploy ls") {
		t.Errorf("ls extra: exit %d, stderr %q", exitCode(err), stderr)
	}
}

func TestClientErrorsSayWhatToDo(t *testing.T) {
	ctx := context.Background()
	g := startGateway(t, map[string]func(http.ResponseWriter, map[string]any){
		"GET /api/deployments":              reply(401, map[string]string{"error": "invalid token"}),
		"POST /api/deployments/x1/cancel":   reply(403, map[string]string{"error": "this token may only read"}),
		"POST /api/deployments/gone/cancel": reply(404, map[string]string{"error": "deployment gone not found"}),
	})
	_ = g
	_, _, err := output(t, func() error { return runList(ctx, nil) })
	if err == nil || !strings.Contains(err.Error(), "not logged in: set SKYDEPLOY_TOKEN or run skydeploy login") || !strings.Contains(err.Error(), "invalid token") {
		t.Errorf("401: %v", err)
	}
	_, _, err = output(t, func() error { return runCancel(ctx, []string{"x1"}) })
	if err == nil || err.Error() != "not allowed: this token may only read" {
		t.Errorf("403: %v", err)
	}
	_, _, err = output(t, func() error { return runCancel(ctx, []string{"gone"}) })
	if err == nil || err.Error() != "deployment gone not found" {
		t.Errorf("404: %v", err)
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	t.Setenv("SKYDEPLOY_API_URL", srv.URL)
	_, _, err = output(t, func() error { return runCancel(ctx, []string{"x1"}) })
	if err == nil || !strings.Contains(err.Error(), "cannot reach the gateway at "+srv.URL) || !strings.Contains(err.Error(), "SKYDEPLOY_API_URL") {
		t.Errorf("gateway down: %v", err)
	}
}

func TestDeployCommand(t *testing.T) {
	ctx := context.Background()
	started := api.StartedDeployment{ID: "k3x9a2m4p7qd", URL: "http://k3x9a2m4p7qd.localhost:3002/", WorkflowID: "deploy-k3x9a2m4p7qd"}
	g := startGateway(t, map[string]func(http.ResponseWriter, map[string]any){
		"POST /api/deployments":             reply(202, started),
		"POST /api/projects/blog/deploy":    reply(202, started),
		"POST /api/deployments/bad1/cancel": reply(202, map[string]string{}),
	})
	out, _, err := output(t, func() error {
		return runDeploy(ctx, []string{"https://github.com/o/r", "--branch", "dev", "--build-command", "npm run build:prod", "--no-follow"})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Deploying https://github.com/o/r (dev)", "Deployment k3x9a2m4p7qd started", "skydeploy logs -f k3x9a2m4p7qd", "http://k3x9a2m4p7qd.localhost:3002/"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy printed %q, lacking %q", out, want)
		}
	}
	reqs := g.requests()
	want := map[string]any{"repoUrl": "https://github.com/o/r", "branch": "dev", "buildCommand": "npm run build:prod"}
	if len(reqs) != 1 || !reflect.DeepEqual(reqs[0].body, want) {
		t.Errorf("deploy sent %+v, want the body %v", reqs, want)
	}

	for _, args := range [][]string{
		{"--project", "blog", "https://github.com/o/r"},
		{"--project", "blog", "--branch", "dev"},
		{"https://github.com/o/r", "--prebuilt"},
		{"https://github.com/o/r", "--prod"},
		{"--prod"},
		{".", "--prebuilt", "--build-command", "make"},
		{"a", "b"},
	} {
		n := len(g.requests())
		_, stderr, err := output(t, func() error { return runDeploy(ctx, args) })
		if exitCode(err) != 2 || !strings.Contains(stderr, "skydeploy") {
			t.Errorf("deploy %q: exit %d, stderr %q; want a usage error", args, exitCode(err), stderr)
		}
		if len(g.requests()) != n {
			t.Errorf("deploy %q sent a request despite the usage error", args)
		}
	}
}

// TestProjectsSaveSendsOnlyTheFlagsGiven: an update changes what the flags say and nothing
// else, so `projects update blog --interval 5m` cannot switch watching off by omission.
func TestProjectsSaveSendsOnlyTheFlagsGiven(t *testing.T) {
	ctx := context.Background()
	proj := api.Project{Name: "blog", RepoURL: "https://github.com/o/blog", ProductionBranch: "main", URL: "http://blog.localhost:3002/",
		Watch: api.Watch{Enabled: true, Interval: "5m0s"}}
	g := startGateway(t, map[string]func(http.ResponseWriter, map[string]any){
		"POST /api/projects":     reply(201, proj),
		"PUT /api/projects/blog": reply(200, proj),
	})
	out, _, err := output(t, func() error {
		return runProjects(ctx, []string{"create", "blog", "--repo", "https://github.com/o/blog", "--env", "API=https://api", "--watch=false"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Created project blog") || !strings.Contains(out, "skydeploy projects deploy blog") {
		t.Errorf("create printed %q", out)
	}
	_, _, err = output(t, func() error { return runProjects(ctx, []string{"update", "blog", "--interval", "5m"}) })
	if err != nil {
		t.Fatal(err)
	}
	reqs := g.requests()
	if len(reqs) != 2 {
		t.Fatalf("requests = %+v", reqs)
	}
	wantCreate := map[string]any{"name": "blog", "repoUrl": "https://github.com/o/blog",
		"env": []any{map[string]any{"key": "API", "value": "https://api", "secret": true}}, "watch": map[string]any{"enabled": false}}
	if !reflect.DeepEqual(reqs[0].body, wantCreate) {
		t.Errorf("create sent %v, want %v", reqs[0].body, wantCreate)
	}
	wantUpdate := map[string]any{"watch": map[string]any{"interval": "5m"}}
	if !reflect.DeepEqual(reqs[1].body, wantUpdate) {
		t.Errorf("update sent %v, want %v", reqs[1].body, wantUpdate)
	}
	for _, args := range [][]string{{"create", "blog"}, {"create"}, {"frobnicate"}, {"show"}, {}} {
		_, stderr, err := output(t, func() error { return runProjects(ctx, args) })
		if exitCode(err) != 2 || !strings.Contains(stderr, "usage: skydeploy") {
			t.Errorf("projects %q: exit %d, stderr %q; want a usage error", args, exitCode(err), stderr)
		}
	}
	if len(g.requests()) != 2 {
		t.Errorf("usage errors sent requests: %+v", g.requests()[2:])
	}
}

func TestLoginSavesTheCheckedToken(t *testing.T) {
	ctx := context.Background()
	g := startGateway(t, map[string]func(http.ResponseWriter, map[string]any){
		"GET /api/deployments": func(w http.ResponseWriter, _ map[string]any) {
			w.WriteHeader(200)
			_, _ = w.Write([]byte(`{"deployments":[]}`))
		},
	})
	path := os.Getenv("SKYDEPLOY_CONFIG")
	url := os.Getenv("SKYDEPLOY_API_URL")
	out, _, err := output(t, func() error { return runLogin(ctx, []string{"--api", url + "/", "--token", "skd_new"}) })
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Logged in to "+url) {
		t.Errorf("login printed %q", out)
	}
	if reqs := g.requests(); len(reqs) != 1 || reqs[0].auth != "Bearer skd_new" {
		t.Errorf("login checked the token with %+v", reqs)
	}
	var saved cliConfig
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &saved); err != nil || saved != (cliConfig{APIURL: url, Token: "skd_new"}) {
		t.Errorf("saved %q (%v)", data, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("config file mode %v, want 0600", st.Mode().Perm())
	}
	_, stderr, err := output(t, func() error { return runLogin(ctx, []string{"--api", "ftp://x", "--token", "t"}) })
	if exitCode(err) != 2 || !strings.Contains(stderr, "--api must be an http:// or https:// URL") {
		t.Errorf("login --api ftp://x: exit %d, %q", exitCode(err), stderr)
	}
}

func TestRetryAndAbandonCommands(t *testing.T) {
	ctx := context.Background()
	g := startGateway(t, map[string]func(http.ResponseWriter, map[string]any){
		"POST /api/deployments/a1/retry":   reply(202, api.SignaledDeployment{ID: "a1", Signal: "retry"}),
		"POST /api/deployments/a1/abandon": reply(202, api.SignaledDeployment{ID: "a1", Signal: "abandon"}),
		"POST /api/deployments/b2/retry":   reply(409, map[string]string{"error": "deployment b2 does not need attention (it is succeeded)"}),
	})
	out, _, err := output(t, func() error { return runRetry(ctx, []string{"a1"}) })
	if err != nil || !strings.Contains(out, "a1 runs its failed step again") {
		t.Errorf("retry: %q %v", out, err)
	}
	out, _, err = output(t, func() error { return runAbandon(ctx, []string{"a1", "--reason", "storage is gone"}) })
	if err != nil || !strings.Contains(out, "a1 abandoned") {
		t.Errorf("abandon: %q %v", out, err)
	}
	_, _, err = output(t, func() error { return runRetry(ctx, []string{"b2"}) })
	if err == nil || !strings.Contains(err.Error(), "does not need attention") {
		t.Errorf("retry of a finished deployment: %v", err)
	}
	reqs := g.requests()
	if len(reqs) != 3 || !reflect.DeepEqual(reqs[1].body, map[string]any{"reason": "storage is gone"}) {
		t.Errorf("requests = %+v", reqs)
	}
	for _, args := range [][]string{{}, {"a", "b"}} {
		if _, _, err := output(t, func() error { return runRetry(ctx, args) }); exitCode(err) != 2 {
			t.Errorf("retry %q: exit %d, want a usage error", args, exitCode(err))
		}
	}
}
