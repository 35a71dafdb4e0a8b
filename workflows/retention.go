package workflows

import (
	"sort"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// RetentionWorkflowName is the workflow type that removes a project's old deployments.
const RetentionWorkflowName = "Retention"

// RetentionSignal carries the workflow id of a production deployment just started; retention
// runs once every deployment it was told about has ended.
const RetentionSignal = "deployment-started"

// Activity names of retention.
const (
	RunningDeploymentsActivity = "RunningDeployments"
	ApplyRetentionActivity     = "ApplyRetention"
)

// RetentionWorkflowID is the one retention workflow of a project: starting paths signal-with-start
// it, so a burst of deployments is cleaned up once.
func RetentionWorkflowID(project string) string { return "retention-" + project }

// RetentionInput says whose deployments to prune.
type RetentionInput struct {
	Project string `json:"project"`
	// Keep is how many successful deployments to keep besides those an alias points at.
	Keep int `json:"keep"`
	// Purge removes every deployment of the project, aliases or not (the project was deleted).
	Purge bool `json:"purge,omitempty"`
	// Wait lists deployment workflow ids to wait for before pruning.
	Wait []string `json:"wait,omitempty"`
}

// RetentionResult counts what was removed.
type RetentionResult struct {
	Kept         []string `json:"kept"`
	Deleted      []string `json:"deleted"`
	BlobsDeleted int      `json:"blobsDeleted"`
	// BlobsSkipped says why unreferenced blobs were left (a deployment was publishing).
	BlobsSkipped string `json:"blobsSkipped,omitempty"`
}

// ApplyRetentionInput is the pruning activity's input.
type ApplyRetentionInput struct {
	Project string `json:"project"`
	Keep    int    `json:"keep"`
	Purge   bool   `json:"purge,omitempty"`
}

// retentionPollEvery is how often retention checks whether the deployments it waits for ended.
const retentionPollEvery = 20 * time.Second

// Retention waits for the production deployments it was signalled about to end, then keeps the
// project's newest Keep successful deployments plus every deployment an alias points at, and
// deletes the rest (manifest, source, artifact, logs) and the blobs no remaining manifest of any
// project references. Signals that arrive while it works make it go round again.
func Retention(ctx workflow.Context, in RetentionInput) (RetentionResult, error) {
	var res RetentionResult
	pending := map[string]bool{}
	for _, w := range in.Wait {
		pending[w] = true
	}
	sig := workflow.GetSignalChannel(ctx, RetentionSignal)
	drain := func() bool {
		got := false
		var wid string
		for sig.ReceiveAsync(&wid) {
			pending[wid], got = true, true
		}
		return got
	}
	light := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 2 * time.Second, MaximumInterval: time.Minute, MaximumAttempts: 10},
	})
	for rounds := 0; ; rounds++ {
		drain()
		for len(pending) > 0 {
			wids := make([]string, 0, len(pending))
			for w := range pending {
				wids = append(wids, w)
			}
			sort.Strings(wids)
			var running []string
			if err := workflow.ExecuteActivity(light, RunningDeploymentsActivity, wids).Get(ctx, &running); err != nil {
				return res, err
			}
			pending = map[string]bool{}
			for _, w := range running {
				pending[w] = true
			}
			if len(pending) == 0 {
				break
			}
			// Wake on the timer or on a new signal, whichever comes first.
			timerCtx, cancel := workflow.WithCancel(ctx)
			sel := workflow.NewSelector(ctx)
			sel.AddFuture(workflow.NewTimer(timerCtx, retentionPollEvery), func(workflow.Future) {})
			sel.AddReceive(sig, func(c workflow.ReceiveChannel, _ bool) {
				var wid string
				c.Receive(ctx, &wid)
				pending[wid] = true
			})
			sel.Select(ctx)
			cancel()
			drain()
		}
		var r RetentionResult
		if err := workflow.ExecuteActivity(light, ApplyRetentionActivity, ApplyRetentionInput{
			Project: in.Project, Keep: in.Keep, Purge: in.Purge,
		}).Get(ctx, &r); err != nil {
			return res, err
		}
		res.Kept = r.Kept
		res.Deleted = append(res.Deleted, r.Deleted...)
		res.BlobsDeleted += r.BlobsDeleted
		res.BlobsSkipped = r.BlobsSkipped
		// A signal that came while pruning asks for another round; none means done. Completing
		// with an unhandled signal is impossible: Temporal replays the task with it.
		if !drain() || in.Purge {
			return res, nil
		}
		if rounds > 50 {
			// Keep the history short under a flood of deployments.
			return res, workflow.NewContinueAsNewError(ctx, Retention, RetentionInput{Project: in.Project, Keep: in.Keep, Wait: keys(pending)})
		}
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
