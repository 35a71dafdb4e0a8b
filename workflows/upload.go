package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/skydeploy/skydeploy/internal/detect"
)

// Deployments of uploaded folders (`skydeploy deploy DIR`). The gateway has checked the
// upload's manifest and that every content is stored; the workflow then runs
//
//	upload   MaterializeUpload writes the upload's files into the deployment's source snapshot
//	         (sources/<id>.tar.gz, the archive UploadSource makes of a clone), checking every
//	         path again with the snapshot's rules
//	detect   as for a clone, on that snapshot (skipped with --prebuilt: PrebuiltPlan)
//	build    as for a clone, in the same sandbox
//	publish  as for a clone
//
// This is a path of its own, chosen by the input (DeployInput.Upload), rather than a change of
// the clone path guarded by workflow.GetVersion: every history recorded before it is a clone's
// and never reaches this code, and deployments of clones issue exactly the commands they did,
// with no version marker added to each of them. Steps after the source (build, publish) are the
// clone path's own code (buildAndPublish).

// MaterializeActivity turns an upload's file list into the deployment's source snapshot.
const MaterializeActivity = "MaterializeUpload"

// TriggerUpload is the trigger of deployments of uploaded folders.
const TriggerUpload = "upload"

// UploadSteps are the steps of a deployment of an uploaded folder, in the order they run.
var UploadSteps = []string{StepUpload, StepDetect, StepBuild, StepPublish}

// StepsOf lists the steps a deployment of in runs, in order.
func StepsOf(in DeployInput) []string {
	if in.Upload != nil {
		return UploadSteps
	}
	return AllSteps
}

// MaterializeInput asks for the source snapshot of a deployment made from an upload.
type MaterializeInput struct {
	DeploymentID string `json:"deploymentId"`
	UploadID     string `json:"uploadId"`
}

// PrebuiltPlan is the plan of a folder uploaded with --prebuilt: its files, as they are, are the
// site.
func PrebuiltPlan() detect.Plan {
	return detect.Plan{Kind: detect.KindStatic, FrameworkName: "Prebuilt", Notes: []string{"uploaded with --prebuilt: the files are published as they are, without detection or build"}}
}

// runUpload is run for an uploaded folder: the source snapshot from the upload, then detection
// (unless prebuilt), build and publish as for a clone.
func (d *deployment) runUpload(ctx, light workflow.Context) (DeploymentStatus, error) {
	in := d.in
	var src UploadResult
	if err := d.step(ctx, StepUpload, func() error {
		return workflow.ExecuteActivity(light, MaterializeActivity, MaterializeInput{DeploymentID: in.DeploymentID, UploadID: in.Upload.ID}).Get(ctx, &src)
	}); err != nil {
		return d.fail(ctx, err)
	}
	var commit Commit
	if g := in.Upload.Git; g != nil && g.Commit != "" {
		commit = Commit{SHA: g.Commit, Message: g.Message, Author: g.Author, Email: g.Email}
		d.status.Commit = &commit
		d.upsert(ctx, AttrCommit.ValueSet(commit.SHA))
	}
	d.saveMemo(ctx)

	var plan detect.Plan
	if in.Upload.Prebuilt {
		plan = PrebuiltPlan()
		d.setStep(ctx, StepDetect, StepSkipped)
	} else {
		detectIn := DetectInput{CloneInput: CloneInput{DeploymentID: in.DeploymentID, SourceKey: src.Key}, Overrides: in.Overrides}
		if err := d.step(ctx, StepDetect, func() error {
			return workflow.ExecuteActivity(light, DetectActivity, detectIn).Get(ctx, &plan)
		}); err != nil {
			return d.fail(ctx, err)
		}
	}
	d.planned(ctx, plan)
	return d.buildAndPublish(ctx, light, plan, src, commit)
}

// planned records the build plan: in the status, the kind search attribute and the memo.
func (d *deployment) planned(ctx workflow.Context, plan detect.Plan) {
	d.status.Plan = &plan
	kind := plan.Framework
	if kind == "" {
		kind = string(plan.Kind)
	}
	d.upsert(ctx, AttrKind.ValueSet(kind))
	d.saveMemo(ctx)
}
