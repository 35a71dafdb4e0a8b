package detect

import (
	"regexp"
	"strings"
)

// nextjsProvider plans Next.js apps built as a static export (`output: 'export'`). A Next.js
// app without it needs a Node server, which SkyDeploy does not run.
type nextjsProvider struct{}

func (nextjsProvider) Name() string { return "nextjs" }

func (nextjsProvider) Detect(p *project) bool {
	return p.pkg != nil && (p.hasDep("next") || p.configFile("next.config") != "")
}

var nextOutputExport = regexp.MustCompile(`output\s*:\s*["'` + "`" + `]export["'` + "`" + `]`)

func (nextjsProvider) Plan(p *project) (Plan, error) {
	pl := p.nodePlan("nextjs", "Next.js")
	cfg := p.configFile("next.config")
	text := ""
	if cfg != "" {
		var err error
		if text, err = p.readText(cfg); err != nil {
			return Plan{}, err
		}
		text = stripJSComments(text)
	}
	build, export := p.script("build"), p.script("export")
	switch {
	case nextOutputExport.MatchString(text):
		pl.BuildCommand = p.buildCommand("next build")
		pl.OutputDir = "out"
		if d, ok := relDir(configString(text, "distDir")); ok && d != "" {
			pl.OutputDir = d // with output: 'export', distDir is where the export goes
		}
	case strings.Contains(build, "next export"):
		pl.BuildCommand = runCommand(p.pm.name, "build")
		pl.OutputDir = "out"
		pl.Notes = append(pl.Notes, "`next export` is deprecated since Next.js 13.3; use output: 'export' in next.config")
	case strings.Contains(export, "next export"):
		pl.BuildCommand = runCommand(p.pm.name, "build") + " && " + runCommand(p.pm.name, "export")
		pl.OutputDir = "out"
		pl.Notes = append(pl.Notes, "`next export` is deprecated since Next.js 13.3; use output: 'export' in next.config")
	case p.o.OutputDir != "":
		pl.BuildCommand = p.buildCommand("next build")
		pl.Notes = append(pl.Notes, "no output: 'export' found in next.config; trusting the output directory from the project settings")
	default:
		where := "next.config.js"
		if cfg != "" {
			where = cfg
		}
		return Plan{}, &UnsupportedError{
			Framework: "nextjs",
			Reason: "this Next.js app needs a Node server; SkyDeploy serves only static exports: add output: 'export' to " + where +
				" (see https://nextjs.org/docs/app/building-your-application/deploying/static-exports), or set the output directory if the config computes it",
			LookedFor: []string{"output: 'export' in next.config.*", "`next export` in a package.json script"},
		}
	}
	return pl, nil
}
