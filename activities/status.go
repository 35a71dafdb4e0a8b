package activities

import (
	"context"
	"time"

	"github.com/skydeploy/skydeploy/internal/livestatus"
	"github.com/skydeploy/skydeploy/workflows"
)

// ReportStatus writes a deployment's live status (and an optional message line) to Redis. The
// workflow runs it as a local activity and ignores its failures: the live view is best effort.
func (a *Activities) ReportStatus(ctx context.Context, u workflows.StatusUpdate) error {
	if a.Live == nil {
		return nil
	}
	if u.ResetRunID != "" {
		// The first report of a run made by an operator's reset marks the log, once.
		if first, err := a.Live.FirstTime(ctx, u.DeploymentID, "reset-"+u.ResetRunID); err == nil && first {
			_ = a.Live.AppendLog(ctx, u.DeploymentID, []livestatus.Line{{Step: "deploy", Stream: "system",
				Text: "──── Reset by an operator in the Temporal UI: the deployment runs again from the chosen point (run " + u.ResetRunID + ") ────",
				Time: time.Now().UTC()}})
		}
	}
	if err := a.Live.SetStatus(ctx, livestatus.Status{ID: u.DeploymentID, State: u.State, Step: u.Step, Error: u.Error}); err != nil {
		return err
	}
	text := u.Message
	if text == "" && u.Error != "" {
		text = "Deployment " + u.State + ": " + u.Error
	}
	if text == "" && u.Step != "" {
		text = "Step " + u.Step + " started"
	}
	if text == "" {
		return nil
	}
	step := u.Step
	if step == "" {
		step = "deploy"
	}
	return a.Live.AppendLog(ctx, u.DeploymentID, []livestatus.Line{{Step: step, Stream: "system", Text: text, Time: time.Now().UTC()}})
}
