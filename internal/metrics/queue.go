package metrics

import (
	"context"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// WatchBuildQueue samples the activity backlog and pollers of a task queue every interval
// (skydeploy_build_queue_backlog, skydeploy_build_queue_pollers) until ctx ends. It is best
// effort: a server that does not report statistics leaves the backlog at -1.
func WatchBuildQueue(ctx context.Context, c client.Client, namespace, taskQueue string, interval time.Duration, log *slog.Logger) {
	if interval <= 0 {
		interval = 15 * time.Second
	}
	warned := false
	for {
		backlog, pollers, err := SampleQueue(ctx, c, namespace, taskQueue)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !warned && log != nil {
				log.Warn("build queue depth not available", "task_queue", taskQueue, "error", err)
				warned = true
			}
			backlog, pollers = -1, 0
		}
		SetBuildQueue(taskQueue, backlog, pollers)
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// SampleQueue returns the approximate activity backlog of a task queue and how many pollers
// polled it recently. backlog is -1 when the server reports no statistics.
func SampleQueue(ctx context.Context, c client.Client, namespace, taskQueue string) (backlog int64, pollers int, err error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := c.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
		Namespace:     namespace,
		TaskQueue:     &taskqueuepb.TaskQueue{Name: taskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY,
		ReportStats:   true,
	})
	if err != nil {
		return -1, 0, err
	}
	backlog = -1
	if st := resp.GetStats(); st != nil {
		backlog = st.GetApproximateBacklogCount()
	}
	return backlog, len(resp.GetPollers()), nil
}
