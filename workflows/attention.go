package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Failures are split in two by what would fix them.
//
//   - The project's own fault (its build exits non-zero, it is unsupported, it passes a limit,
//     its input is invalid): the activity returns a non-retryable application error and the
//     deployment fails at once, as a user expects.
//   - The platform's fault (storage down, a registry unreachable, a disk full, a worker lost
//     again and again): the activity's error is retryable, and Temporal retries the step with
//     backoff. When the retries run out, the deployment does not fail: it enters
//     StateNeedsAttention with the reason, and waits for an operator's SignalRetry (the step
//     runs again) or SignalAbandon (it fails), up to the attention timeout (then it fails).
//
// Cancellation always ends the wait.

// ErrAbandoned is the error type of a deployment an operator abandoned, or that waited for an
// operator past its attention timeout.
const ErrAbandoned = "Abandoned"

// isPlatformFailure reports whether a step's error is the platform's fault, so that an
// operator, not the project's owner, can fix it.
func isPlatformFailure(err error) bool {
	if err == nil || temporal.IsCanceledError(err) {
		return false
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return !appErr.NonRetryable()
	}
	// Timeouts (a worker lost past its heartbeats, a step that never started), panics and
	// unknown errors.
	return true
}

// needsAttention waits for an operator after a step failed for the platform's reasons. It
// returns nil when the operator asked to retry, or the error that ends the deployment.
func (d *deployment) needsAttention(ctx workflow.Context, step string, stepErr error) error {
	now := workflow.Now(ctx)
	timeout := d.in.AttentionTimeout
	if timeout <= 0 {
		timeout = DefaultAttentionTimeout
	}
	retries := 0
	if d.status.Attention != nil {
		retries = d.status.Attention.Retries
	}
	reason := Reason(stepErr)
	d.status.State = StateNeedsAttention
	d.status.Attention = &Attention{Step: step, Reason: reason, Since: now, Deadline: now.Add(timeout), Retries: retries}
	d.upsert(ctx, AttrStatus.ValueSet(StateNeedsAttention))
	d.saveMemo(ctx)
	d.report(ctx, StatusUpdate{State: StateNeedsAttention, Step: step, Error: reason,
		Message: fmt.Sprintf("Step %s failed for a reason of the platform, not of the project: %s. The deployment waits for an operator to retry or abandon it (until %s).",
			step, reason, now.Add(timeout).UTC().Format(time.RFC3339))})

	// Signals sent while nothing was waiting for them are old news.
	for workflow.GetSignalChannel(ctx, SignalRetry).ReceiveAsync(nil) {
	}
	var stale string
	for workflow.GetSignalChannel(ctx, SignalAbandon).ReceiveAsync(&stale) {
	}
	var abandonReason string
	retry, abandon := false, false
	timedOut := false
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(workflow.GetSignalChannel(ctx, SignalRetry), func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		retry = true
	})
	sel.AddReceive(workflow.GetSignalChannel(ctx, SignalAbandon), func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, &abandonReason)
		abandon = true
	})
	tctx, cancelTimer := workflow.WithCancel(ctx)
	sel.AddFuture(workflow.NewTimer(tctx, timeout), func(f workflow.Future) {
		if f.Get(tctx, nil) == nil {
			timedOut = true
		}
	})
	sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
	sel.Select(ctx)
	cancelTimer()

	switch {
	case ctx.Err() != nil:
		return temporal.NewCanceledError()
	case retry:
		d.status.State = StateRunning
		d.status.Attention.Retries++
		d.upsert(ctx, AttrStatus.ValueSet(StateRunning))
		d.saveMemo(ctx)
		d.report(ctx, StatusUpdate{State: StateRunning, Step: step, Message: "Retrying step " + step + " at an operator's request"})
		return nil
	case abandon:
		msg := "abandoned by an operator after step " + step + " failed: " + reason
		if abandonReason != "" {
			msg = "abandoned by an operator (" + abandonReason + ") after step " + step + " failed: " + reason
		}
		return temporal.NewNonRetryableApplicationError(msg, ErrAbandoned, nil)
	case timedOut:
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("nobody retried within %s after step %s failed: %s", timeout, step, reason), ErrAbandoned, nil)
	}
	return temporal.NewNonRetryableApplicationError("the wait for an operator ended without a decision", ErrAbandoned, nil)
}
