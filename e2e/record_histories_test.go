package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/platform"
	"github.com/skydeploy/skydeploy/internal/testenv"
	"github.com/skydeploy/skydeploy/workflows"
)

// TestRecordWorkflowHistories runs, on the real dev server, one of each workflow path the replay
// test in workflows/ must cover and saves their histories to workflows/testdata/:
//
//	deploy-node-build-history.json       a Node project built in the sandbox and published
//	deploy-canceled-history.json         a deployment canceled during its build
//	poll-starts-deployment-history.json  a scheduled poll that sees a new commit and deploys it
//	retention-history.json               retention waiting for a deployment, then pruning
//
// (deploy-needs-attention-retry-history.json — object storage down past the upload's retries,
// the deployment waiting for an operator, a retry signal — is recorded by
// TestOperatorsDecideAfterPlatformFailures/retry under the same variable.)
//
// It only runs when asked: SKYDEPLOY_RECORD_HISTORIES=1 go test ./e2e/ -run TestRecordWorkflowHistories.
// Record again after a deliberate, versioned change to a workflow (workflow.GetVersion).
func TestRecordWorkflowHistories(t *testing.T) {
	if os.Getenv("SKYDEPLOY_RECORD_HISTORIES") != "1" {
		t.Skip("set SKYDEPLOY_RECORD_HISTORIES=1 to record workflow histories into workflows/testdata/")
	}
	e := startEnv(t, func(c *config.Config) {
		c.KeepDeployments = 1
		c.MinPollInterval = time.Second
	})
	ctx := context.Background()
	tc, err := platform.TemporalClient(ctx, e.cfg, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	dir := filepath.Join(testenv.RepoRoot(t), "workflows", "testdata")

	// A Node project with a build step and no dependencies.
	built := e.git.NewRepo(t, "node-build", map[string]string{
		"package.json":      `{"name":"recorded","version":"1.0.0","private":true,"scripts":{"build":"mkdir -p dist && echo '<h1>built by npm run build</h1>' > dist/index.html"}}`,
		"package-lock.json": `{"name":"recorded","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"recorded","version":"1.0.0"}}}`,
	})
	node := e.deploy(map[string]any{"repoUrl": built.URL})
	if d := e.wait(node.ID, 3*time.Minute); d.State != "succeeded" || d.Plan == nil || d.Plan.Kind != "node" {
		t.Fatalf("node build deployment: %s: %s (plan %+v)", d.State, d.Error, d.Plan)
	}
	saveHistory(t, tc, dir, "deploy-node-build", node.WorkflowID, "", e.cfg.APIToken, e.cfg.S3SecretKey)

	slow := e.git.NewRepo(t, "canceled", slowBuildRepo(600, "never"))
	canceled := e.deploy(map[string]any{"repoUrl": slow.URL})
	e.waitStep(canceled.ID, "build", 2*time.Minute)
	if code := e.do("POST", "/api/deployments/"+canceled.ID+"/cancel", nil, nil); code != http.StatusAccepted {
		t.Fatalf("cancel = %d", code)
	}
	if d := e.wait(canceled.ID, 2*time.Minute); d.State != "canceled" {
		t.Fatalf("canceled deployment: %s: %s", d.State, d.Error)
	}
	saveHistory(t, tc, dir, "deploy-canceled", canceled.WorkflowID, "", e.cfg.APIToken, e.cfg.S3SecretKey)

	// A watched project: its schedule polls at once, sees the head and deploys it; the
	// deployment signals retention, which waits for it and then prunes.
	site := e.git.NewRepo(t, "watched", map[string]string{"index.html": "<h1>polled 1</h1>"})
	if code := e.do("POST", "/api/projects", map[string]any{"name": "recorded", "repoUrl": site.URL,
		"watch": map[string]any{"enabled": true, "interval": "1h"}}, nil); code != http.StatusCreated {
		t.Fatalf("create project = %d", code)
	}
	poll := waitWorkflow(t, tc, fmt.Sprintf("WorkflowType = '%s' AND %s = 'recorded' AND ExecutionStatus = 'Completed'",
		workflows.PollWorkflowName, workflows.AttrProject.GetName()), 2*time.Minute)
	var first workflows.PollResult
	if err := tc.GetWorkflow(ctx, poll.Execution.WorkflowId, poll.Execution.RunId).Get(ctx, &first); err != nil || first.DeploymentID == "" {
		t.Fatalf("the first poll started no deployment: %+v, %v", first, err)
	}
	if d := e.wait(first.DeploymentID, 2*time.Minute); d.State != "succeeded" {
		t.Fatalf("polled deployment: %s: %s", d.State, d.Error)
	}
	saveHistory(t, tc, dir, "poll-starts-deployment", poll.Execution.WorkflowId, poll.Execution.RunId, e.cfg.APIToken, e.cfg.S3SecretKey)

	// A second production deployment: retention keeps it and deletes the first.
	if code := e.do("PUT", "/api/projects/recorded", map[string]any{"watch": map[string]any{"enabled": false}}, nil); code != http.StatusOK {
		t.Fatalf("stop watching = %d", code)
	}
	site.Commit("second", map[string]string{"index.html": "<h1>polled 2</h1>"})
	var second struct{ ID, WorkflowID string }
	if code := e.do("POST", "/api/projects/recorded/deploy", nil, &second); code != http.StatusAccepted {
		t.Fatalf("deploy = %d", code)
	}
	if d := e.wait(second.ID, 2*time.Minute); d.State != "succeeded" {
		t.Fatalf("second deployment: %s: %s", d.State, d.Error)
	}
	// The latest retention run was told about the second deployment (by a signal to a running
	// one, or by starting a new one): once it completes, the first deployment is gone.
	var pruned workflows.RetentionResult
	run := tc.GetWorkflow(ctx, workflows.RetentionWorkflowID("recorded"), "")
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := run.Get(wctx, &pruned); err != nil {
		t.Fatalf("retention: %v", err)
	}
	if len(pruned.Kept) != 1 || pruned.Kept[0] != second.ID || len(pruned.Deleted) != 1 || pruned.Deleted[0] != first.DeploymentID {
		t.Fatalf("retention kept %v and deleted %v, want %s kept and %s deleted", pruned.Kept, pruned.Deleted, second.ID, first.DeploymentID)
	}
	saveHistory(t, tc, dir, "retention", run.GetID(), run.GetRunID(), e.cfg.APIToken, e.cfg.S3SecretKey)
}

// waitWorkflow returns the newest workflow the visibility query finds, waiting up to timeout.
func waitWorkflow(t *testing.T, tc client.Client, query string, timeout time.Duration) *workflowpb.WorkflowExecutionInfo {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		res, err := tc.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 10})
		if err == nil && len(res.Executions) > 0 {
			return res.Executions[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no workflow matches %q after %s (last error: %v)", query, timeout, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

var payloadData = regexp.MustCompile(`"data":\s*"([A-Za-z0-9+/=]+)"`)

// saveHistory writes a workflow run's full history as JSON (the format of
// `temporal workflow show --output json`) to dir/<name>-history.json, refusing to write one
// that holds any of secrets.
func saveHistory(t *testing.T, tc client.Client, dir, name, workflowID, runID string, secrets ...string) {
	t.Helper()
	it := tc.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", workflowID, err)
		}
		h.Events = append(h.Events, ev)
	}
	data, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	// Payloads are base64 in the JSON: look into them too.
	text := string(data)
	for _, m := range payloadData.FindAllStringSubmatch(text, -1) {
		if b, err := base64.StdEncoding.DecodeString(m[1]); err == nil {
			text += "\n" + string(b)
		}
	}
	for _, secret := range secrets {
		if secret != "" && strings.Contains(text, secret) {
			t.Fatalf("the history of %s holds a platform secret", workflowID)
		}
	}
	path := filepath.Join(dir, name+"-history.json")
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %s (%d events) to %s", workflowID, len(h.Events), path)
}
