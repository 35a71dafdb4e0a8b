package detect

import (
	"regexp"
	"strings"
)

// craProvider plans Create React App projects, single-page apps built to build/.
type craProvider struct{}

func (craProvider) Name() string { return "cra" }

// Detect wants react-scripts and a build script that uses it (or none): a project that moved to
// Vite but kept the old dependency is Vite's.
func (craProvider) Detect(p *project) bool {
	build := p.script("build")
	return p.hasDep("react-scripts") && (build == "" || strings.Contains(build, "react-scripts"))
}

var craBuildPath = regexp.MustCompile(`BUILD_PATH=["']?([^\s"']+)`)

func (craProvider) Plan(p *project) (Plan, error) {
	pl := p.nodePlan("cra", "Create React App")
	pl.BuildCommand = p.buildCommand("react-scripts build")
	pl.OutputDir = "build"
	if m := craBuildPath.FindStringSubmatch(p.script("build")); m != nil {
		if d, ok := relDir(m[1]); ok && d != "" {
			pl.OutputDir = d
		}
	}
	pl.SPA = true
	return pl, nil
}
