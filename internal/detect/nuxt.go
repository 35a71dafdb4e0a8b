package detect

import (
	"regexp"
	"strings"
)

// nuxtProvider plans Nuxt sites pre-rendered with `nuxt generate`.
type nuxtProvider struct{}

func (nuxtProvider) Name() string { return "nuxt" }

func (nuxtProvider) Detect(p *project) bool {
	return p.pkg != nil && (p.hasDep("nuxt", "nuxt3", "nuxt-edge") || p.configFile("nuxt.config") != "")
}

var nuxtSSRFalse = regexp.MustCompile(`ssr\s*:\s*false`)

func (nuxtProvider) Plan(p *project) (Plan, error) {
	pl := p.nodePlan("nuxt", "Nuxt")
	switch {
	case strings.Contains(p.script("generate"), "generate"):
		pl.BuildCommand = runCommand(p.pm.name, "generate")
	case strings.Contains(p.script("build"), "nuxt generate"):
		pl.BuildCommand = runCommand(p.pm.name, "build")
	default:
		// `nuxt build` makes a server; only `nuxt generate` makes files to serve.
		pl.BuildCommand = p.exec("nuxt generate")
		if p.script("build") != "" {
			pl.Notes = append(pl.Notes, "running `nuxt generate` rather than the build script: SkyDeploy serves pre-rendered files only")
		}
	}
	pl.OutputDir = ".output/public"
	if p.depMajor("nuxt") == 2 {
		pl.OutputDir = "dist"
	}
	if cfg := p.configFile("nuxt.config"); cfg != "" {
		text, err := p.readText(cfg)
		if err != nil {
			return Plan{}, err
		}
		if nuxtSSRFalse.MatchString(stripJSComments(text)) {
			pl.SPA = true // ssr: false generates a client-side app shell
			pl.Notes = append(pl.Notes, "ssr: false in "+cfg+": served as a single-page app")
		}
	}
	return pl, nil
}
