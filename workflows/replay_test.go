package workflows

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// recordedHistories are the histories in testdata/, each recorded from a real run on the
// Temporal dev server, with what each must contain to cover its path. The deploy-static one was
// exported with `temporal workflow show --output json`; the others are written by
// TestRecordWorkflowHistories in e2e/ (SKYDEPLOY_RECORD_HISTORIES=1).
var recordedHistories = []struct {
	file         string
	workflowType string
	// activities that must have completed in the history, and the event that ends it.
	activities []string
	final      enumspb.EventType
	// signals that must have been received.
	signals []string
}{
	{"deploy-static-history.json", DeployWorkflowName,
		[]string{CloneActivity, DetectActivity, UploadActivity, PublishActivity}, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, nil},
	{"deploy-node-build-history.json", DeployWorkflowName,
		[]string{CloneActivity, DetectActivity, UploadActivity, BuildActivity, PublishActivity}, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, nil},
	{"deploy-canceled-history.json", DeployWorkflowName,
		[]string{CloneActivity, DetectActivity, UploadActivity}, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, nil},
	{"poll-starts-deployment-history.json", PollWorkflowName,
		[]string{CheckBranchHeadActivity, StartDeployActivity}, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, nil},
	{"deploy-needs-attention-retry-history.json", DeployWorkflowName,
		[]string{CloneActivity, DetectActivity, UploadActivity, PublishActivity}, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		[]string{SignalRetry}},
	{"retention-history.json", RetentionWorkflowName,
		[]string{RunningDeploymentsActivity, ApplyRetentionActivity}, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, nil},
	// Written by e2e's TestCustomDomainVerifiedAndServedOverHTTPS: checks, a verify signal, activation.
	{"domain-verified-history.json", DomainWorkflowName,
		[]string{CheckDomainActivity, ActivateDomainActivity}, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, []string{DomainVerifySignal}},
	// Recorded by TestRecordUploadHistory in e2e/folder_test.go.
	{"deploy-upload-history.json", DeployWorkflowName,
		[]string{MaterializeActivity, DetectActivity, PublishActivity}, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, nil},
	{"collect-uploads-history.json", CollectUploadsWorkflowName,
		[]string{CollectUploadsActivity}, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, nil},
}

// TestReplayRecordedHistories replays histories recorded from real runs against the current
// workflow code: a change that would break running workflows on upgrade (a step added, removed
// or reordered without workflow.GetVersion) fails here. Guard such changes with
// workflow.GetVersion and record new histories.
func TestReplayRecordedHistories(t *testing.T) {
	files, _ := filepath.Glob("testdata/*-history.json")
	for _, h := range recordedHistories {
		if !slices.Contains(files, filepath.Join("testdata", h.file)) {
			t.Errorf("testdata/%s is missing: record it (see TestRecordWorkflowHistories in e2e/)", h.file)
		}
	}
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(Deploy, workflow.RegisterOptions{Name: DeployWorkflowName})
	r.RegisterWorkflowWithOptions(Poll, workflow.RegisterOptions{Name: PollWorkflowName})
	r.RegisterWorkflowWithOptions(Retention, workflow.RegisterOptions{Name: RetentionWorkflowName})
	r.RegisterWorkflowWithOptions(VerifyDomain, workflow.RegisterOptions{Name: DomainWorkflowName})
	r.RegisterWorkflowWithOptions(CollectUploads, workflow.RegisterOptions{Name: CollectUploadsWorkflowName})
	for _, f := range files {
		if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
			t.Errorf("%s does not replay on the current code: %v", f, err)
		}
	}
}

// TestRecordedHistoriesCoverTheirPath checks that each recorded history is the run it claims to
// be: its workflow type, the activities that completed, and how it ended.
func TestRecordedHistoriesCoverTheirPath(t *testing.T) {
	for _, want := range recordedHistories {
		t.Run(want.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", want.file))
			if err != nil {
				t.Skipf("not recorded: %v", err) // TestReplayRecordedHistories reports it
			}
			defer f.Close()
			h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			if err != nil {
				t.Fatal(err)
			}
			events := h.GetEvents()
			if len(events) == 0 {
				t.Fatal("empty history")
			}
			if got := events[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName(); got != want.workflowType {
				t.Errorf("workflow type %q, want %q", got, want.workflowType)
			}
			completed := completedActivities(events)
			for _, a := range want.activities {
				if !slices.Contains(completed, a) {
					t.Errorf("no completed %s activity (completed: %v)", a, completed)
				}
			}
			if got := events[len(events)-1].GetEventType(); got != want.final {
				t.Errorf("ends with %s, want %s", got, want.final)
			}
			var signals []string
			for _, ev := range events {
				if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil {
					signals = append(signals, a.GetSignalName())
				}
			}
			for _, sig := range want.signals {
				if !slices.Contains(signals, sig) {
					t.Errorf("no %s signal (received: %v)", sig, signals)
				}
			}
		})
	}
}

// completedActivities lists the types of the activities that completed in events.
func completedActivities(events []*historypb.HistoryEvent) []string {
	scheduled := map[int64]string{}
	var done []string
	for _, ev := range events {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			scheduled[ev.GetEventId()] = ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			done = append(done, scheduled[ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()])
		}
	}
	return done
}
