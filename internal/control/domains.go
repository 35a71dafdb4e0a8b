package control

import (
	"context"
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/skydeploy/skydeploy/workflows"
)

// ErrNoVerification says a domain has no verification running (it ended: verified, failed or
// removed).
var ErrNoVerification = errors.New("no verification of the domain is running")

// StartDomainVerification starts the workflow `domain-<host>` that verifies a domain's claim,
// replacing one still running for the same domain (a claim added again has a new token).
func (c *Control) StartDomainVerification(ctx context.Context, in workflows.DomainInput) (string, error) {
	wid := workflows.DomainWorkflowID(in.Domain)
	timeout := time.Until(in.Deadline) + time.Hour
	if timeout < time.Hour {
		timeout = time.Hour
	}
	_, err := c.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       wid,
		TaskQueue:                c.s.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING,
		WorkflowExecutionTimeout: timeout,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrProject.ValueSet(in.Project),
			workflows.AttrStatus.ValueSet(workflows.DomainPending),
		),
	}, workflows.DomainWorkflowName, in)
	return wid, err
}

// VerifyDomainNow asks a running verification to check DNS at once; ErrNoVerification when
// none runs.
func (c *Control) VerifyDomainNow(ctx context.Context, domain string) error {
	err := c.temporal.SignalWorkflow(ctx, workflows.DomainWorkflowID(domain), "", workflows.DomainVerifySignal, nil)
	if isNotFound(err) {
		return ErrNoVerification
	}
	return err
}

// StopDomainVerification cancels a domain's running verification and waits (up to 10s) for it
// to end, so that it activates nothing after the domain is removed. None running is not an error.
func (c *Control) StopDomainVerification(ctx context.Context, domain string) error {
	wid := workflows.DomainWorkflowID(domain)
	if err := c.temporal.CancelWorkflow(ctx, wid, ""); err != nil {
		if isNotFound(err) {
			return nil
		}
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := c.temporal.GetWorkflow(wctx, wid, "").Get(wctx, nil)
	if wctx.Err() != nil {
		c.log.Warn("domain verification did not end within 10s of its cancellation", "domain", domain)
	}
	_ = err // canceled, or ended otherwise: either way it no longer runs
	return nil
}
