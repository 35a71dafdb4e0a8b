package detect

import "regexp"

// astroProvider plans Astro sites built to static files (the default output).
type astroProvider struct{}

func (astroProvider) Name() string { return "astro" }

func (astroProvider) Detect(p *project) bool {
	return p.pkg != nil && (p.hasDep("astro") || p.configFile("astro.config") != "")
}

var astroServerOutput = regexp.MustCompile(`output\s*:\s*["'` + "`" + `]server["'` + "`" + `]`)

func (astroProvider) Plan(p *project) (Plan, error) {
	pl := p.nodePlan("astro", "Astro")
	pl.BuildCommand = p.buildCommand("astro build")
	pl.OutputDir = "dist"
	cfg := p.configFile("astro.config")
	if cfg == "" {
		return pl, nil
	}
	text, err := p.readText(cfg)
	if err != nil {
		return Plan{}, err
	}
	text = stripJSComments(text)
	if astroServerOutput.MatchString(text) && p.o.OutputDir == "" {
		return Plan{}, &UnsupportedError{
			Framework: "astro",
			Reason:    "output: 'server' in " + cfg + " renders pages on a server; SkyDeploy serves only static files: use output: 'static' (the default)",
			LookedFor: []string{"output: 'static' (or no output) in astro.config.*"},
		}
	}
	if d, ok := relDir(configString(text, "outDir")); ok && d != "" {
		pl.OutputDir = d
	}
	return pl, nil
}
