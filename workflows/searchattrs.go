package workflows

import "go.temporal.io/sdk/temporal"

// Search attributes operators and the API filter deployments by. They are registered on the dev
// server by `skydeploy dev` and the test harness, and must be registered on production servers
// (README.md says how).
var (
	// AttrProject is the project name ("" for one-off deployments).
	AttrProject = temporal.NewSearchAttributeKeyKeyword("SkyDeployProject")
	// AttrRepository is the normalised repository URL.
	AttrRepository = temporal.NewSearchAttributeKeyKeyword("SkyDeployRepository")
	// AttrBranch is the branch deployed.
	AttrBranch = temporal.NewSearchAttributeKeyKeyword("SkyDeployBranch")
	// AttrCommit is the commit SHA, known after the clone step.
	AttrCommit = temporal.NewSearchAttributeKeyKeyword("SkyDeployCommit")
	// AttrStatus is the deployment state: running, succeeded, failed, canceled.
	AttrStatus = temporal.NewSearchAttributeKeyKeyword("SkyDeployStatus")
	// AttrKind is the detected framework (or project kind), known after detection.
	AttrKind = temporal.NewSearchAttributeKeyKeyword("SkyDeployFramework")
	// AttrTrigger says what started the deployment: api, poll, webhook, redeploy, cli.
	AttrTrigger = temporal.NewSearchAttributeKeyKeyword("SkyDeployTrigger")
)

// SearchAttributeTypes maps every custom search attribute to its type, for registration.
func SearchAttributeTypes() map[string]string {
	out := map[string]string{}
	for _, k := range []temporal.SearchAttributeKeyKeyword{AttrProject, AttrRepository, AttrBranch, AttrCommit, AttrStatus, AttrKind, AttrTrigger} {
		out[k.GetName()] = "Keyword"
	}
	return out
}
