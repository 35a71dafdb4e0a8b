package control

import (
	"context"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/skydeploy/skydeploy/workflows"
)

// SignalRetention tells the project's retention workflow (starting it if none runs) that the
// deployment workflow wid has started and is to be waited for before pruning.
func (c *Control) SignalRetention(ctx context.Context, project, wid string) error {
	if c.s.KeepDeployments < 1 {
		return nil // retention disabled
	}
	_, err := c.temporal.SignalWithStartWorkflow(ctx, workflows.RetentionWorkflowID(project), workflows.RetentionSignal, wid,
		client.StartWorkflowOptions{
			TaskQueue:             c.s.TaskQueue,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			TypedSearchAttributes: temporal.NewSearchAttributes(workflows.AttrProject.ValueSet(project)),
		}, workflows.RetentionWorkflowName, workflows.RetentionInput{Project: project, Keep: c.s.KeepDeployments})
	return err
}

// PurgeProject starts the retention workflow that deletes every deployment of a deleted project
// (manifests, sources, artifacts, logs, and blobs no other deployment uses), replacing a
// retention run of the project that is still going.
func (c *Control) PurgeProject(ctx context.Context, project string) error {
	_, err := c.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.RetentionWorkflowID(project),
		TaskQueue:                c.s.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING,
		TypedSearchAttributes:    temporal.NewSearchAttributes(workflows.AttrProject.ValueSet(project)),
	}, workflows.RetentionWorkflowName, workflows.RetentionInput{Project: project, Purge: true})
	return err
}
