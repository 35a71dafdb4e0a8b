package platform

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/skydeploy/skydeploy/internal/control"
	"github.com/skydeploy/skydeploy/internal/projects"
	"github.com/skydeploy/skydeploy/internal/testenv"
	"github.com/skydeploy/skydeploy/workflows"
)

// A gateway that starts moves poll schedules made before schedules had a phase to their
// project's phase, on the real Temporal dev server and object storage.
func TestGatewayRephasesOldPollSchedules(t *testing.T) {
	st := testenv.StartStack(t)
	cfg := st.Config
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := testenv.Logger(t)

	ps, err := projects.NewStore(NewStore(cfg), cfg.SecretKey)
	if err != nil {
		t.Fatal(err)
	}
	p := &projects.Project{Name: "old-site", RepoURL: "https://github.com/acme/old", ProductionBranch: "main",
		Watch: projects.Watch{Enabled: true, Interval: time.Minute}}
	if control.PollPhase(p.Name, time.Minute) == 0 {
		t.Fatal("the test needs a project whose phase is not 0")
	}
	if err := ps.Put(ctx, p); err != nil {
		t.Fatal(err)
	}
	tc, err := TemporalClient(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	h := tc.ScheduleClient().GetHandle(ctx, workflows.PollScheduleID(p.Name))
	// The schedule as an older SkyDeploy made it: every minute from the epoch, paused so no
	// poll runs in the test.
	if _, err := tc.ScheduleClient().Create(ctx, client.ScheduleOptions{ID: h.GetID(),
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Minute}}},
		Action: &client.ScheduleWorkflowAction{ID: h.GetID(), Workflow: workflows.PollWorkflowName,
			Args: []any{workflows.PollInput{Project: p.Name, RepoURL: p.RepoURL, Branch: "main"}}, TaskQueue: cfg.TaskQueue},
		Paused: true}); err != nil {
		t.Fatal(err)
	}

	_, closeGW, err := NewGateway(ctx, cfg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeGW()
	want := control.PollPhase(p.Name, time.Minute)
	var got time.Duration
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		d, err := h.Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if iv := d.Schedule.Spec.Intervals; len(iv) == 1 {
			if got = iv[0].Offset; got == want {
				if !d.Schedule.State.Paused {
					t.Fatal("rephasing resumed a paused schedule")
				}
				return
			}
		}
	}
	t.Fatalf("poll schedule offset %s 30 s after the gateway started, want %s", got, want)
}
