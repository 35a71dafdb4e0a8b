package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/detect"
)

func materializeStub(context.Context, MaterializeInput) (UploadResult, error) {
	return UploadResult{}, nil
}

var uploadInput = DeployInput{
	DeploymentID: "0abcdefghjkm", BuildTaskQueue: "build-q", URL: "http://0abcdefghjkm.localhost:3002/", Trigger: TriggerUpload,
	Upload: &api.UploadSource{ID: "u0123456789abcdef01234567", Files: 3, Bytes: 300,
		Git: &api.UploadGit{Commit: testCommit.SHA, Branch: "main", Message: "m", Author: "a", Dirty: true}},
}

// TestUploadedFolderIsMaterializedThenBuilt: the upload step makes the source snapshot,
// detection reads that snapshot (no clone), and build and publish run as for a clone; the
// status shows the upload, its checkout's commit and the upload's own steps.
func (s *deploySuite) TestUploadedFolderIsMaterializedThenBuilt() {
	s.env.OnActivity(MaterializeActivity, mock.Anything, MaterializeInput{DeploymentID: uploadInput.DeploymentID, UploadID: uploadInput.Upload.ID}).
		Return(UploadResult{Key: "sources/0abcdefghjkm.tar.gz", Files: 3}, nil).Once()
	s.env.OnActivity(DetectActivity, mock.Anything, mock.MatchedBy(func(in DetectInput) bool {
		return in.SourceKey == "sources/0abcdefghjkm.tar.gz" && in.RepoURL == "" && in.DeploymentID == uploadInput.DeploymentID
	})).Return(detect.Plan{Kind: detect.KindNode, Framework: "vite", BuildCommand: "npm run build", OutputDir: "dist"}, nil).Once()
	s.env.OnActivity(BuildActivity, mock.Anything, mock.MatchedBy(func(in BuildInput) bool {
		return in.SourceKey == "sources/0abcdefghjkm.tar.gz"
	})).Return(BuildResult{ArtifactKey: "artifacts/0abcdefghjkm.tar.gz"}, nil).Once()
	s.env.OnActivity(PublishActivity, mock.Anything, mock.MatchedBy(func(in PublishInput) bool {
		return in.ArchiveKey == "artifacts/0abcdefghjkm.tar.gz" && in.Commit.SHA == testCommit.SHA
	})).Return(PublishResult{Files: 3}, nil).Once()

	s.env.ExecuteWorkflow(Deploy, uploadInput)
	s.Require().NoError(s.env.GetWorkflowError())
	st := s.status()
	s.Equal(StateSucceeded, st.State)
	s.Require().NotNil(st.Upload)
	s.True(st.Upload.Git.Dirty)
	s.Equal(testCommit.SHA, st.Commit.SHA)
	var names []string
	for _, step := range st.Steps {
		names = append(names, step.Name)
		s.Equal(StepSucceeded, step.State, step.Name)
	}
	s.Equal(UploadSteps, names)
}

// TestPrebuiltFolderSkipsDetectionAndBuild: the files are published as they are.
func (s *deploySuite) TestPrebuiltFolderSkipsDetectionAndBuild() {
	in := uploadInput
	in.Upload = &api.UploadSource{ID: "u0123456789abcdef01234567", Prebuilt: true}
	s.env.OnActivity(MaterializeActivity, mock.Anything, mock.Anything).Return(UploadResult{Key: "sources/0abcdefghjkm.tar.gz"}, nil).Once()
	s.env.OnActivity(PublishActivity, mock.Anything, mock.MatchedBy(func(in PublishInput) bool {
		return in.ArchiveKey == "sources/0abcdefghjkm.tar.gz" && in.SubDir == "" && in.Plan.Kind == detect.KindStatic
	})).Return(PublishResult{}, nil).Once()

	s.env.ExecuteWorkflow(Deploy, in)
	s.Require().NoError(s.env.GetWorkflowError())
	st := s.status()
	want := map[string]string{StepUpload: StepSucceeded, StepDetect: StepSkipped, StepBuild: StepSkipped, StepPublish: StepSucceeded}
	for _, step := range st.Steps {
		s.Equal(want[step.Name], step.State, step.Name)
	}
	s.Nil(st.Commit)
	s.Equal("Prebuilt", st.Plan.FrameworkName)
}

// TestExpiredUploadFailsWithReason: an upload that is gone fails the deployment at its first
// step with the activity's reason.
func (s *deploySuite) TestExpiredUploadFailsWithReason() {
	s.env.OnActivity(MaterializeActivity, mock.Anything, mock.Anything).
		Return(UploadResult{}, temporal.NewNonRetryableApplicationError("upload u… is no longer stored: deploy the folder again", "UploadGone", nil)).Once()
	s.env.ExecuteWorkflow(Deploy, uploadInput)
	s.Require().Error(s.env.GetWorkflowError())
	st := s.status()
	s.Equal(StateFailed, st.State)
	s.Equal(StepUpload, st.Step)
	s.Contains(st.Error, "deploy the folder again")
}

func TestStepsOf(t *testing.T) {
	if got := StepsOf(DeployInput{RepoURL: "https://github.com/o/r"}); len(got) != 5 || got[0] != StepClone {
		t.Errorf("a clone's steps: %v", got)
	}
	if got := StepsOf(uploadInput); len(got) != 4 || got[0] != StepUpload || got[1] != StepDetect {
		t.Errorf("an upload's steps: %v", got)
	}
}

func collectStub(context.Context, CollectUploadsInput) (CollectUploadsResult, error) {
	return CollectUploadsResult{}, nil
}

// TestCollectUploadsRetriesItsActivity: a storage failure is retried; the TTL reaches the
// activity.
func TestCollectUploadsRetriesItsActivity(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterActivityWithOptions(collectStub, activity.RegisterOptions{Name: CollectUploadsActivity})
	env.OnActivity(CollectUploadsActivity, mock.Anything, CollectUploadsInput{TTL: 24 * time.Hour}).
		Return(CollectUploadsResult{}, temporal.NewApplicationError("storage down", "StorageUnavailable")).Once()
	env.OnActivity(CollectUploadsActivity, mock.Anything, CollectUploadsInput{TTL: 24 * time.Hour}).
		Return(CollectUploadsResult{ManifestsDeleted: 2, ContentsDeleted: 5}, nil).Once()
	env.ExecuteWorkflow(CollectUploads, CollectUploadsInput{TTL: 24 * time.Hour})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res CollectUploadsResult
	if err := env.GetWorkflowResult(&res); err != nil || res.ManifestsDeleted != 2 || res.ContentsDeleted != 5 {
		t.Fatalf("result %+v, %v", res, err)
	}
	env.AssertExpectations(t)
}
