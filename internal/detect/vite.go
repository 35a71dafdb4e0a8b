package detect

import "strings"

// viteProvider plans Vite apps: client-side single-page apps built to dist/.
type viteProvider struct{}

func (viteProvider) Name() string { return "vite" }

func (viteProvider) Detect(p *project) bool {
	return p.pkg != nil && (p.hasDep("vite") || p.configFile("vite.config") != "")
}

// viteFlavours name the UI library of a Vite app for the dashboard, first match wins.
var viteFlavours = []struct {
	name string
	deps []string
}{
	{"React", []string{"@vitejs/plugin-react", "@vitejs/plugin-react-swc", "react"}},
	{"Vue", []string{"@vitejs/plugin-vue", "vue"}},
	{"Svelte", []string{"@sveltejs/vite-plugin-svelte", "svelte"}},
	{"Preact", []string{"@preact/preset-vite", "preact"}},
	{"Solid", []string{"vite-plugin-solid", "solid-js"}},
	{"Lit", []string{"lit"}},
}

func (viteProvider) Plan(p *project) (Plan, error) {
	name := "Vite"
	for _, f := range viteFlavours {
		if p.hasDep(f.deps...) {
			name = "Vite (" + f.name + ")"
			break
		}
	}
	pl := p.nodePlan("vite", name)
	pl.BuildCommand = p.buildCommand("vite build")
	pl.OutputDir = "dist"
	pl.SPA = true
	if cfg := p.configFile("vite.config"); cfg != "" {
		text, err := p.readText(cfg)
		if err != nil {
			return Plan{}, err
		}
		if d, ok := relDir(configString(text, "outDir")); ok && d != "" {
			pl.OutputDir = d
		}
	}
	if strings.Contains(p.script("build"), "--ssr") || p.hasDep("vike", "vite-plugin-ssr") {
		pl.SPA = false
		pl.Notes = append(pl.Notes, "the build renders on a server (SSR); only its static files are served")
	}
	return pl, nil
}
