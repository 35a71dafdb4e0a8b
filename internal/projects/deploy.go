package projects

import "github.com/skydeploy/skydeploy/internal/ids"

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
