package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/ids"
	"github.com/skydeploy/skydeploy/internal/platform"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/internal/testenv"
	"github.com/skydeploy/skydeploy/workflows"
)

// The evil branch's build script rewrites a file of node_modules after the install.
const poisonBuildJS = `const fs = require('fs');
fs.appendFileSync('node_modules/is-number/index.js', '\n// TAMPERED-BY-A-PREVIEW\n');
console.log('the secret is ' + (process.env.SHOP_SECRET || 'unset'));
console.log('preview token ' + (process.env.SHOP_PREVIEW || 'unset'));
fs.mkdirSync('dist', { recursive: true });
fs.writeFileSync('dist/index.html', JSON.stringify({
  secret: !!process.env.SHOP_SECRET, plain: process.env.SHOP_PLAIN || 'unset', preview: !!process.env.SHOP_PREVIEW,
}));
`

// trustReport is what the fixture's build writes to dist/index.html.
type trustReport struct {
	Tampered bool   `json:"tampered"`
	Secret   bool   `json:"secret"`
	Plain    string `json:"plain"`
	Preview  bool   `json:"preview"`
}

func (e *env) report(t *testing.T, id string) trustReport {
	t.Helper()
	var r trustReport
	if err := json.Unmarshal([]byte(e.published(t, id)["index.html"]), &r); err != nil {
		t.Fatalf("index.html of %s: %v", id, err)
	}
	return r
}

// TestTrustBetweenPreviewsAndProduction: a preview cannot change what production builds
// restore, gets only the variables meant for previews, and no secret reaches a build log.
func TestTrustBetweenPreviewsAndProduction(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	e := startEnv(t, func(c *config.Config) { c.SecretKey = testSecretKey })
	files := fixture(t, "cache-trust")
	repo := e.git.NewRepo(t, "shop", files)
	const (
		secret      = "s3cr3t-production-value-4821"
		multiLine1  = "-----BEGIN FAKE KEY-----"
		multiLine2  = "bXVsdGktbGluZS1zZWNyZXQtbGluZS10d28"
		previewOnly = "preview-only-token-9931"
	)
	code := e.do("POST", "/api/projects", map[string]any{
		"name": "shop", "repoUrl": repo.URL, "watch": map[string]any{"enabled": false},
		"env": []map[string]any{
			{"key": "SHOP_SECRET", "value": secret},
			{"key": "SHOP_MULTI", "value": multiLine1 + "\n" + multiLine2},
			{"key": "SHOP_PLAIN", "value": "hello-plain", "secret": false},
			{"key": "SHOP_PREVIEW", "value": previewOnly, "target": "preview"},
		},
	}, nil)
	if code != http.StatusCreated {
		t.Fatalf("create project = %d", code)
	}
	var view struct {
		Env []struct {
			Key, Value, Target string
			Secret             bool
		}
	}
	e.do("GET", "/api/projects/shop", nil, &view)
	targets := map[string]string{}
	for _, v := range view.Env {
		targets[v.Key] = v.Target
		if v.Secret && strings.Contains(v.Value, "s3cr3t") || !v.Secret && v.Value != "hello-plain" {
			t.Errorf("API shows %s as %q (secret %v)", v.Key, v.Value, v.Secret)
		}
	}
	if targets["SHOP_SECRET"] != "production" || targets["SHOP_PLAIN"] != "all" || targets["SHOP_PREVIEW"] != "preview" {
		t.Errorf("targets = %v", targets)
	}

	deploy := func(branch string) (string, string) {
		t.Helper()
		id := e.deploy(map[string]any{"repoUrl": repo.URL, "branch": branch, "project": "shop"}).ID
		d := e.wait(id, 4*time.Minute)
		log := logText(e.readLog(id, "", 30*time.Second))
		if d.State != "succeeded" {
			t.Fatalf("%s deployment %s: %s: %s\n%s", branch, id, d.State, d.Error, log)
		}
		for _, s := range []string{secret, multiLine1, multiLine2, previewOnly} {
			if strings.Contains(log, s) {
				t.Errorf("the %s build log shows a secret value %q", branch, s)
			}
		}
		return id, log
	}

	// Production: its secrets, not the preview's; secrets printed by the build are masked.
	prod1, log := deploy("main")
	if r := e.report(t, prod1); r.Tampered || !r.Secret || r.Plain != "hello-plain" || r.Preview {
		t.Errorf("production build saw %+v", r)
	}
	for _, want := range []string{"the secret is ***", "[build] ***", "preview token unset", "Environment: production",
		"installed dependencies saved to production's cache"} {
		if !strings.Contains(log, want) {
			t.Errorf("production log lacks %q:\n%s", want, log)
		}
	}

	// A preview whose build script rewrites node_modules after restoring production's cache.
	repo.Checkout("evil")
	repo.Commit("evil build", map[string]string{"build.js": poisonBuildJS})
	preview, log := deploy("evil")
	if r := e.report(t, preview); r.Secret || r.Plain != "hello-plain" || !r.Preview {
		t.Errorf("preview build saw %+v: production's secret must not reach it, the preview's must", r)
	}
	for _, want := range []string{"Environment: preview of branch evil", "restored from production's cache", "preview token ***"} {
		if !strings.Contains(log, want) {
			t.Errorf("preview log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "saved to production's cache") {
		t.Errorf("a preview wrote production's cache:\n%s", log)
	}

	// The next production build restores production's cache, untouched by the preview.
	repo.Checkout("main")
	repo.Commit("second", map[string]string{"README.md": "second"})
	prod2, log := deploy("main")
	if !strings.Contains(log, "Installed dependencies restored from production's cache") || !strings.Contains(log, "npm ci skipped") {
		t.Errorf("the second production build did not restore production's cache:\n%s", log)
	}
	if r := e.report(t, prod2); r.Tampered {
		t.Fatalf("production built with node_modules a preview changed: %+v", r)
	}
	tallyHostile(t, "preview build poisons production's dependency cache", "build prints a secret variable")
}

// TestSitesCannotSetCookiesForOthers: a _headers file that sets cookies fails at publish.
func TestSitesCannotSetCookiesForOthers(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	e := startEnv(t, nil)
	repo := e.git.NewRepo(t, "cookie-setter", map[string]string{
		"index.html": "<h1>hi</h1>",
		"_headers":   "/*\n  X-Frame-Options: DENY\n  Set-Cookie: session=stolen; Domain=localhost; Path=/\n",
	})
	id := e.deploy(map[string]any{"repoUrl": repo.URL}).ID
	d := e.wait(id, 2*time.Minute)
	if d.State != "failed" || !strings.Contains(d.Error, "_headers line 3 sets Set-Cookie") || !strings.Contains(d.Error, "every other site") {
		t.Fatalf("%s: %q, want a failure naming the line and the reason", d.State, d.Error)
	}
	if e.hasManifest(id) {
		t.Errorf("a manifest was written for %s", id)
	}
	tallyHostile(t, "site sets cookies for the base domain through _headers")
}

// TestActivitiesRefuseForgedWorkflowInput starts deployment workflows by hand, as anyone who
// reaches Temporal could, with input the API would never send.
func TestActivitiesRefuseForgedWorkflowInput(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	e := startEnv(t, func(c *config.Config) { c.SecretKey = testSecretKey })
	store := e.stack.S3.Store()
	victim := e.git.NewRepo(t, "victim", map[string]string{"index.html": "<h1>victim</h1>"})
	attacker := e.git.NewRepo(t, "attacker", map[string]string{"index.html": "<h1>attacker</h1>"})
	// Not watched: no poll may move the alias while the test looks at it.
	if code := e.do("POST", "/api/projects", map[string]any{"name": "victim", "repoUrl": victim.URL, "watch": map[string]any{"enabled": false}}, nil); code != http.StatusCreated {
		t.Fatalf("create project = %d", code)
	}
	live := e.deploy(map[string]any{"repoUrl": victim.URL, "project": "victim"}).ID
	if d := e.wait(live, 2*time.Minute); d.State != "succeeded" {
		t.Fatalf("victim deployment: %s %s", d.State, d.Error)
	}

	c, err := platform.TemporalClient(context.Background(), e.cfg, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := func(in workflows.DeployInput) error {
		t.Helper()
		in.BuildTaskQueue, in.RequestedAt = e.cfg.BuildTaskQueue, time.Now().Add(time.Hour)
		run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
			ID: "forged-" + ids.NewDeployment(), TaskQueue: e.cfg.TaskQueue,
		}, workflows.DeployWorkflowName, in)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		return run.Get(ctx, nil)
	}
	cases := []struct {
		name string
		in   workflows.DeployInput
		want string
	}{
		{"an id that climbs out of the work dir", workflows.DeployInput{DeploymentID: "../../../etc", RepoURL: attacker.URL}, "not a deployment id"},
		{"an id with a slash", workflows.DeployInput{DeploymentID: "0abc/defghjk", RepoURL: attacker.URL}, "not a deployment id"},
		{"another project's alias without a project", workflows.DeployInput{DeploymentID: ids.NewDeployment(), RepoURL: attacker.URL, AliasLabels: []string{"victim"}}, ""},
		{"another project's name with its own repository", workflows.DeployInput{DeploymentID: ids.NewDeployment(), RepoURL: attacker.URL, Project: "victim", Branch: "main", Production: true, AliasLabels: []string{"victim"}}, "whose repository is"},
	}
	for _, tc := range cases {
		err := start(tc.in)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want a failure saying %q", tc.name, err, tc.want)
		}
		if a := readAlias(t, store, "victim"); a.DeploymentID != live {
			t.Fatalf("%s moved the victim's alias to %s", tc.name, a.DeploymentID)
		}
	}
	if _, err := store.GetBytes(context.Background(), storage.AliasKey("victim"), 1<<20); err != nil {
		t.Fatal(err)
	}
	tallyHostile(t, "forged workflow: deployment id escapes the work dir", "forged workflow: moves another project's alias")
}
