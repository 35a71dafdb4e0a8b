package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/platform"
	"github.com/skydeploy/skydeploy/internal/testenv"
	"github.com/skydeploy/skydeploy/web"
)

// TestDashboardInBrowser drives the real dashboard in Debian's Chromium (playwright-core) against
// the real stack: create a deployment from the form, watch its log stream in, see it go live and
// open its URL; then roll a project back from its page. Screenshots go to test-artifacts/.
func TestDashboardInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	root := testenv.RepoRoot(t)
	for _, need := range []struct{ path, hint string }{
		{"/usr/bin/chromium", "apt-get install chromium"},
		{filepath.Join(root, "web/node_modules/playwright-core"), "make web-deps"},
		{filepath.Join(root, "web/dist/index.html"), "make web"},
	} {
		if _, err := os.Stat(need.path); err != nil {
			t.Fatalf("the browser test needs %s (%s); `make test` installs it", need.path, need.hint)
		}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("the browser test needs node")
	}

	e := startEnv(t, nil)
	ctx := context.Background()
	gw, closeGW, err := platform.NewGateway(ctx, e.cfg, testenv.Logger(t), web.Dist())
	if err != nil {
		t.Fatal(err)
	}
	defer closeGW()
	dashboard := httptest.NewServer(gw.Handler())
	defer dashboard.Close()

	// A deployment with a build that takes a few seconds, so the detail page is seen mid-build.
	site := e.git.NewRepo(t, "browser-site", slowBuildRepo(4, "hello-from-the-browser-test"))

	// A project with two successful deployments; the browser rolls it back to the first.
	proj := e.git.NewRepo(t, "browser-project", map[string]string{"index.html": "<h1>project-version-one</h1>"})
	var created map[string]any
	if code := e.do("POST", "/api/projects", map[string]any{"name": "browsertest", "repoUrl": proj.URL, "productionBranch": "main"}, &created); code != http.StatusCreated {
		t.Fatalf("create project = %d %v", code, created)
	}
	deployProject := func() {
		var started struct{ ID string }
		if code := e.do("POST", "/api/projects/browsertest/deploy", nil, &started); code != http.StatusAccepted {
			t.Fatalf("deploy project = %d", code)
		}
		if d := e.wait(started.ID, 2*time.Minute); d.State != "succeeded" {
			t.Fatalf("project deployment: %s: %s", d.State, d.Error)
		}
	}
	deployProject()
	proj.Commit("version two", map[string]string{"index.html": "<h1>project-version-two</h1>"})
	deployProject()

	artifacts := filepath.Join(root, "test-artifacts", "screenshots")
	cmd := exec.CommandContext(ctx, node, filepath.Join(root, "web/e2e/dashboard.e2e.mjs"))
	cmd.Dir = filepath.Join(root, "web")
	cmd.Env = append(os.Environ(),
		"SKYDEPLOY_E2E_API="+dashboard.URL,
		"SKYDEPLOY_E2E_TOKEN="+e.cfg.APIToken,
		"SKYDEPLOY_E2E_REPO="+site.URL,
		"SKYDEPLOY_E2E_MARKER=hello-from-the-browser-test",
		"SKYDEPLOY_E2E_PROJECT=browsertest",
		"SKYDEPLOY_E2E_PROJECT_OLD_MARKER=project-version-one",
		"SKYDEPLOY_E2E_ARTIFACTS="+artifacts,
		"SKYDEPLOY_E2E_TIMEOUT_MS=180000",
	)
	out, err := cmd.CombinedOutput()
	t.Logf("dashboard e2e output:\n%s", out)
	if err != nil {
		t.Fatalf("dashboard e2e failed: %v", err)
	}
	if _, err := os.Stat(artifacts); err != nil {
		t.Errorf("no screenshots saved: %v", err)
	}
}
