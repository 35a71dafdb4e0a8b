package workflows

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// domainEnv is a test environment of VerifyDomain whose DNS check answers found(now).
type domainEnv struct {
	env       *testsuite.TestWorkflowEnvironment
	start     time.Time
	checks    []time.Duration // when each check ran, since the start
	activated int
	failed    []string
}

func newDomainEnv(t *testing.T, found func(since time.Duration) bool) *domainEnv {
	var s testsuite.WorkflowTestSuite
	d := &domainEnv{env: s.NewTestWorkflowEnvironment()}
	d.start = d.env.Now()
	d.env.RegisterWorkflowWithOptions(VerifyDomain, workflowOptions(DomainWorkflowName))
	d.env.RegisterActivityWithOptions(func(_ context.Context, in DomainCheckInput) (DomainCheck, error) {
		since := d.env.Now().Sub(d.start)
		d.checks = append(d.checks, since)
		if in.Domain != "shop.test" || in.Token != "tok" {
			t.Errorf("check input %+v", in)
		}
		if found(since) {
			return DomainCheck{Found: true, Seen: "TXT holds the token"}, nil
		}
		return DomainCheck{Seen: "no TXT record at _skydeploy-challenge.shop.test"}, nil
	}, activity.RegisterOptions{Name: CheckDomainActivity})
	d.env.RegisterActivityWithOptions(func(_ context.Context, in DomainCheckInput) error {
		d.activated++
		return nil
	}, activity.RegisterOptions{Name: ActivateDomainActivity})
	d.env.RegisterActivityWithOptions(func(_ context.Context, in DomainFailInput) error {
		d.failed = append(d.failed, in.Reason)
		return nil
	}, activity.RegisterOptions{Name: FailDomainActivity})
	return d
}

func (d *domainEnv) run(t *testing.T, in DomainInput) DomainStatus {
	t.Helper()
	d.env.ExecuteWorkflow(DomainWorkflowName, in)
	if err := d.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var st DomainStatus
	if err := d.env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func input(start time.Time, deadline time.Duration) DomainInput {
	return DomainInput{Domain: "shop.test", Project: "shop", Token: "tok", Deadline: start.Add(deadline),
		FirstInterval: 10 * time.Second, MaxInterval: 80 * time.Second}
}

func TestVerifyDomainPendingThenVerified(t *testing.T) {
	// The record appears five minutes in; checks back off 10s, 20s, 40s, 80s, 80s…
	d := newDomainEnv(t, func(since time.Duration) bool { return since >= 5*time.Minute })
	st := d.run(t, input(d.start, time.Hour))
	if st.State != DomainVerified || d.activated != 1 || len(d.failed) != 0 {
		t.Fatalf("status %+v, activated %d, failed %v", st, d.activated, d.failed)
	}
	want := []time.Duration{0, 10 * time.Second, 30 * time.Second, 70 * time.Second, 150 * time.Second, 230 * time.Second, 310 * time.Second}
	if len(d.checks) != len(want) {
		t.Fatalf("checks at %v, want %v", d.checks, want)
	}
	for i := range want {
		if d.checks[i] != want[i] {
			t.Fatalf("checks at %v, want %v", d.checks, want)
		}
	}
	if st.Checks != len(want) {
		t.Errorf("status counts %d checks", st.Checks)
	}
}

func TestVerifyDomainDeadlineFails(t *testing.T) {
	d := newDomainEnv(t, func(time.Duration) bool { return false })
	st := d.run(t, input(d.start, 5*time.Minute))
	if st.State != DomainFailed || d.activated != 0 || len(d.failed) != 1 {
		t.Fatalf("status %+v, activated %d, failed %v", st, d.activated, d.failed)
	}
	if last := d.checks[len(d.checks)-1]; last != 5*time.Minute {
		t.Errorf("last check at %s, want at the deadline", last)
	}
	for _, want := range []string{"not verified by the deadline", "no TXT record at _skydeploy-challenge.shop.test"} {
		if !contains(d.failed[0], want) {
			t.Errorf("reason %q does not say %q", d.failed[0], want)
		}
	}
}

// A verify signal checks at once instead of at the next backoff.
func TestVerifyDomainSignalChecksNow(t *testing.T) {
	d := newDomainEnv(t, func(since time.Duration) bool { return since >= 30*time.Second })
	in := input(d.start, time.Hour)
	in.FirstInterval, in.MaxInterval = 10*time.Minute, 10*time.Minute
	d.env.RegisterDelayedCallback(func() { d.env.SignalWorkflow(DomainVerifySignal, nil) }, 45*time.Second)
	st := d.run(t, in)
	if st.State != DomainVerified || len(d.checks) != 2 || d.checks[1] != 45*time.Second {
		t.Fatalf("status %+v, checks at %v: want the second at the signal (45s)", st, d.checks)
	}
}

// A domain removed while it was verified ends the workflow without failing it.
func TestVerifyDomainRemoved(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(VerifyDomain, workflowOptions(DomainWorkflowName))
	env.RegisterActivityWithOptions(func(context.Context, DomainCheckInput) (DomainCheck, error) {
		return DomainCheck{Found: true}, nil
	}, activity.RegisterOptions{Name: CheckDomainActivity})
	env.RegisterActivityWithOptions(func(context.Context, DomainCheckInput) error {
		return temporal.NewNonRetryableApplicationError("removed", ErrDomainRemoved, nil)
	}, activity.RegisterOptions{Name: ActivateDomainActivity})
	env.ExecuteWorkflow(DomainWorkflowName, input(env.Now(), time.Hour))
	var st DomainStatus
	if err := env.GetWorkflowResult(&st); err != nil || st.State != DomainRemoved {
		t.Fatalf("status %+v, %v", st, err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// The recorded verification (replayed by TestReplayRecordedHistories) went through the paths
// that matter: checks that found nothing, a verify signal, then activation.
func TestRecordedDomainHistoryHasASignal(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "domain-verified-history.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	signals, checks := 0, 0
	for _, ev := range h.GetEvents() {
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED && ev.GetWorkflowExecutionSignaledEventAttributes().GetSignalName() == DomainVerifySignal {
			signals++
		}
	}
	for _, a := range completedActivities(h.GetEvents()) {
		if a == CheckDomainActivity {
			checks++
		}
	}
	if signals != 1 || checks < 2 {
		t.Fatalf("recorded history has %d verify signals and %d checks, want 1 and at least 2", signals, checks)
	}
}
