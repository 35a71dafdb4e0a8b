package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/skydeploy/skydeploy/gateway"
	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/ids"
	"github.com/skydeploy/skydeploy/internal/platform"
	"github.com/skydeploy/skydeploy/internal/testenv"
	"github.com/skydeploy/skydeploy/workflows"
)

// waitState polls a deployment until it is in state (or ended otherwise).
func (e *env) waitState(id, state string, timeout time.Duration) gateway.Deployment {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	var d gateway.Deployment
	for time.Now().Before(deadline) {
		if code := e.do("GET", "/api/deployments/"+id, nil, &d); code == http.StatusOK && d.State == state {
			return d
		}
		if d.State == "succeeded" || d.State == "failed" || d.State == "canceled" {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	e.t.Fatalf("deployment %s is %s (step %s, error %q), want %s", id, d.State, d.Step, d.Error, state)
	return d
}

// TestOperatorsDecideAfterPlatformFailures: object storage made unreachable past the upload's
// retries puts the deployment before an operator, who retries it once storage is back (it
// succeeds and is served) or abandons it (it fails with the reason).
func TestOperatorsDecideAfterPlatformFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	e := startEnv(t, func(c *config.Config) { c.StepAttempts = 2 })
	ctx := context.Background()
	storageDown := func() func() {
		e.stack.S3.Proc.Stop(5 * time.Second)
		return func() {
			if err := e.stack.S3.Proc.Start(ctx, 20*time.Second); err != nil {
				t.Fatalf("restart object storage: %v", err)
			}
		}
	}

	t.Run("retry", func(t *testing.T) {
		tallyFault(t, "object storage down past a step's retries, then an operator's retry")
		repo := e.git.NewRepo(t, "attention-retry", map[string]string{"index.html": "<h1>retried</h1>"})
		up := storageDown()
		started := e.deploy(map[string]any{"repoUrl": repo.URL})
		d := e.waitState(started.ID, "needs_attention", 2*time.Minute)
		if d.Attention == nil || d.Attention.Step != "upload" || d.Attention.Reason == "" || !d.Attention.Deadline.After(time.Now().Add(23*time.Hour)) {
			t.Fatalf("attention = %+v", d.Attention)
		}
		// Listed too, by state.
		var list struct{ Deployments []gateway.Deployment }
		e.do("GET", "/api/deployments?status=needs_attention", nil, &list)
		if len(list.Deployments) != 1 || list.Deployments[0].ID != started.ID {
			t.Errorf("status=needs_attention lists %d deployments", len(list.Deployments))
		}
		// Retrying a deployment in any other state is refused.
		up()
		if code := e.do("POST", "/api/deployments/"+started.ID+"/retry", nil, nil); code != http.StatusAccepted {
			t.Fatalf("retry = %d", code)
		}
		d = e.wait(started.ID, 2*time.Minute)
		if d.State != "succeeded" || d.Attention == nil || d.Attention.Retries != 1 {
			t.Fatalf("after the retry: %s %q attention %+v", d.State, d.Error, d.Attention)
		}
		if code := e.do("POST", "/api/deployments/"+started.ID+"/retry", nil, nil); code != http.StatusConflict {
			t.Errorf("retry of a succeeded deployment = %d, want 409", code)
		}
		res, body := e.fetchSite(started.ID+".localhost", "/")
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "retried") {
			t.Fatalf("served %d %q", res.StatusCode, body)
		}
		log := logText(e.readLog(started.ID, "", 30*time.Second))
		for _, want := range []string{"failed for a reason of the platform, not of the project", "Retrying step upload at an operator's request"} {
			if !strings.Contains(log, want) {
				t.Errorf("log lacks %q:\n%s", want, log)
			}
		}
		if os.Getenv("SKYDEPLOY_RECORD_HISTORIES") == "1" {
			tc, err := platform.TemporalClient(ctx, e.cfg, testenv.Logger(t))
			if err != nil {
				t.Fatal(err)
			}
			defer tc.Close()
			saveHistory(t, tc, filepath.Join(testenv.RepoRoot(t), "workflows", "testdata"), "deploy-needs-attention-retry",
				started.WorkflowID, "", e.cfg.APIToken, e.cfg.S3SecretKey)
		}
	})

	t.Run("abandon", func(t *testing.T) {
		tallyFault(t, "object storage down past a step's retries, then an operator abandons")
		repo := e.git.NewRepo(t, "attention-abandon", map[string]string{"index.html": "<h1>abandoned</h1>"})
		up := storageDown()
		defer up()
		started := e.deploy(map[string]any{"repoUrl": repo.URL})
		e.waitState(started.ID, "needs_attention", 2*time.Minute)
		if code := e.do("POST", "/api/deployments/"+started.ID+"/abandon", map[string]any{"reason": "the bucket is being moved"}, nil); code != http.StatusAccepted {
			t.Fatalf("abandon = %d", code)
		}
		d := e.wait(started.ID, time.Minute)
		if d.State != "failed" || !strings.Contains(d.Error, "abandoned by an operator (the bucket is being moved)") || !strings.Contains(d.Error, "upload") {
			t.Fatalf("%s: %q", d.State, d.Error)
		}
	})
}

// TestResetInTheTemporalUI: a build that failed for want of a project variable is reset, as an
// operator does in the Temporal UI, to the point before the build after the variable was added;
// the same deployment id succeeds, and the API, the list and the log follow the new run.
func TestResetInTheTemporalUI(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	e := startEnv(t, func(c *config.Config) { c.SecretKey = testSecretKey })
	ctx := context.Background()
	repo := e.git.NewRepo(t, "needs-greeting", map[string]string{
		"package.json":      `{"name":"greet","version":"1.0.0","private":true,"scripts":{"build":"test -n \"$GREETING\" || { echo 'GREETING is not set' >&2; exit 1; }; mkdir -p dist && echo \"<h1>$GREETING</h1>\" > dist/index.html"}}`,
		"package-lock.json": `{"name":"greet","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"greet","version":"1.0.0"}}}`,
	})
	if code := e.do("POST", "/api/projects", map[string]any{"name": "greet", "repoUrl": repo.URL, "watch": map[string]any{"enabled": false}}, nil); code != http.StatusCreated {
		t.Fatalf("create project = %d", code)
	}
	started := e.deploy(map[string]any{"repoUrl": repo.URL, "project": "greet"})
	d := e.wait(started.ID, 3*time.Minute)
	if d.State != "failed" || !strings.Contains(d.Error, "GREETING is not set") {
		t.Fatalf("first run: %s %q", d.State, d.Error)
	}
	// The operator adds the variable…
	if code := e.do("PUT", "/api/projects/greet", map[string]any{"env": []map[string]any{{"key": "GREETING", "value": "hello after the reset", "secret": false}}}, nil); code != http.StatusOK {
		t.Fatalf("add the variable = %d", code)
	}
	// …and resets the workflow to the workflow task that scheduled the build.
	tc, err := platform.TemporalClient(ctx, e.cfg, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	wid := ids.WorkflowID(started.ID)
	resetPoint, oldRun := workflowTaskBefore(t, tc, wid, workflows.BuildActivity)
	res, err := tc.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{
		Namespace:                 e.cfg.TemporalNamespace,
		WorkflowExecution:         &commonpb.WorkflowExecution{WorkflowId: wid, RunId: oldRun},
		Reason:                    "the project's GREETING variable was missing",
		WorkflowTaskFinishEventId: resetPoint,
		RequestId:                 "reset-" + started.ID,
	})
	if err != nil {
		t.Fatalf("reset: %v", err)
	}
	d = e.wait(started.ID, 3*time.Minute)
	if d.State != "succeeded" || !d.ResetByOperator || d.RunID != res.GetRunId() {
		t.Fatalf("after the reset: %s %q reset %v run %s (new run %s)", d.State, d.Error, d.ResetByOperator, d.RunID, res.GetRunId())
	}
	if _, body := e.fetchSite(started.ID+".localhost", "/"); !strings.Contains(string(body), "hello after the reset") {
		t.Errorf("served %q", body)
	}
	// The list shows the deployment once, as the new run shows it.
	var list struct{ Deployments []gateway.Deployment }
	e.do("GET", "/api/deployments?project=greet", nil, &list)
	if len(list.Deployments) != 1 || list.Deployments[0].State != "succeeded" || !list.Deployments[0].ResetByOperator {
		t.Errorf("list = %+v", list.Deployments)
	}
	log := logText(e.readLog(started.ID, "", 30*time.Second))
	marker := strings.Index(log, "Reset by an operator in the Temporal UI")
	if marker < 0 || strings.Count(log, "Reset by an operator in the Temporal UI") != 1 {
		t.Fatalf("the log has no single reset marker:\n%s", log)
	}
	if !strings.Contains(log[:marker], "GREETING is not set") || !strings.Contains(log[marker:], "Build finished") {
		t.Errorf("the old run's lines should come before the marker and the new run's after it:\n%s", log)
	}
}

// workflowTaskBefore returns the WorkflowTaskCompleted event that scheduled the first activity
// of type activityType in the workflow's latest run (what an operator picks in the UI's Reset
// dialog), and that run's id.
func workflowTaskBefore(t *testing.T, tc client.Client, wid, activityType string) (int64, string) {
	t.Helper()
	desc, err := tc.DescribeWorkflowExecution(context.Background(), wid, "")
	if err != nil {
		t.Fatal(err)
	}
	run := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	it := tc.GetWorkflowHistory(context.Background(), wid, run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var lastCompleted int64
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			lastCompleted = ev.GetEventId()
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			if ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == activityType {
				return lastCompleted, run
			}
		}
	}
	t.Fatalf("no %s in the history of %s", activityType, wid)
	return 0, ""
}
