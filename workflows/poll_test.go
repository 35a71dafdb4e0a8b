package workflows

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

var (
	shaA = strings.Repeat("a", 40)
	shaB = strings.Repeat("b", 40)
)

type pollMocks struct {
	checks  []BranchHeadInput
	starts  []StartDeployInput
	checkFn func(n int, in BranchHeadInput) (BranchHead, error)
}

func (m *pollMocks) register(env *testsuite.TestWorkflowEnvironment) {
	env.RegisterWorkflowWithOptions(Poll, workflowOptions(PollWorkflowName))
	env.RegisterActivityWithOptions(func(_ context.Context, in BranchHeadInput) (BranchHead, error) {
		m.checks = append(m.checks, in)
		return m.checkFn(len(m.checks), in)
	}, activity.RegisterOptions{Name: CheckBranchHeadActivity})
	env.RegisterActivityWithOptions(func(_ context.Context, in StartDeployInput) (StartDeployResult, error) {
		m.starts = append(m.starts, in)
		return StartDeployResult{DeploymentID: "9deployment1", WorkflowID: "deploy-9deployment1"}, nil
	}, activity.RegisterOptions{Name: StartDeployActivity})
}

var pollIn = PollInput{Project: "site", RepoURL: "https://github.com/acme/site", Branch: "main"}

func TestPollNoChange(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	m := &pollMocks{checkFn: func(_ int, in BranchHeadInput) (BranchHead, error) {
		if in.ETag != `"etag-a"` || in.LastSHA != shaA {
			return BranchHead{}, errors.New("previous ETag and SHA not passed on")
		}
		return BranchHead{NotModified: true, ETag: `"etag-a"`}, nil
	}}
	m.register(env)
	env.SetLastCompletionResult(PollResult{SHA: shaA, ETag: `"etag-a"`})
	env.ExecuteWorkflow(PollWorkflowName, pollIn)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res PollResult
	_ = env.GetWorkflowResult(&res)
	if len(m.starts) != 0 {
		t.Fatalf("deployment started on 304: %+v", m.starts)
	}
	if res.SHA != shaA || res.ETag != `"etag-a"` || res.DeploymentID != "" {
		t.Fatalf("result = %+v, want the previous SHA and ETag carried on", res)
	}
}

func TestPollNewCommit(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	m := &pollMocks{checkFn: func(int, BranchHeadInput) (BranchHead, error) {
		return BranchHead{SHA: shaB, ETag: `"etag-b"`}, nil
	}}
	m.register(env)
	env.SetLastCompletionResult(PollResult{SHA: shaA, ETag: `"etag-a"`})
	env.ExecuteWorkflow(PollWorkflowName, pollIn)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	want := StartDeployInput{Project: "site", Branch: "main", Commit: shaB, Production: true, Trigger: "poll"}
	if len(m.starts) != 1 || m.starts[0] != want {
		t.Fatalf("starts = %+v, want one %+v", m.starts, want)
	}
	var res PollResult
	_ = env.GetWorkflowResult(&res)
	if res.SHA != shaB || res.ETag != `"etag-b"` || res.DeploymentID != "9deployment1" {
		t.Fatalf("result = %+v", res)
	}
}

func TestPollFirstRunDeploysHead(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	m := &pollMocks{checkFn: func(_ int, in BranchHeadInput) (BranchHead, error) {
		if in.ETag != "" || in.LastSHA != "" {
			return BranchHead{}, errors.New("unexpected previous state")
		}
		return BranchHead{SHA: shaA, ETag: `"etag-a"`}, nil
	}}
	m.register(env)
	env.ExecuteWorkflow(PollWorkflowName, pollIn)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(m.starts) != 1 || m.starts[0].Commit != shaA {
		t.Fatalf("starts = %+v", m.starts)
	}
}

func TestPollRateLimitedWaitsForReset(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	const wait = 17 * time.Minute
	var times []time.Time
	m := &pollMocks{checkFn: func(n int, _ BranchHeadInput) (BranchHead, error) {
		times = append(times, env.Now())
		if n == 1 {
			return BranchHead{}, temporal.NewApplicationErrorWithOptions("rate limited", "GitHubRateLimited",
				temporal.ApplicationErrorOptions{NextRetryDelay: wait})
		}
		return BranchHead{SHA: shaB, ETag: `"etag-b"`}, nil
	}}
	m.register(env)
	env.SetLastCompletionResult(PollResult{SHA: shaA, ETag: `"etag-a"`})
	start := env.Now()
	env.ExecuteWorkflow(PollWorkflowName, pollIn)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(times) != 2 {
		t.Fatalf("%d checks, want 2", len(times))
	}
	if waited := times[1].Sub(times[0]); waited < wait || waited > wait+time.Minute {
		t.Fatalf("retried after %s, want about %s (the rate-limit reset)", waited, wait)
	}
	if total := env.Now().Sub(start); total < wait {
		t.Fatalf("workflow took %s of test clock, want at least %s", total, wait)
	}
	if len(m.starts) != 1 || m.starts[0].Commit != shaB {
		t.Fatalf("starts = %+v", m.starts)
	}
}

func TestPollGitHubDown(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	m := &pollMocks{checkFn: func(int, BranchHeadInput) (BranchHead, error) {
		return BranchHead{}, temporal.NewApplicationError("GitHub API answered 502 Bad Gateway", "GitHubUnavailable")
	}}
	m.register(env)
	env.SetLastCompletionResult(PollResult{SHA: shaA, ETag: `"etag-a"`})
	env.ExecuteWorkflow(PollWorkflowName, pollIn)
	if err := env.GetWorkflowError(); err == nil {
		t.Fatal("poll succeeded while GitHub was down")
	}
	if len(m.checks) != int(pollRetry.MaximumAttempts) {
		t.Fatalf("%d attempts, want %d", len(m.checks), pollRetry.MaximumAttempts)
	}
	if len(m.starts) != 0 {
		t.Fatalf("deployment started while GitHub was down: %+v", m.starts)
	}

	// The next scheduled run gets the last successful result again and works.
	env2 := s.NewTestWorkflowEnvironment()
	m2 := &pollMocks{checkFn: func(_ int, in BranchHeadInput) (BranchHead, error) {
		if in.ETag != `"etag-a"` {
			return BranchHead{}, errors.New("ETag lost after a failed run")
		}
		return BranchHead{SHA: shaB, ETag: `"etag-b"`}, nil
	}}
	m2.register(env2)
	env2.SetLastCompletionResult(PollResult{SHA: shaA, ETag: `"etag-a"`})
	env2.ExecuteWorkflow(PollWorkflowName, pollIn)
	if err := env2.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(m2.starts) != 1 {
		t.Fatalf("next run started %d deployments, want 1", len(m2.starts))
	}
}
