package control

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/skydeploy/skydeploy/internal/projects"
	"github.com/skydeploy/skydeploy/internal/repourl"
	"github.com/skydeploy/skydeploy/workflows"
)

// Interval is how often the project's repository is polled: its own interval, else the
// configured default, else one minute.
func (c *Control) Interval(p *projects.Project) time.Duration {
	if p.Watch.Interval > 0 {
		return p.Watch.Interval
	}
	if c.s.PollInterval > 0 {
		return c.s.PollInterval
	}
	return time.Minute
}

// pollInput is the poll schedule's action argument for p: GitHub repositories are asked on the
// rate-limited poll task queue.
func (c *Control) pollInput(p *projects.Project) workflows.PollInput {
	in := workflows.PollInput{Project: p.Name, RepoURL: p.RepoURL, Branch: p.Branch()}
	if _, _, ok := repourl.GitHubRepo(p.RepoURL); ok {
		in.CheckTaskQueue = c.s.PollTaskQueue
	}
	return in
}

// PollPhase is where in each interval the project's polls fall: a fixed offset derived from the
// project's name, whole seconds in [0, every). Without it every schedule with the same interval
// fires at the same instant (intervals count from the Unix epoch), so a thousand projects polled
// every minute asked Temporal for a thousand starts in the first second of each minute; spread,
// they make a steady stream, and one project's polls stay exactly one interval apart.
func PollPhase(project string, every time.Duration) time.Duration {
	secs := uint64(every / time.Second)
	if secs <= 1 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(project))
	return time.Duration(h.Sum64()%secs) * time.Second
}

func (c *Control) pollAction(p *projects.Project) *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{
		ID:                 workflows.PollScheduleID(p.Name),
		Workflow:           workflows.PollWorkflowName,
		Args:               []any{c.pollInput(p)},
		TaskQueue:          c.s.TaskQueue,
		WorkflowRunTimeout: 75 * time.Minute,
		Memo:               map[string]any{"project": p.Name},
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrProject.ValueSet(p.Name), workflows.AttrRepository.ValueSet(p.RepoURL), workflows.AttrBranch.ValueSet(p.Branch()),
		),
	}
}

// SyncSchedule makes the project's poll schedule match its watch settings: none when watching
// is off, else one every interval at the project's own phase (PollPhase; overlap SKIP: a slow or
// rate-limited poll is never doubled), paused when the watch is paused. A new schedule polls at once; created says the project is
// new, so no schedule of it can be current (one left over from a project of the same name is
// replaced).
func (c *Control) SyncSchedule(ctx context.Context, p *projects.Project, created bool) error {
	sc := c.temporal.ScheduleClient()
	id := workflows.PollScheduleID(p.Name)
	h := sc.GetHandle(ctx, id)
	if !p.Watch.Enabled {
		if err := h.Delete(ctx); err != nil && !isNotFound(err) {
			return err
		}
		return nil
	}
	every := c.Interval(p)
	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every, Offset: PollPhase(p.Name, every)}}}
	if !created {
		if _, err := h.Describe(ctx); err == nil {
			return h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				sch := in.Description.Schedule
				sch.Spec = &spec
				sch.Action = c.pollAction(p)
				if sch.State == nil {
					sch.State = &client.ScheduleState{}
				}
				sch.State.Paused = p.Watch.Paused
				if sch.Policy == nil {
					sch.Policy = &client.SchedulePolicies{}
				}
				sch.Policy.Overlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
				return &client.ScheduleUpdate{Schedule: &sch}, nil
			}})
		} else if !isNotFound(err) {
			return err
		}
	}
	_, err := sc.Create(ctx, client.ScheduleOptions{
		ID:                    id,
		Spec:                  spec,
		Action:                c.pollAction(p),
		Overlap:               enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow:         time.Minute,
		Paused:                p.Watch.Paused,
		TriggerImmediately:    !p.Watch.Paused,
		Note:                  "polls " + p.RepoURL + " branch " + p.Branch() + " for new commits",
		Memo:                  map[string]any{"project": p.Name},
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.AttrProject.ValueSet(p.Name)),
	})
	var exists *serviceerror.AlreadyExists
	if errors.As(err, &exists) || (err != nil && strings.Contains(err.Error(), "already")) {
		// Left over from a project of the same name: replace it.
		if derr := h.Delete(ctx); derr != nil && !isNotFound(derr) {
			return derr
		}
		return c.SyncSchedule(ctx, p, true)
	}
	return err
}

// DeleteSchedule deletes the project's poll schedule; a missing one is not an error.
func (c *Control) DeleteSchedule(ctx context.Context, project string) error {
	err := c.temporal.ScheduleClient().GetHandle(ctx, workflows.PollScheduleID(project)).Delete(ctx)
	if err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

// TriggerPoll runs the project's poll schedule now (skipped while a poll runs) and returns the
// schedule's id; ErrNoSchedule when it has none.
func (c *Control) TriggerPoll(ctx context.Context, project string) (string, error) {
	h := c.temporal.ScheduleClient().GetHandle(ctx, workflows.PollScheduleID(project))
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP}); err != nil {
		if isNotFound(err) {
			return "", fmt.Errorf("%w: %v", ErrNoSchedule, err)
		}
		return "", err
	}
	return h.GetID(), nil
}

// SetPaused pauses or resumes the project's poll schedule, making it anew (in the asked state)
// when it is missing. The caller saves the project's Watch.Paused.
func (c *Control) SetPaused(ctx context.Context, p *projects.Project, paused bool) error {
	h := c.temporal.ScheduleClient().GetHandle(ctx, workflows.PollScheduleID(p.Name))
	var err error
	if paused {
		err = h.Pause(ctx, client.SchedulePauseOptions{Note: "paused through the SkyDeploy API"})
	} else {
		err = h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: "resumed through the SkyDeploy API"})
	}
	if err != nil && isNotFound(err) {
		want := *p
		want.Watch.Paused = paused
		err = c.SyncSchedule(ctx, &want, false)
	}
	if err != nil && isNotFound(err) {
		return fmt.Errorf("%w: %v", ErrNoSchedule, err)
	}
	return err
}

// RephaseSchedules moves the poll schedules of watched projects made before schedules had a
// phase (they all fire at the top of their interval) to their project's PollPhase, changing
// nothing else of them, and says how many it moved. A project without a schedule, or whose
// schedule has another shape than SyncSchedule makes, is left alone; errors of single schedules
// are joined, the others are still moved. The gateway runs it at start.
func (c *Control) RephaseSchedules(ctx context.Context, ps []*projects.Project) (int, error) {
	var errs []error
	moved := 0
	for _, p := range ps {
		if !p.Watch.Enabled {
			continue
		}
		h := c.temporal.ScheduleClient().GetHandle(ctx, workflows.PollScheduleID(p.Name))
		changed := false
		err := h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			sch := in.Description.Schedule
			if sch.Spec == nil || len(sch.Spec.Intervals) != 1 {
				return nil, temporal.ErrSkipScheduleUpdate
			}
			iv := &sch.Spec.Intervals[0]
			if want := PollPhase(p.Name, iv.Every); iv.Offset != want {
				iv.Offset, changed = want, true
				return &client.ScheduleUpdate{Schedule: &sch}, nil
			}
			return nil, temporal.ErrSkipScheduleUpdate
		}})
		switch {
		case err != nil && !isNotFound(err):
			errs = append(errs, fmt.Errorf("schedule of project %s: %w", p.Name, err))
		case err == nil && changed:
			moved++
		}
	}
	return moved, errors.Join(errs...)
}
