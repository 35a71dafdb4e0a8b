package detect

import "strings"

// vuecliProvider plans Vue CLI apps (webpack), single-page apps built to dist/.
type vuecliProvider struct{}

func (vuecliProvider) Name() string { return "vue-cli" }

// Detect wants @vue/cli-service and a build script that uses it (or none): a project that moved
// to Vite but kept the old dependency is Vite's.
func (vuecliProvider) Detect(p *project) bool {
	build := p.script("build")
	return p.hasDep("@vue/cli-service") && (build == "" || strings.Contains(build, "vue-cli-service"))
}

func (vuecliProvider) Plan(p *project) (Plan, error) {
	pl := p.nodePlan("vue-cli", "Vue CLI")
	pl.BuildCommand = p.buildCommand("vue-cli-service build")
	pl.OutputDir = "dist"
	pl.SPA = true
	if cfg := p.firstExisting("vue.config.js", "vue.config.cjs", "vue.config.mjs", "vue.config.ts"); cfg != "" {
		text, err := p.readText(cfg)
		if err != nil {
			return Plan{}, err
		}
		if d, ok := relDir(configString(text, "outputDir")); ok && d != "" {
			pl.OutputDir = d
		}
	}
	return pl, nil
}
