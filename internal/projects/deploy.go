package projects

import (
	"time"

	"github.com/skydeploy/skydeploy/internal/detect"
	"github.com/skydeploy/skydeploy/internal/ids"
	"github.com/skydeploy/skydeploy/workflows"
)

// DeployTarget says which commit of which branch to deploy and why.
type DeployTarget struct {
	Branch string
	// Commit is the full SHA; the deployment id derives from it so every trigger of the same
	// commit (poll, webhook, a click) names one deployment.
	Commit     string
	Production bool
	Trigger    string
}

// DeploymentID is the derived id of a project's commit. Production deployments derive from
// (project, sha); previews from (branch label, sha), so a preview of a commit never stands in
// for the production deployment of the same commit after a fast-forward merge.
func DeploymentID(project string, t DeployTarget) string {
	if t.Production {
		return ids.DeploymentFor(project, t.Commit)
	}
	return ids.DeploymentFor(BranchAlias(project, t.Branch), t.Commit)
}

// AliasLabels are the host labels a deployment moves when it publishes: the project itself for
// production, the branch label for previews.
func AliasLabels(project string, production bool, branch string) []string {
	if production {
		return []string{project}
	}
	if branch == "" {
		return nil
	}
	return []string{BranchAlias(project, branch)}
}

// DeployInput is the workflow input of a project deployment. siteURL makes a label's public URL.
func (p *Project) DeployInput(t DeployTarget, taskQueue string, siteURL func(string) string, now time.Time) workflows.DeployInput {
	id := DeploymentID(p.Name, t)
	if t.Branch == "" {
		t.Branch = p.Branch()
	}
	return workflows.DeployInput{
		DeploymentID: id, RepoURL: p.RepoURL, Branch: t.Branch, Commit: t.Commit, Project: p.Name,
		Production: t.Production, AliasLabels: AliasLabels(p.Name, t.Production, t.Branch),
		Overrides: detect.Overrides{
			RootDir: p.RootDir, InstallCommand: p.InstallCommand, BuildCommand: p.BuildCommand, OutputDir: p.OutputDir,
		},
		BuildTaskQueue: taskQueue, Trigger: t.Trigger, RequestedAt: now.UTC(), URL: siteURL(id),
	}
}
