package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/storage"
)

// TestRetentionKeepsTheLastDeployments deploys a project four times with a retention of two:
// the two oldest deployments are removed, the two newest (the live one among them) stay whole.
func TestRetentionKeepsTheLastDeployments(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	e := startEnv(t, func(c *config.Config) { c.KeepDeployments = 2 })
	repo := e.git.NewRepo(t, "retained", map[string]string{"index.html": "<h1>version 0</h1>", "shared.css": "body{}"})
	if code := e.do("POST", "/api/projects", map[string]any{"name": "retained", "repoUrl": repo.URL, "productionBranch": "main", "watch": map[string]any{"enabled": false}}, nil); code != http.StatusCreated {
		t.Fatalf("create project = %d", code)
	}
	var ids []string
	for i := 0; i < 4; i++ {
		if i > 0 {
			repo.Commit(fmt.Sprintf("version %d", i), map[string]string{"index.html": fmt.Sprintf("<h1>version %d</h1>", i)})
		}
		var started struct{ ID string }
		if code := e.do("POST", "/api/projects/retained/deploy", nil, &started); code != http.StatusAccepted {
			t.Fatalf("deploy = %d", code)
		}
		if d := e.wait(started.ID, 2*time.Minute); d.State != "succeeded" {
			t.Fatalf("deployment %d: %s: %s", i, d.State, d.Error)
		}
		ids = append(ids, started.ID)
	}
	store := e.stack.S3.Store()
	ctx := context.Background()
	exists := func(id string) bool {
		ok, err := store.Exists(ctx, storage.ManifestKey(id))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) && (exists(ids[0]) || exists(ids[1])) {
		time.Sleep(time.Second)
	}
	for i, id := range ids {
		want := i >= 2
		if got := exists(id); got != want {
			t.Errorf("deployment %d (%s): manifest kept = %v, want %v", i, id, got, want)
		}
	}
	if _, body := e.fetchSite("retained.localhost", "/"); !strings.Contains(string(body), "version 3") {
		t.Errorf("project URL serves %q, want version 3", body)
	}
	if res, _ := e.fetchSite(ids[0]+".localhost", "/"); res.StatusCode != http.StatusNotFound {
		t.Errorf("a removed deployment answers %d, want 404", res.StatusCode)
	}
	if res, body := e.fetchSite(ids[2]+".localhost", "/shared.css"); res.StatusCode != http.StatusOK || string(body) != "body{}" {
		t.Errorf("a kept deployment's shared file = %d %q", res.StatusCode, body)
	}

	// A deployment started from the form with the project attached goes live at its URL.
	repo.Commit("version 4", map[string]string{"index.html": "<h1>version 4</h1>"})
	var started struct{ ID string }
	if code := e.do("POST", "/api/deployments", map[string]any{"repoUrl": repo.URL, "project": "retained"}, &started); code != http.StatusAccepted {
		t.Fatalf("deploy with project = %d", code)
	}
	if d := e.wait(started.ID, 2*time.Minute); d.State != "succeeded" || d.Project != "retained" || !d.Production {
		t.Fatalf("attached deployment: %s (project %q, production %v): %s", d.State, d.Project, d.Production, d.Error)
	}
	if _, body := e.fetchSite("retained.localhost", "/"); !strings.Contains(string(body), "version 4") {
		t.Errorf("project URL serves %q after an attached deployment, want version 4", body)
	}
	for _, body := range []map[string]any{
		{"repoUrl": repo.URL, "project": "no-such-project"},
		{"repoUrl": repo.URL + "-other", "project": "retained"},
	} {
		var out struct{ Error string }
		if code := e.do("POST", "/api/deployments", body, &out); code != http.StatusUnprocessableEntity || out.Error == "" {
			t.Errorf("POST %v = %d %q, want 422 with a reason", body, code, out.Error)
		}
	}
}
