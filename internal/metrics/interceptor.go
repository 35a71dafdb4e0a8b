package metrics

import (
	"context"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
)

// TriggerOf says whether a started workflow is a deployment and by what it was triggered.
type TriggerOf func(workflowType string, args []any) (trigger string, ok bool)

// StartInterceptor counts the deployments this process starts (skydeploy_deployments_started_total)
// on every client.ExecuteWorkflow that succeeds: the gateway's API, redeploys, webhooks, and the
// poll activities of workers alike. A start that finds the workflow already running (derived ids
// of poll and webhook triggers) is counted too.
func StartInterceptor(of TriggerOf) interceptor.ClientInterceptor {
	return &startInterceptor{of: of}
}

type startInterceptor struct {
	interceptor.ClientInterceptorBase
	of TriggerOf
}

func (i *startInterceptor) InterceptClient(next interceptor.ClientOutboundInterceptor) interceptor.ClientOutboundInterceptor {
	return &startOutbound{ClientOutboundInterceptorBase: interceptor.ClientOutboundInterceptorBase{Next: next}, of: i.of}
}

type startOutbound struct {
	interceptor.ClientOutboundInterceptorBase
	of TriggerOf
}

func (o *startOutbound) ExecuteWorkflow(ctx context.Context, in *interceptor.ClientExecuteWorkflowInput) (client.WorkflowRun, error) {
	run, err := o.Next.ExecuteWorkflow(ctx, in)
	if err == nil {
		if trigger, ok := o.of(in.WorkflowType, in.Args); ok {
			DeploymentStarted(trigger)
		}
	}
	return run, err
}
