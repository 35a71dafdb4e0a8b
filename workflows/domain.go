package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// DomainWorkflowName is the workflow type that verifies one custom domain.
const DomainWorkflowName = "VerifyDomain"

// DomainVerifySignal asks a verification to check DNS now instead of at its next backoff
// (the API's verify, the CLI's `domains verify`, or the Temporal UI's Signal dialog). No input.
const DomainVerifySignal = "verify"

// Activity names of domain verification.
const (
	CheckDomainActivity    = "CheckDomainDNS"
	ActivateDomainActivity = "ActivateDomain"
	FailDomainActivity     = "FailDomain"
)

// ErrDomainRemoved is the error type of ActivateDomain when the domain was removed from its
// project (or added again with a new token) while it was being verified.
const ErrDomainRemoved = "DomainRemoved"

// Domain verification states (the API's domain states).
const (
	DomainPending  = "pending"
	DomainVerified = "verified"
	DomainFailed   = "failed"
	// DomainRemoved ends a verification whose domain was removed meanwhile.
	DomainRemoved = "removed"
)

// Default backoff of DNS checks: the first after DefaultDomainFirstInterval, doubling up to
// DefaultDomainMaxInterval, until the deadline.
const (
	DefaultDomainFirstInterval = 15 * time.Second
	DefaultDomainMaxInterval   = 10 * time.Minute
)

// DomainWorkflowID is the one verification workflow of a domain.
func DomainWorkflowID(domain string) string { return "domain-" + domain }

// DomainInput starts the verification of a domain's claim.
type DomainInput struct {
	Domain  string `json:"domain"`
	Project string `json:"project"`
	// Token identifies the claim (and is what the TXT record must hold).
	Token    string    `json:"token"`
	Deadline time.Time `json:"deadline"`
	// FirstInterval and MaxInterval shape the backoff between checks (0: the defaults).
	FirstInterval time.Duration `json:"firstInterval,omitempty"`
	MaxInterval   time.Duration `json:"maxInterval,omitempty"`
}

// DomainCheckInput asks for one DNS check of a domain's TXT record.
type DomainCheckInput struct {
	Domain string `json:"domain"`
	Token  string `json:"token"`
}

// DomainCheck is one check's outcome.
type DomainCheck struct {
	// Found: the TXT record holds the token.
	Found bool `json:"found"`
	// Seen says what DNS answered, for the user ("no TXT record at …", "… holds x").
	Seen string `json:"seen"`
	// Gone: the claim was removed or replaced; the verification stops.
	Gone bool `json:"gone,omitempty"`
}

// DomainFailInput fails a claim with a reason.
type DomainFailInput struct {
	Domain string `json:"domain"`
	Token  string `json:"token"`
	Reason string `json:"reason"`
}

// DomainStatus is what the verification's status query returns.
type DomainStatus struct {
	Domain    string    `json:"domain"`
	State     string    `json:"state"`
	Checks    int       `json:"checks"`
	LastSeen  string    `json:"lastSeen,omitempty"`
	NextCheck time.Time `json:"nextCheck,omitempty"`
	Deadline  time.Time `json:"deadline"`
}

// VerifyDomain checks the domain's TXT record at once, then with backoff (or when signalled)
// until it holds the claim's token — then the domain is activated: its routing pointer is
// written and the request handler serves it — or until the deadline, when the claim fails with
// what DNS last answered. A domain removed meanwhile ends it quietly.
func VerifyDomain(ctx workflow.Context, in DomainInput) (DomainStatus, error) {
	v := &domainVerification{in: in, status: DomainStatus{Domain: in.Domain, State: DomainPending, Deadline: in.Deadline}}
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (DomainStatus, error) { return v.status, nil }); err != nil {
		return v.status, err
	}
	return v.run(ctx)
}

type domainVerification struct {
	in     DomainInput
	status DomainStatus
}

func (v *domainVerification) run(ctx workflow.Context) (DomainStatus, error) {
	first, max := v.in.FirstInterval, v.in.MaxInterval
	if first <= 0 {
		first = DefaultDomainFirstInterval
	}
	if max < first {
		max = DefaultDomainMaxInterval
		if max < first {
			max = first
		}
	}
	// DNS and storage calls are short; a failing one is retried a few times, and a check that
	// still fails counts as "not yet" (the next one comes with the backoff).
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second, MaximumAttempts: 5},
	})
	signal := workflow.GetSignalChannel(ctx, DomainVerifySignal)
	interval := first
	for {
		var check DomainCheck
		err := workflow.ExecuteActivity(actx, CheckDomainActivity, DomainCheckInput{Domain: v.in.Domain, Token: v.in.Token}).Get(ctx, &check)
		if err != nil {
			if temporal.IsCanceledError(err) {
				return v.status, err
			}
			check.Seen = "could not check DNS: " + Reason(err)
		}
		v.status.Checks++
		v.status.LastSeen = check.Seen
		switch {
		case check.Gone:
			return v.end(ctx, DomainRemoved)
		case check.Found:
			err := workflow.ExecuteActivity(actx, ActivateDomainActivity, DomainCheckInput{Domain: v.in.Domain, Token: v.in.Token}).Get(ctx, nil)
			var appErr *temporal.ApplicationError
			if errors.As(err, &appErr) && appErr.Type() == ErrDomainRemoved {
				return v.end(ctx, DomainRemoved)
			}
			if err != nil {
				return v.status, err
			}
			return v.end(ctx, DomainVerified)
		}
		now := workflow.Now(ctx)
		if !now.Before(v.in.Deadline) {
			reason := fmt.Sprintf("not verified by the deadline (%s): %s", v.in.Deadline.UTC().Format(time.RFC3339), check.Seen)
			if err := workflow.ExecuteActivity(actx, FailDomainActivity, DomainFailInput{Domain: v.in.Domain, Token: v.in.Token, Reason: reason}).Get(ctx, nil); err != nil {
				return v.status, err
			}
			v.status.LastSeen = reason
			return v.end(ctx, DomainFailed)
		}
		wait := interval
		if left := v.in.Deadline.Sub(now); left < wait {
			wait = left
		}
		v.status.NextCheck = now.Add(wait)
		timerCtx, cancel := workflow.WithCancel(ctx)
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(workflow.NewTimer(timerCtx, wait), func(workflow.Future) {})
		sel.AddReceive(signal, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
		sel.Select(ctx)
		cancel()
		for signal.ReceiveAsync(nil) {
		}
		if err := ctx.Err(); err != nil {
			return v.status, temporal.NewCanceledError()
		}
		if interval *= 2; interval > max {
			interval = max
		}
	}
}

// end records the final state in the status and the search attribute.
func (v *domainVerification) end(ctx workflow.Context, state string) (DomainStatus, error) {
	v.status.State, v.status.NextCheck = state, time.Time{}
	_ = workflow.UpsertTypedSearchAttributes(ctx, AttrStatus.ValueSet(state))
	return v.status, nil
}
