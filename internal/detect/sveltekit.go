package detect

import (
	"regexp"
	"strings"
)

// sveltekitProvider plans SvelteKit apps that use @sveltejs/adapter-static; other adapters
// produce a server, which SkyDeploy does not run. The adapter and its options are read from
// svelte.config.*, or, when there is none, from vite.config.*: since sv 0.17 (SvelteKit 2.5x),
// `sv create` writes no svelte.config.js and passes the options to the sveltekit() plugin.
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
	cfg, text, err := svelteKitConfig(p)
	if err != nil {
		return Plan{}, err
	}
	adapter := ""
	if m := svelteAdapter.FindStringSubmatch(text); m != nil {
		adapter = m[1]
	}
	switch {
	case adapter == "static":
	case cfg == "" && p.hasDep("@sveltejs/adapter-static"):
		pl.Notes = append(pl.Notes, "no adapter in svelte.config.* or vite.config.*; assuming @sveltejs/adapter-static from package.json")
	case p.o.OutputDir != "":
		pl.Notes = append(pl.Notes, "the SvelteKit config does not use @sveltejs/adapter-static; trusting the output directory from the project settings")
		return pl, nil
	default:
		found, where := "no adapter", "svelte.config.js"
		if adapter != "" {
			found, where = "@sveltejs/adapter-"+adapter+" (in "+cfg+")", cfg
		}
		return Plan{}, &UnsupportedError{
			Framework: "sveltekit",
			Reason: "this SvelteKit app uses " + found + ", which needs a server; SkyDeploy serves only static files: " +
				"install @sveltejs/adapter-static and use it in " + where + " (see https://svelte.dev/docs/kit/adapter-static)",
			LookedFor: []string{"@sveltejs/adapter-static in svelte.config.* or in the sveltekit() plugin of vite.config.*"},
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

// svelteKitConfig returns the file that configures the adapter and its text without comments:
// svelte.config.*, else vite.config.* when it names an adapter, else "" and "".
func svelteKitConfig(p *project) (string, string, error) {
	for _, cfg := range []string{p.configFile("svelte.config"), p.configFile("vite.config")} {
		if cfg == "" {
			continue
		}
		text, err := p.readText(cfg)
		if err != nil {
			return "", "", err
		}
		text = stripJSComments(text)
		if strings.HasPrefix(cfg, "svelte.config") || svelteAdapter.MatchString(text) {
			return cfg, text, nil
		}
	}
	return "", "", nil
}
