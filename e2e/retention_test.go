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
}
