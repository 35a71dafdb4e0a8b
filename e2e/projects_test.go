package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/skydeploy/skydeploy/gateway"
	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/ids"
	"github.com/skydeploy/skydeploy/internal/manifest"
	"github.com/skydeploy/skydeploy/internal/platform"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/internal/testenv"
	"github.com/skydeploy/skydeploy/servehandler"
	"github.com/skydeploy/skydeploy/workflows"
)

const (
	testWebhookSecret = "e2e-webhook-secret"
	testSecretKey     = "e2e-secret-key-0123456789abcdef0123456789"
)

// webhook sends a GitHub-style webhook, signed with secret unless it is "".
func (e *env) webhook(event string, payload any, secret string, out any) int {
	e.t.Helper()
	body, _ := json.Marshal(payload)
	req, _ := http.NewRequest("POST", e.api.URL+"/api/webhooks/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	if secret != "" {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if out != nil {
		_ = json.Unmarshal(data, out)
	}
	return res.StatusCode
}

// waitLive waits until the project's alias points at want.
func (e *env) waitLive(project, want string, timeout time.Duration) gateway.ProjectView {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	var p gateway.ProjectView
	for time.Now().Before(deadline) {
		if code := e.do("GET", "/api/projects/"+project, nil, &p); code == http.StatusOK && p.LiveDeploymentID == want {
			return p
		}
		time.Sleep(300 * time.Millisecond)
	}
	d := e.wait(want, time.Second)
	e.t.Fatalf("project %s not live at %s within %s (live: %q; deployment %s: %s)", project, want, timeout, p.LiveDeploymentID, d.State, d.Error)
	return p
}

// waitPolls waits until n more polls of the project have completed (visibility lists them), so
// a check that nothing changed is made after polls that could have changed it.
func (e *env) waitPolls(project string, n int64, timeout time.Duration) {
	e.t.Helper()
	ctx := context.Background()
	tc, err := platform.TemporalClient(ctx, e.cfg, testenv.Logger(e.t))
	if err != nil {
		e.t.Fatal(err)
	}
	defer tc.Close()
	query := fmt.Sprintf("WorkflowType = '%s' AND %s = '%s' AND ExecutionStatus = 'Completed'", workflows.PollWorkflowName, workflows.AttrProject.GetName(), project)
	count := func() int64 {
		res, err := tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
		if err != nil {
			e.t.Fatalf("count polls: %v", err)
		}
		return res.GetCount()
	}
	want := count() + n
	deadline := time.Now().Add(timeout)
	for got := count(); got < want; got = count() {
		if time.Now().After(deadline) {
			e.t.Fatalf("only %d of %d more polls of %s completed within %s", got-want+n, n, project, timeout)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// servedIndex reads index.html of a deployment through its manifest, as the request handler does.
func servedIndex(t *testing.T, store *storage.Store, id string) string {
	t.Helper()
	ctx := context.Background()
	data, err := store.GetBytes(ctx, storage.ManifestKey(id), 1<<20)
	if err != nil {
		t.Fatalf("manifest of %s: %v", id, err)
	}
	m, err := manifest.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	f := m.Index()["index.html"]
	if f == nil {
		t.Fatalf("deployment %s has no index.html", id)
	}
	blob, err := store.GetBytes(ctx, storage.BlobKey(f.SHA256), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return string(blob)
}

// servedAt fetches / from the request handler with the given Host, as a visitor would.
func servedAt(t *testing.T, store *storage.Store, host string) string {
	t.Helper()
	h := servehandler.New(store, servehandler.Options{BaseDomain: "localhost", AliasTTL: time.Millisecond})
	req := httptest.NewRequest("GET", "http://"+host+"/", nil)
	req.Host = host
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET http://%s/ = %d", host, rec.Code)
	}
	return rec.Body.String()
}

func readAlias(t *testing.T, store *storage.Store, label string) *manifest.Alias {
	t.Helper()
	data, err := store.GetBytes(context.Background(), storage.AliasKey(label), 1<<20)
	if err != nil {
		t.Fatalf("alias %s: %v", label, err)
	}
	a, err := manifest.ParseAlias(data)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestProjectRedeploysItselfAndRollsBack(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	e := startEnv(t, func(c *config.Config) {
		c.MinPollInterval = time.Second
		c.WebhookSecret = testWebhookSecret
		c.SecretKey = testSecretKey
	})
	store := e.stack.S3.Store()
	repo := e.git.NewRepo(t, "project-site", map[string]string{"index.html": "<h1>version-1</h1>"})
	sha1 := repo.Head()
	id1 := ids.DeploymentFor("blog", sha1)

	// Invalid requests are refused with a reason.
	for _, bad := range []map[string]any{
		{"name": "Bad_Name", "repoUrl": repo.URL},
		{"name": "blog", "repoUrl": "file:///etc"},
		{"name": "blog", "repoUrl": repo.URL, "productionBranch": "-x"},
		{"name": "blog", "repoUrl": repo.URL, "env": []map[string]any{{"key": "LD_PRELOAD", "value": "x"}}},
		{"name": "blog", "repoUrl": repo.URL, "watch": map[string]any{"interval": "10ms"}},
	} {
		var er struct{ Error string }
		if code := e.do("POST", "/api/projects", bad, &er); code != http.StatusUnprocessableEntity || er.Error == "" {
			t.Errorf("POST %v = %d %q, want 422 with a reason", bad, code, er.Error)
		}
	}

	var p gateway.ProjectView
	code := e.do("POST", "/api/projects", map[string]any{
		"name": "blog", "repoUrl": repo.URL, "watch": map[string]any{"enabled": true, "interval": "2s"},
		"env": []map[string]any{{"key": "API_KEY", "value": "supersecret-1234"}, {"key": "SHORT", "value": "abc"}},
	}, &p)
	if code != http.StatusCreated {
		t.Fatalf("POST /api/projects = %d", code)
	}
	if p.URL != e.cfg.SiteURL("blog") || p.ProductionBranch != "main" || !p.Watch.Enabled || p.Watch.Interval != "2s" {
		t.Fatalf("project = %+v", p)
	}
	if len(p.Env) != 2 || p.Env[0].Value != "••••1234" || p.Env[1].Value != "••••" {
		t.Fatalf("env = %+v, want masked values", p.Env)
	}
	if code := e.do("POST", "/api/projects", map[string]any{"name": "blog", "repoUrl": repo.URL}, nil); code != http.StatusConflict {
		t.Fatalf("second POST = %d, want 409", code)
	}
	raw, _ := store.GetBytes(context.Background(), storage.ProjectKey("blog"), 1<<20)
	if bytes.Contains(raw, []byte("supersecret")) {
		t.Fatal("project file holds a plain environment value")
	}

	// The schedule's first poll deploys the head; the alias moves to it.
	p = e.waitLive("blog", id1, 2*time.Minute)
	if a := readAlias(t, store, "blog"); a.DeploymentID != id1 || a.Project != "blog" {
		t.Fatalf("alias = %+v", a)
	}
	if got := servedIndex(t, store, id1); !strings.Contains(got, "version-1") {
		t.Fatalf("live content = %q", got)
	}
	if got := servedAt(t, store, "blog.localhost"); !strings.Contains(got, "version-1") {
		t.Fatalf("blog.localhost serves %q", got)
	}
	d1 := e.wait(id1, 30*time.Second)
	if !d1.Production || d1.Project != "blog" || d1.Trigger != "poll" {
		t.Fatalf("first deployment = %+v", d1.DeploymentStatus)
	}

	// A new commit goes live within an interval plus the build.
	pushed := time.Now()
	sha2 := repo.Commit("second version", map[string]string{"index.html": "<h1>version-2</h1>"})
	id2 := ids.DeploymentFor("blog", sha2)
	e.waitLive("blog", id2, 90*time.Second)
	t.Logf("new commit live %s after the push", time.Since(pushed).Round(100*time.Millisecond))
	if got := servedIndex(t, store, id2); !strings.Contains(got, "version-2") {
		t.Fatalf("live content = %q", got)
	}
	if got := servedAt(t, store, "blog.localhost"); !strings.Contains(got, "version-2") {
		t.Fatalf("blog.localhost serves %q after the push", got)
	}

	// Roll back: the alias returns to the old deployment without a build.
	var rolled gateway.ProjectView
	if code := e.do("POST", "/api/projects/blog/rollback", map[string]any{"deploymentId": id1}, &rolled); code != http.StatusOK || rolled.LiveDeploymentID != id1 {
		t.Fatalf("rollback = %d %+v", code, rolled)
	}
	if a := readAlias(t, store, "blog"); a.DeploymentID != id1 || a.Reason != "rollback" {
		t.Fatalf("alias after rollback = %+v", a)
	}
	if got := servedAt(t, store, "blog.localhost"); !strings.Contains(got, "version-1") {
		t.Fatalf("blog.localhost serves %q after the rollback", got)
	}
	if code := e.do("POST", "/api/projects/blog/rollback", map[string]any{"deploymentId": id1}, nil); code != http.StatusConflict {
		t.Fatalf("rollback to the live deployment = %d, want 409", code)
	}
	if code := e.do("POST", "/api/projects/blog/rollback", map[string]any{"deploymentId": ids.NewDeployment()}, nil); code != http.StatusUnprocessableEntity {
		t.Fatalf("rollback to an unknown deployment = %d, want 422", code)
	}

	// Webhooks: a bad signature starts nothing; a good one for the commit the poller deployed
	// names the same deployment and starts no second workflow.
	push := map[string]any{
		"ref": "refs/heads/main", "after": sha2, "deleted": false,
		"repository": map[string]any{"clone_url": repo.URL, "html_url": strings.TrimSuffix(repo.URL, ".git")},
	}
	if code := e.webhook("push", push, "wrong-secret", nil); code != http.StatusUnauthorized {
		t.Fatalf("bad signature = %d, want 401", code)
	}
	if code := e.webhook("push", push, "", nil); code != http.StatusUnauthorized {
		t.Fatalf("missing signature = %d, want 401", code)
	}
	var ping struct {
		OK  bool
		Zen string
	}
	if code := e.webhook("ping", map[string]any{"zen": "Design for failure."}, testWebhookSecret, &ping); code != http.StatusOK || !ping.OK || ping.Zen != "Design for failure." {
		t.Fatalf("ping = %d %+v", code, ping)
	}
	var hook struct{ Started []gateway.StartedDeployment }
	if code := e.webhook("push", push, testWebhookSecret, &hook); code != http.StatusAccepted {
		t.Fatalf("push webhook = %d", code)
	}
	if len(hook.Started) != 1 || hook.Started[0].ID != id2 {
		t.Fatalf("webhook started %+v, want the poller's deployment %s", hook.Started, id2)
	}
	deleted := map[string]any{"ref": "refs/heads/main", "after": strings.Repeat("0", 40), "deleted": true, "repository": push["repository"]}
	if code := e.webhook("push", deleted, testWebhookSecret, &hook); code != http.StatusAccepted || len(hook.Started) != 0 {
		t.Fatalf("branch deletion = %d %+v, want nothing started", code, hook.Started)
	}
	e.waitPolls("blog", 2, time.Minute) // the rolled-back alias must stay through more polls
	var list struct{ Deployments []gateway.Deployment }
	deadline := time.Now().Add(15 * time.Second)
	for {
		e.do("GET", "/api/projects/blog/deployments", nil, &list)
		if len(list.Deployments) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	seen := map[string]int{}
	for _, d := range list.Deployments {
		seen[d.ID]++
	}
	if len(list.Deployments) != 2 || seen[id1] != 1 || seen[id2] != 1 {
		t.Fatalf("project deployments = %v, want exactly %s and %s once each", seen, id1, id2)
	}
	if a := readAlias(t, store, "blog"); a.DeploymentID != id1 {
		t.Fatalf("alias moved to %s after the rollback without a new commit", a.DeploymentID)
	}

	// Schedule controls.
	if code := e.do("POST", "/api/projects/blog/pause", nil, &p); code != http.StatusOK || !p.Watch.Paused {
		t.Fatalf("pause = %d %+v", code, p.Watch)
	}
	if code := e.do("POST", "/api/projects/blog/resume", nil, &p); code != http.StatusOK || p.Watch.Paused {
		t.Fatalf("resume = %d %+v", code, p.Watch)
	}
	if code := e.do("POST", "/api/projects/blog/poll", nil, nil); code != http.StatusAccepted {
		t.Fatalf("poll = %d", code)
	}

	// PUT keeps env values that are not resent.
	if code := e.do("PUT", "/api/projects/blog", map[string]any{"env": []map[string]any{{"key": "API_KEY"}, {"key": "NEW_ONE", "value": "another-secret-9876"}}}, &p); code != http.StatusOK {
		t.Fatalf("PUT = %d", code)
	}
	if len(p.Env) != 2 || p.Env[0].Value != "••••1234" || p.Env[1].Value != "••••9876" {
		t.Fatalf("env after PUT = %+v", p.Env)
	}

	// Delete removes the project, its schedule and its alias.
	if code := e.do("DELETE", "/api/projects/blog", nil, nil); code != http.StatusNoContent {
		t.Fatalf("DELETE = %d", code)
	}
	if code := e.do("GET", "/api/projects/blog", nil, nil); code != http.StatusNotFound {
		t.Fatalf("GET after DELETE = %d", code)
	}
	if ok, _ := store.Exists(context.Background(), storage.AliasKey("blog")); ok {
		t.Fatal("alias survived the project")
	}
}

func TestProjectEnvNeedsSecretKey(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	st := testenv.StartStack(t)
	cfg := st.Config
	cfg.SecretKey = ""
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gw, closeGW, err := platform.NewGateway(ctx, cfg, testenv.Logger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeGW()
	api := httptest.NewServer(gw.Handler())
	defer api.Close()
	post := func(body string) (int, string) {
		req, _ := http.NewRequest("POST", api.URL+"/api/projects", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if cfg.APIToken != "" {
			req.Header.Set("Authorization", "Bearer "+cfg.APIToken)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(data)
	}
	code, body := post(`{"name":"envless","repoUrl":"https://github.com/acme/site","watch":{"enabled":false},"env":[{"key":"TOKEN","value":"x"}]}`)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "SKYDEPLOY_SECRET_KEY") {
		t.Fatalf("env without secret key = %d %s, want 422 naming SKYDEPLOY_SECRET_KEY", code, body)
	}
	code, body = post(`{"name":"envless","repoUrl":"https://github.com/acme/site","watch":{"enabled":false}}`)
	if code != http.StatusCreated {
		t.Fatalf("project without env = %d %s", code, body)
	}
	var wh map[string]any
	res, _ := http.Post(api.URL+"/api/webhooks/github", "application/json", strings.NewReader("{}"))
	_ = json.NewDecoder(res.Body).Decode(&wh)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(fmt.Sprint(wh["error"]), "not configured") {
		t.Fatalf("webhook without secret = %d %v", res.StatusCode, wh)
	}
}
