package workflows

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

func workflowOptions(name string) workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: name}
}

func TestRetentionWaitsForDeploymentsThenPrunes(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Retention, workflowOptions(RetentionWorkflowName))
	running := map[string]time.Duration{"deploy-1": 50 * time.Second, "deploy-2": 90 * time.Second}
	start := env.Now()
	var applied []time.Time
	var asked [][]string
	env.RegisterActivityWithOptions(func(_ context.Context, wids []string) ([]string, error) {
		asked = append(asked, wids)
		var out []string
		for _, w := range wids {
			if env.Now().Sub(start) < running[w] {
				out = append(out, w)
			}
		}
		return out, nil
	}, activity.RegisterOptions{Name: RunningDeploymentsActivity})
	env.RegisterActivityWithOptions(func(_ context.Context, in ApplyRetentionInput) (RetentionResult, error) {
		applied = append(applied, env.Now())
		if in.Project != "site" || in.Keep != 3 {
			t.Errorf("apply input = %+v", in)
		}
		return RetentionResult{Kept: []string{"a", "b", "c"}, Deleted: []string{"d"}, BlobsDeleted: 4}, nil
	}, activity.RegisterOptions{Name: ApplyRetentionActivity})
	// deploy-2 is signalled while retention waits for deploy-1.
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(RetentionSignal, "deploy-2") }, 10*time.Second)
	env.ExecuteWorkflow(RetentionWorkflowName, RetentionInput{Project: "site", Keep: 3, Wait: []string{"deploy-1"}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(applied) != 1 {
		t.Fatalf("pruned %d times, want once after both deployments ended", len(applied))
	}
	if d := applied[0].Sub(start); d < 90*time.Second {
		t.Fatalf("pruned %s after start, before deploy-2 ended", d)
	}
	var res RetentionResult
	_ = env.GetWorkflowResult(&res)
	if len(res.Deleted) != 1 || res.BlobsDeleted != 4 {
		t.Fatalf("result = %+v", res)
	}
}

func TestRetentionPurgeRunsAtOnce(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Retention, workflowOptions(RetentionWorkflowName))
	env.RegisterActivityWithOptions(func(context.Context, []string) ([]string, error) {
		t.Error("purge waited for deployments")
		return nil, nil
	}, activity.RegisterOptions{Name: RunningDeploymentsActivity})
	calls := 0
	env.RegisterActivityWithOptions(func(_ context.Context, in ApplyRetentionInput) (RetentionResult, error) {
		calls++
		if !in.Purge {
			t.Errorf("apply input = %+v, want purge", in)
		}
		return RetentionResult{Deleted: []string{"x"}}, nil
	}, activity.RegisterOptions{Name: ApplyRetentionActivity})
	env.ExecuteWorkflow(RetentionWorkflowName, RetentionInput{Project: "gone", Purge: true})
	if err := env.GetWorkflowError(); err != nil || calls != 1 {
		t.Fatalf("err %v, %d prunes", err, calls)
	}
}
