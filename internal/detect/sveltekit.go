package detect

import (
	"regexp"
	"strings"
)

// sveltekitProvider plans SvelteKit apps that use @sveltejs/adapter-static; other adapters
// produce a server, which SkyDeploy does not run.
type sveltekitProvider struct{}

func (sveltekitProvider) Name() string { return "sveltekit" }

func (sveltekitProvider) Detect(p *project) bool {
	return p.pkg != nil && p.hasDep("@sveltejs/kit")
}

var svelteAdapter = regexp.MustCompile(`@sveltejs/adapter-([a-z0-9-]+)`)

func (sveltekitProvider) Plan(p *project) (Plan, error) {
	pl := p.nodePlan("sveltekit", "SvelteKit")
	pl.BuildCommand = p.buildCommand("vite build")
	pl.OutputDir = "build"
	cfg := p.configFile("svelte.config")
	text := ""
	if cfg != "" {
		var err error
		if text, err = p.readText(cfg); err != nil {
			return Plan{}, err
		}
		text = stripJSComments(text)
	}
	adapter := ""
	if m := svelteAdapter.FindStringSubmatch(text); m != nil {
		adapter = m[1]
	}
	switch {
	case adapter == "static":
	case cfg == "" && p.hasDep("@sveltejs/adapter-static"):
		pl.Notes = append(pl.Notes, "no svelte.config.js; assuming @sveltejs/adapter-static from package.json")
	case p.o.OutputDir != "":
		pl.Notes = append(pl.Notes, "svelte.config does not use @sveltejs/adapter-static; trusting the output directory from the project settings")
		return pl, nil
	default:
		found := "no adapter"
		if adapter != "" {
			found = "@sveltejs/adapter-" + adapter
		}
		return Plan{}, &UnsupportedError{
			Framework: "sveltekit",
			Reason: "this SvelteKit app uses " + found + ", which needs a server; SkyDeploy serves only static files: " +
				"install @sveltejs/adapter-static and use it in svelte.config.js (see https://svelte.dev/docs/kit/adapter-static)",
			LookedFor: []string{"@sveltejs/adapter-static in svelte.config.*"},
		}
	}
	if d, ok := relDir(configString(text, "pages")); ok && d != "" {
		pl.OutputDir = d
	}
	switch fb := strings.TrimPrefix(configString(text, "fallback"), "/"); fb {
	case "":
	case "404.html":
		pl.Notes = append(pl.Notes, "fallback 404.html is served as the not-found page")
	case "index.html":
		pl.SPA = true
	default:
		pl.SPA = true
		pl.SPAFallback = fb
	}
	return pl, nil
}
