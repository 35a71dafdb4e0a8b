package workflows

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplayRecordedHistories replays histories recorded from real runs (exported with
// `temporal workflow show --output json`) against the current workflow code: a change that
// would break running deployments on upgrade fails here. Guard such changes with
// workflow.GetVersion and record a new history.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/*-history.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded histories in testdata/: %v", err)
	}
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(Deploy, workflow.RegisterOptions{Name: DeployWorkflowName})
	for _, f := range files {
		if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
			t.Errorf("%s does not replay on the current code: %v", f, err)
		}
	}
}
