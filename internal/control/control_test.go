package control

import (
	"context"
	"errors"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/skydeploy/skydeploy/internal/projects"
	"github.com/skydeploy/skydeploy/internal/testenv"
	"github.com/skydeploy/skydeploy/workflows"
)

func testSettings() Settings {
	return Settings{TaskQueue: "control-test", BuildTaskQueue: "control-build", PollTaskQueue: "control-poll",
		SiteURL: func(l string) string { return "http://" + l + ".test/" }, KeepDeployments: 3, PollInterval: 2 * time.Minute}
}

func TestDeployInput(t *testing.T) {
	c := New(nil, testSettings(), nil)
	p := &projects.Project{Name: "site", RepoURL: "https://github.com/acme/site", ProductionBranch: "main", BuildCommand: "npm run build"}
	sha := "0123456789abcdef0123456789abcdef01234567"
	prod := c.DeployInput(p, projects.DeployTarget{Commit: sha, Production: true, Trigger: "poll"})
	if prod.DeploymentID != projects.DeploymentID("site", projects.DeployTarget{Commit: sha, Production: true}) || prod.Branch != "main" ||
		len(prod.AliasLabels) != 1 || prod.AliasLabels[0] != "site" || prod.Overrides.BuildCommand != "npm run build" ||
		prod.BuildTaskQueue != "control-build" || prod.URL != "http://"+prod.DeploymentID+".test/" || prod.RequestedAt.IsZero() {
		t.Fatalf("production input = %+v", prod)
	}
	preview := c.DeployInput(p, projects.DeployTarget{Branch: "feature/x", Commit: sha, Trigger: "webhook"})
	if preview.DeploymentID == prod.DeploymentID || preview.Production || len(preview.AliasLabels) != 1 || preview.AliasLabels[0] != projects.BranchAlias("site", "feature/x") {
		t.Fatalf("preview input = %+v", preview)
	}
	fresh := c.NewDeploymentID(prod)
	if fresh.DeploymentID == prod.DeploymentID || fresh.URL != "http://"+fresh.DeploymentID+".test/" {
		t.Fatalf("fresh id = %+v", fresh)
	}
}

// startControl starts the Temporal dev server (skipped under -short) and a control room
// dialled to it; no worker runs, so what it starts stays queued for the test to read back.
func startControl(t *testing.T) (*Control, client.Client) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the Temporal dev server")
	}
	tmp := testenv.StartTemporal(t)
	tc, err := client.Dial(client.Options{HostPort: tmp.Address})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	return New(tc, testSettings(), testenv.Logger(t)), tc
}

// TestAgainstTemporal runs the control room against the Temporal dev server: no worker runs,
// so what it starts stays queued for the test to read back.
func TestAgainstTemporal(t *testing.T) {
	c, tc := startControl(t)
	ctx := context.Background()
	p := &projects.Project{Name: "site", RepoURL: "https://github.com/acme/site", ProductionBranch: "main",
		Watch: projects.Watch{Enabled: true}}

	t.Run("start", func(t *testing.T) {
		in := c.DeployInput(p, projects.DeployTarget{Commit: "0123456789abcdef0123456789abcdef01234567", Production: true, Trigger: "poll"})
		first, err := c.Start(ctx, in)
		if err != nil || first.WorkflowID != "deploy-"+in.DeploymentID || first.URL != in.URL {
			t.Fatalf("Start = %+v, %v", first, err)
		}
		again, err := c.Start(ctx, in)
		if err != nil || again != first {
			t.Fatalf("second Start of the same id = %+v, %v", again, err)
		}
		desc, err := tc.DescribeWorkflowExecution(ctx, first.WorkflowID, "")
		if err != nil {
			t.Fatal(err)
		}
		info := desc.GetWorkflowExecutionInfo()
		var memo workflows.DeploymentStatus
		if err := converter.GetDefaultDataConverter().FromPayload(info.GetMemo().GetFields()[workflows.MemoKey], &memo); err != nil ||
			memo.State != workflows.StateQueued || memo.ID != in.DeploymentID || len(memo.Steps) != len(workflows.AllSteps) || memo.Trigger != "poll" {
			t.Fatalf("memo = %+v, %v", memo, err)
		}
		attrs := map[string]string{}
		for k, v := range info.GetSearchAttributes().GetIndexedFields() {
			var s string
			_ = converter.GetDefaultDataConverter().FromPayload(v, &s)
			attrs[k] = s
		}
		for k, want := range map[string]string{"SkyDeployProject": "site", "SkyDeployRepository": p.RepoURL, "SkyDeployBranch": "main",
			"SkyDeployStatus": "queued", "SkyDeployTrigger": "poll"} {
			if attrs[k] != want {
				t.Errorf("search attribute %s = %q, want %q", k, attrs[k], want)
			}
		}
		if info.GetTaskQueue() != "control-test" {
			t.Errorf("task queue %q", info.GetTaskQueue())
		}
		// A production deployment of a project starts (or signals) its retention workflow.
		ret, err := tc.DescribeWorkflowExecution(ctx, workflows.RetentionWorkflowID("site"), "")
		if err != nil || ret.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Fatalf("retention workflow: %v", err)
		}
		if err := c.PurgeProject(ctx, "site"); err != nil {
			t.Fatal(err)
		}
		purge, err := tc.DescribeWorkflowExecution(ctx, workflows.RetentionWorkflowID("site"), "")
		if err != nil || purge.GetWorkflowExecutionInfo().GetExecution().GetRunId() == ret.GetWorkflowExecutionInfo().GetExecution().GetRunId() {
			t.Fatalf("purge did not replace the retention run: %v", err)
		}
	})

	t.Run("rephase", func(t *testing.T) {
		old := &projects.Project{Name: "old-site", RepoURL: "https://github.com/acme/old", ProductionBranch: "main",
			Watch: projects.Watch{Enabled: true}}
		if PollPhase(old.Name, time.Minute) == 0 {
			t.Fatal("the test needs a project whose phase is not 0")
		}
		sc := tc.ScheduleClient()
		// A poll schedule as SkyDeploy made them before phases: every minute from the epoch.
		if _, err := sc.Create(ctx, client.ScheduleOptions{ID: workflows.PollScheduleID(old.Name),
			Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Minute}}},
			Action: c.pollAction(old), Paused: true}); err != nil {
			t.Fatal(err)
		}
		defer sc.GetHandle(ctx, workflows.PollScheduleID(old.Name)).Delete(ctx)
		unwatched := &projects.Project{Name: "unwatched"}
		gone := &projects.Project{Name: "gone", Watch: projects.Watch{Enabled: true}}
		if n, err := c.RephaseSchedules(ctx, []*projects.Project{old, unwatched, gone}); err != nil || n != 1 {
			t.Fatalf("RephaseSchedules = %d, %v; want 1 moved", n, err)
		}
		d, err := sc.GetHandle(ctx, workflows.PollScheduleID(old.Name)).Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if iv := d.Schedule.Spec.Intervals; len(iv) != 1 || iv[0].Every != time.Minute || iv[0].Offset != PollPhase(old.Name, time.Minute) {
			t.Fatalf("rephased spec %+v", d.Schedule.Spec)
		}
		// Nothing else changed: still paused, same action and argument.
		act, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
		var poll workflows.PollInput
		if !d.Schedule.State.Paused || !ok || act.TaskQueue != "control-test" || len(act.Args) != 1 {
			t.Fatalf("rephased schedule state %+v action %+v", d.Schedule.State, d.Schedule.Action)
		}
		if pl, ok := act.Args[0].(*commonpb.Payload); !ok || converter.GetDefaultDataConverter().FromPayload(pl, &poll) != nil || poll.Project != old.Name || poll.RepoURL != old.RepoURL {
			t.Fatalf("rephased action args %#v (%+v)", act.Args, poll)
		}
		if n, err := c.RephaseSchedules(ctx, []*projects.Project{old}); err != nil || n != 0 {
			t.Fatalf("second RephaseSchedules = %d, %v; want 0 moved", n, err)
		}
	})

	t.Run("schedule", func(t *testing.T) {
		describe := func() *client.ScheduleDescription {
			d, err := tc.ScheduleClient().GetHandle(ctx, workflows.PollScheduleID("site")).Describe(ctx)
			if err != nil {
				t.Fatalf("describe schedule: %v", err)
			}
			return d
		}
		if err := c.SyncSchedule(ctx, p, true); err != nil {
			t.Fatal(err)
		}
		d := describe()
		if iv := d.Schedule.Spec.Intervals; len(iv) != 1 || iv[0].Every != 2*time.Minute || iv[0].Offset != PollPhase("site", 2*time.Minute) || d.Schedule.State.Paused {
			t.Fatalf("schedule spec %+v paused %v", d.Schedule.Spec, d.Schedule.State.Paused)
		}
		act, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
		if !ok || act.TaskQueue != "control-test" {
			t.Fatalf("action %+v", d.Schedule.Action)
		}
		var poll workflows.PollInput
		if pl, ok := act.Args[0].(*commonpb.Payload); !ok || converter.GetDefaultDataConverter().FromPayload(pl, &poll) != nil {
			t.Fatalf("action args %#v", act.Args)
		}
		// A GitHub repository's head checks run on the rate-limited poll task queue.
		if poll.Project != "site" || poll.Branch != "main" || poll.CheckTaskQueue != "control-poll" {
			t.Fatalf("poll input %+v", poll)
		}
		p.Watch.Interval = 5 * time.Minute
		if err := c.SyncSchedule(ctx, p, false); err != nil {
			t.Fatal(err)
		}
		if iv := describe().Schedule.Spec.Intervals; len(iv) != 1 || iv[0].Every != 5*time.Minute || iv[0].Offset != PollPhase("site", 5*time.Minute) {
			t.Fatalf("updated interval %+v", iv)
		}
		if err := c.SetPaused(ctx, p, true); err != nil || !describe().Schedule.State.Paused {
			t.Fatalf("pause: %v", err)
		}
		if id, err := c.TriggerPoll(ctx, "site"); err != nil || id != workflows.PollScheduleID("site") {
			t.Fatalf("TriggerPoll = %q, %v", id, err)
		}
		if err := c.DeleteSchedule(ctx, "site"); err != nil {
			t.Fatal(err)
		}
		if err := c.DeleteSchedule(ctx, "site"); err != nil {
			t.Fatalf("deleting a missing schedule: %v", err)
		}
		if _, err := c.TriggerPoll(ctx, "site"); !errors.Is(err, ErrNoSchedule) {
			t.Fatalf("TriggerPoll without a schedule = %v, want ErrNoSchedule", err)
		}
		// Resuming a project whose schedule is missing makes it anew, resumed.
		p.Watch.Paused = true
		if err := c.SetPaused(ctx, p, false); err != nil || describe().Schedule.State.Paused {
			t.Fatalf("resume without a schedule: %v", err)
		}
		p.Watch.Enabled = false
		if err := c.SyncSchedule(ctx, p, false); err != nil {
			t.Fatal(err)
		}
		if _, err := tc.ScheduleClient().GetHandle(ctx, workflows.PollScheduleID("site")).Describe(ctx); !isNotFound(err) {
			t.Fatalf("schedule of an unwatched project: %v", err)
		}
	})
}
