package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/skydeploy/skydeploy/internal/detect"
)

type deploySuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env *testsuite.TestWorkflowEnvironment
}

func TestDeployWorkflow(t *testing.T) { suite.Run(t, new(deploySuite)) }

// Activity stand-ins with the real names and signatures; each test sets what they return.
func cloneStub(context.Context, CloneInput) (CloneResult, error)       { return CloneResult{}, nil }
func detectStub(context.Context, DetectInput) (detect.Plan, error)     { return detect.Plan{}, nil }
func uploadStub(context.Context, CloneInput) (UploadResult, error)     { return UploadResult{}, nil }
func buildStub(context.Context, BuildInput) (BuildResult, error)       { return BuildResult{}, nil }
func publishStub(context.Context, PublishInput) (PublishResult, error) { return PublishResult{}, nil }
func statusStub(context.Context, StatusUpdate) error                   { return nil }

func (s *deploySuite) SetupTest() {
	s.env = s.NewTestWorkflowEnvironment()
	s.env.RegisterActivityWithOptions(cloneStub, activity.RegisterOptions{Name: CloneActivity})
	s.env.RegisterActivityWithOptions(detectStub, activity.RegisterOptions{Name: DetectActivity})
	s.env.RegisterActivityWithOptions(uploadStub, activity.RegisterOptions{Name: UploadActivity})
	s.env.RegisterActivityWithOptions(buildStub, activity.RegisterOptions{Name: BuildActivity})
	s.env.RegisterActivityWithOptions(publishStub, activity.RegisterOptions{Name: PublishActivity})
	s.env.RegisterActivityWithOptions(statusStub, activity.RegisterOptions{Name: StatusActivity})
	s.env.RegisterActivityWithOptions(materializeStub, activity.RegisterOptions{Name: MaterializeActivity}) // upload_test.go
	s.env.OnActivity(StatusActivity, mock.Anything, mock.Anything).Return(nil).Maybe()
}

func (s *deploySuite) AfterTest(_, _ string) { s.env.AssertExpectations(s.T()) }

var testInput = DeployInput{
	DeploymentID: "0abcdefghjkm", RepoURL: "https://github.com/o/r", Branch: "main", Project: "blog",
	AliasLabels: []string{"blog"}, BuildTaskQueue: "build-q", URL: "http://0abcdefghjkm.localhost:3002/",
}

var testCommit = Commit{SHA: "1111111111111111111111111111111111111111", Message: "m", Author: "a"}

func (s *deploySuite) status() DeploymentStatus {
	v, err := s.env.QueryWorkflow(StatusQuery)
	s.Require().NoError(err)
	var st DeploymentStatus
	s.Require().NoError(v.Get(&st))
	return st
}

func (s *deploySuite) TestStaticSiteSkipsBuildAndPublishesSourceSubdir() {
	s.env.OnActivity(CloneActivity, mock.Anything, mock.Anything).Return(CloneResult{Commit: testCommit, Files: 3}, nil).Once()
	s.env.OnActivity(DetectActivity, mock.Anything, mock.MatchedBy(func(in DetectInput) bool {
		return in.Commit == testCommit.SHA // later steps are pinned to the cloned commit
	})).Return(detect.Plan{Kind: detect.KindStatic, OutputDir: "public"}, nil).Once()
	s.env.OnActivity(UploadActivity, mock.Anything, mock.Anything).Return(UploadResult{Key: "sources/x.tar.gz"}, nil).Once()
	s.env.OnActivity(PublishActivity, mock.Anything, mock.MatchedBy(func(in PublishInput) bool {
		return in.ArchiveKey == "sources/x.tar.gz" && in.SubDir == "public" && len(in.AliasLabels) == 1
	})).Return(PublishResult{Files: 3, Bytes: 100}, nil).Once()

	s.env.ExecuteWorkflow(Deploy, testInput)
	s.True(s.env.IsWorkflowCompleted())
	s.NoError(s.env.GetWorkflowError())
	st := s.status()
	s.Equal(StateSucceeded, st.State)
	s.Equal(testCommit.SHA, st.Commit.SHA)
	want := map[string]string{StepClone: StepSucceeded, StepDetect: StepSucceeded, StepUpload: StepSucceeded, StepBuild: StepSkipped, StepPublish: StepSucceeded}
	for _, step := range st.Steps {
		s.Equal(want[step.Name], step.State, step.Name)
	}
}

func (s *deploySuite) TestNodeProjectBuildsOnBuildQueue() {
	s.env.OnActivity(CloneActivity, mock.Anything, mock.Anything).Return(CloneResult{Commit: testCommit}, nil)
	s.env.OnActivity(DetectActivity, mock.Anything, mock.Anything).Return(detect.Plan{Kind: detect.KindNode, Framework: "vite", BuildCommand: "npm run build", OutputDir: "dist"}, nil)
	s.env.OnActivity(UploadActivity, mock.Anything, mock.Anything).Return(UploadResult{Key: "sources/x.tar.gz"}, nil)
	s.env.OnActivity(BuildActivity, mock.Anything, mock.MatchedBy(func(in BuildInput) bool {
		return in.SourceKey == "sources/x.tar.gz" && in.Plan.Framework == "vite"
	})).Return(BuildResult{ArtifactKey: "artifacts/x.tar.gz"}, nil).Once()
	s.env.OnActivity(PublishActivity, mock.Anything, mock.MatchedBy(func(in PublishInput) bool {
		return in.ArchiveKey == "artifacts/x.tar.gz" && in.SubDir == ""
	})).Return(PublishResult{}, nil).Once()
	s.env.ExecuteWorkflow(Deploy, testInput)
	s.NoError(s.env.GetWorkflowError())
}

func (s *deploySuite) TestPermanentFailureFailsAtOnceWithReason() {
	s.env.OnActivity(CloneActivity, mock.Anything, mock.Anything).
		Return(CloneResult{}, temporal.NewNonRetryableApplicationError("repository https://github.com/o/r was not found", "RepositoryNotFound", nil)).Once()
	s.env.ExecuteWorkflow(Deploy, testInput)
	err := s.env.GetWorkflowError()
	s.Require().Error(err)
	var appErr *temporal.ApplicationError
	s.Require().True(errors.As(err, &appErr))
	s.Equal("RepositoryNotFound", appErr.Type())
	s.Contains(appErr.Message(), "was not found")
	st := s.status()
	s.Equal(StateFailed, st.State)
	s.Equal(StepClone, st.Step)
	s.Contains(st.Error, "was not found")
	// Nothing after the failed step ran (detect/publish mocks were never set; calling them would fail).
}

func (s *deploySuite) TestTransientFailureIsRetried() {
	calls := 0
	s.env.OnActivity(CloneActivity, mock.Anything, mock.Anything).Return(func(context.Context, CloneInput) (CloneResult, error) {
		calls++
		if calls < 3 {
			return CloneResult{}, temporal.NewApplicationError("fetch: connection reset", "GitTransient")
		}
		return CloneResult{Commit: testCommit}, nil
	})
	s.env.OnActivity(DetectActivity, mock.Anything, mock.Anything).Return(detect.Plan{Kind: detect.KindStatic}, nil)
	s.env.OnActivity(UploadActivity, mock.Anything, mock.Anything).Return(UploadResult{Key: "k"}, nil)
	s.env.OnActivity(PublishActivity, mock.Anything, mock.Anything).Return(PublishResult{}, nil)
	s.env.ExecuteWorkflow(Deploy, testInput)
	s.NoError(s.env.GetWorkflowError())
	s.Equal(3, calls, "clone should be retried until it succeeds")
}

func (s *deploySuite) TestUnsupportedProjectIsNotRetried() {
	s.env.OnActivity(CloneActivity, mock.Anything, mock.Anything).Return(CloneResult{Commit: testCommit}, nil)
	s.env.OnActivity(DetectActivity, mock.Anything, mock.Anything).
		Return(detect.Plan{}, temporal.NewNonRetryableApplicationError("unsupported project: no index.html", ErrUnsupportedProject, nil)).Once()
	s.env.ExecuteWorkflow(Deploy, testInput)
	s.Require().Error(s.env.GetWorkflowError())
	st := s.status()
	s.Equal(StateFailed, st.State)
	s.Equal(StepDetect, st.Step)
}

func (s *deploySuite) TestCancelDuringBuild() {
	s.env.OnActivity(CloneActivity, mock.Anything, mock.Anything).Return(CloneResult{Commit: testCommit}, nil)
	s.env.OnActivity(DetectActivity, mock.Anything, mock.Anything).Return(detect.Plan{Kind: detect.KindNode, BuildCommand: "b"}, nil)
	s.env.OnActivity(UploadActivity, mock.Anything, mock.Anything).Return(UploadResult{Key: "k"}, nil)
	s.env.OnActivity(BuildActivity, mock.Anything, mock.Anything).Return(func(ctx context.Context, _ BuildInput) (BuildResult, error) {
		for {
			activity.RecordHeartbeat(ctx) // cancellation reaches an activity through heartbeats
			select {
			case <-ctx.Done():
				return BuildResult{}, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
	s.env.SetTestTimeout(20 * time.Second)
	s.env.RegisterDelayedCallback(func() { s.env.CancelWorkflow() }, time.Second)
	s.env.ExecuteWorkflow(Deploy, testInput)
	s.Require().Error(s.env.GetWorkflowError())
	st := s.status()
	s.Equal(StateCanceled, st.State)
}
