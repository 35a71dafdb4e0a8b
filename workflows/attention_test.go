package workflows

import (
	"context"
	"errors"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/skydeploy/skydeploy/internal/detect"
)

// storageDown makes the upload fail for a reason of the platform until up() is called.
func (s *deploySuite) storageDown() (calls *int, up func()) {
	n, down := 0, true
	s.env.OnActivity(CloneActivity, mock.Anything, mock.Anything).Return(CloneResult{Commit: testCommit}, nil)
	s.env.OnActivity(DetectActivity, mock.Anything, mock.Anything).Return(detect.Plan{Kind: detect.KindStatic}, nil)
	s.env.OnActivity(UploadActivity, mock.Anything, mock.Anything).Return(func(context.Context, CloneInput) (UploadResult, error) {
		n++
		if down {
			return UploadResult{}, temporal.NewApplicationError("upload source: connection refused", "StorageUnavailable")
		}
		return UploadResult{Key: "sources/x.tar.gz"}, nil
	})
	return &n, func() { down = false }
}

func (s *deploySuite) TestPlatformFailureWaitsForAnOperatorWhoRetries() {
	calls, up := s.storageDown()
	s.env.OnActivity(PublishActivity, mock.Anything, mock.Anything).Return(PublishResult{Files: 1}, nil).Once()
	var waiting DeploymentStatus
	// Well after the upload's retries (8 attempts, about 90 s of backoff) ran out.
	s.env.RegisterDelayedCallback(func() {
		waiting = s.status()
		up()
		s.env.SignalWorkflow(SignalRetry, nil)
	}, time.Hour)
	s.env.ExecuteWorkflow(Deploy, testInput)
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(StateNeedsAttention, waiting.State)
	s.Require().NotNil(waiting.Attention)
	s.Equal(StepUpload, waiting.Attention.Step)
	s.Contains(waiting.Attention.Reason, "connection refused")
	s.Equal(waiting.Attention.Since.Add(DefaultAttentionTimeout), waiting.Attention.Deadline)
	for _, st := range waiting.Steps {
		if st.Name == StepUpload {
			s.Equal(StepNeedsAttention, st.State)
		}
	}
	s.Equal(9, *calls, "8 attempts, then one more after the operator's retry")
	st := s.status()
	s.Equal(StateSucceeded, st.State)
	s.Equal(1, st.Attention.Retries)
}

func (s *deploySuite) TestOperatorAbandons() {
	s.storageDown()
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(SignalAbandon, "storage is gone for good") }, time.Hour)
	s.env.ExecuteWorkflow(Deploy, testInput)
	err := s.env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	s.Require().True(errors.As(err, &appErr), "%v", err)
	s.Equal(ErrAbandoned, appErr.Type())
	st := s.status()
	s.Equal(StateFailed, st.State)
	s.Contains(st.Error, "abandoned by an operator (storage is gone for good)")
	s.Contains(st.Error, "connection refused")
}

func (s *deploySuite) TestNobodyComesWithinTheAttentionTimeout() {
	s.storageDown()
	in := testInput
	in.AttentionTimeout = 2 * time.Hour
	s.env.ExecuteWorkflow(Deploy, in)
	st := s.status()
	s.Equal(StateFailed, st.State)
	s.Contains(st.Error, "nobody retried within 2h0m0s")
}

func (s *deploySuite) TestStaleSignalsDoNotDecide() {
	calls, up := s.storageDown()
	s.env.OnActivity(PublishActivity, mock.Anything, mock.Anything).Return(PublishResult{}, nil).Once()
	// A retry sent while the step was still being retried by Temporal is ignored…
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(SignalRetry, nil) }, 5*time.Second)
	// …the one sent while the deployment waits is not.
	s.env.RegisterDelayedCallback(func() { up(); s.env.SignalWorkflow(SignalRetry, nil) }, 3*time.Hour)
	s.env.ExecuteWorkflow(Deploy, testInput)
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(9, *calls)
}

func (s *deploySuite) TestProjectFailureDoesNotWait() {
	s.env.OnActivity(CloneActivity, mock.Anything, mock.Anything).Return(CloneResult{Commit: testCommit}, nil)
	s.env.OnActivity(DetectActivity, mock.Anything, mock.Anything).Return(detect.Plan{Kind: detect.KindNode, BuildCommand: "b"}, nil)
	s.env.OnActivity(UploadActivity, mock.Anything, mock.Anything).Return(UploadResult{Key: "k"}, nil)
	s.env.OnActivity(BuildActivity, mock.Anything, mock.Anything).
		Return(BuildResult{}, temporal.NewNonRetryableApplicationError("build command exited with code 1", ErrBuildFailed, nil)).Once()
	s.env.ExecuteWorkflow(Deploy, testInput)
	st := s.status()
	s.Equal(StateFailed, st.State)
	s.Nil(st.Attention)
}
