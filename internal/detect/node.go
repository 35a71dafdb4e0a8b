package detect

// nodeProvider plans any package.json with a build script that no framework claimed. Detection
// runs before the build, so the output directory is a guess: the builder tries
// OutputCandidates in order.
type nodeProvider struct{}

func (nodeProvider) Name() string { return "node" }

func (nodeProvider) Detect(p *project) bool { return p.script("build") != "" }

// nodeOutputCandidates are the usual output directories, most common first.
var nodeOutputCandidates = []string{"dist", "build", "out", "public"}

func (nodeProvider) Plan(p *project) (Plan, error) {
	pl := p.nodePlan("node", "Node.js")
	pl.BuildCommand = runCommand(p.pm.name, "build")
	pl.OutputDir = nodeOutputCandidates[0]
	pl.OutputCandidates = append([]string(nil), nodeOutputCandidates...)
	pl.Notes = append(pl.Notes, "no known framework: publishing the first of dist, build, out, public that the build makes (set the output directory to choose)")
	return pl, nil
}
