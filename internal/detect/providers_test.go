package detect

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return fsys
}

// TestProviderDetails covers the config-dependent branches the fixtures do not.
func TestProviderDetails(t *testing.T) {
	cases := []struct {
		name      string
		files     map[string]string
		framework string
		build     string
		install   string
		output    string
		spa       bool
		fallback  string
		note      string
	}{
		{
			name:      "hugo legacy config with node tooling",
			files:     map[string]string{"config.toml": "publishDir = \"site\"\n", "themes/x/theme.toml": "", "package.json": `{"devDependencies": {"postcss": "^8"}}`, "package-lock.json": "{}", ".gitmodules": ""},
			framework: "hugo", build: "hugo --minify", install: "npm ci", output: "site", note: "submodule",
		},
		{
			name:      "config.toml alone is not hugo",
			files:     map[string]string{"config.toml": "title = 'x'\n", "index.html": "<h1>hi</h1>"},
			framework: "", output: "",
		},
		{
			name:      "hugo yaml in config/_default",
			files:     map[string]string{"config/_default/hugo.yaml": "publishDir: out\n", "content/_index.md": ""},
			framework: "hugo", build: "hugo --minify", output: "out",
		},
		{
			name:      "jekyll without Gemfile",
			files:     map[string]string{"_config.yml": "title: x\ndestination: build\n", "_posts/2024-01-01-a.md": ""},
			framework: "jekyll", build: "jekyll build", output: "build", note: "no Gemfile",
		},
		{
			name:      "nuxt 2 without generate script",
			files:     map[string]string{"package.json": `{"scripts": {"build": "nuxt build"}, "dependencies": {"nuxt": "^2.17.3"}}`},
			framework: "nuxt", build: "npx --no nuxt generate", install: "npm install", output: "dist", note: "rather than the build script",
		},
		{
			name:      "nuxt spa",
			files:     map[string]string{"package.json": `{"scripts": {"build": "nuxt generate"}, "dependencies": {"nuxt": "^3.13.0"}}`, "nuxt.config.ts": "export default defineNuxtConfig({ ssr: false })\n"},
			framework: "nuxt", build: "npm run build", install: "npm install", output: ".output/public", spa: true,
		},
		{
			name:      "eleventy output from config and flag",
			files:     map[string]string{"package.json": `{"devDependencies": {"@11ty/eleventy": "^3"}}`, "eleventy.config.mjs": "export const config = { dir: { input: 'src', output: 'dist' } };\n"},
			framework: "eleventy", build: "npx --no eleventy", install: "npm install", output: "dist",
		},
		{
			name:      "eleventy output flag",
			files:     map[string]string{"package.json": `{"scripts": {"build": "eleventy --output=www"}, "devDependencies": {"@11ty/eleventy": "^2"}}`},
			framework: "eleventy", build: "npm run build", install: "npm install", output: "www",
		},
		{
			name:      "sveltekit spa fallback",
			files:     map[string]string{"package.json": `{"devDependencies": {"@sveltejs/kit": "^2", "@sveltejs/adapter-static": "^3"}}`, "svelte.config.js": "import adapter from '@sveltejs/adapter-static';\nexport default { kit: { adapter: adapter({ pages: 'dist', fallback: '200.html' }) } };\n"},
			framework: "sveltekit", build: "npx --no vite build", install: "npm install", output: "dist", spa: true, fallback: "200.html",
		},
		{
			name:      "sveltekit index fallback",
			files:     map[string]string{"package.json": `{"devDependencies": {"@sveltejs/kit": "^2", "@sveltejs/adapter-static": "^3"}}`, "svelte.config.js": "import adapter from '@sveltejs/adapter-static';\nexport default { kit: { adapter: adapter({ fallback: 'index.html' }) } };\n"},
			framework: "sveltekit", build: "npx --no vite build", install: "npm install", output: "build", spa: true,
		},
		{
			name:      "next legacy export script",
			files:     map[string]string{"package.json": `{"scripts": {"build": "next build", "export": "next export"}, "dependencies": {"next": "13.0.0"}}`},
			framework: "nextjs", build: "npm run build && npm run export", install: "npm install", output: "out", note: "deprecated",
		},
		{
			name:      "next export with distDir",
			files:     map[string]string{"package.json": `{"dependencies": {"next": "14.2.0"}}`, "next.config.ts": "const config = { output: \"export\", distDir: \"static-out\" };\nexport default config;\n"},
			framework: "nextjs", build: "npx --no next build", install: "npm install", output: "static-out",
		},
		{
			name:      "angular object outputPath",
			files:     map[string]string{"package.json": `{"name": "shop", "dependencies": {"@angular/core": "^18"}}`, "angular.json": `{"projects": {"lib": {"projectType": "library"}, "shop": {"projectType": "application", "architect": {"build": {"builder": "@angular/build:application", "options": {"outputPath": {"base": "dist/shop", "browser": ""}}}}}}}`},
			framework: "angular", build: "npx --no ng build", install: "npm install", output: "dist/shop", spa: true, note: "several projects",
		},
		{
			name:      "angular browser builder",
			files:     map[string]string{"package.json": `{"name": "old", "dependencies": {"@angular/core": "^15"}}`, "angular.json": `{"defaultProject": "old", "projects": {"old": {"architect": {"build": {"builder": "@angular-devkit/build-angular:browser", "options": {"outputPath": "dist/old"}}}}}}`},
			framework: "angular", build: "npx --no ng build", install: "npm install", output: "dist/old", spa: true,
		},
		{
			name:      "angular without outputPath",
			files:     map[string]string{"package.json": `{"name": "new"}`, "angular.json": `{"projects": {"new": {"projectType": "application", "architect": {"build": {"builder": "@angular/build:application", "options": {"ssr": {"entry": "server.ts"}}}}}}}`},
			framework: "angular", build: "npx --no ng build", install: "npm install", output: "dist/new/browser", spa: true, note: "SSR",
		},
		{
			name:      "cra BUILD_PATH",
			files:     map[string]string{"package.json": `{"scripts": {"build": "BUILD_PATH=./www react-scripts build"}, "dependencies": {"react-scripts": "5.0.1"}}`},
			framework: "cra", build: "npm run build", install: "npm install", output: "www", spa: true,
		},
		{
			name:      "cra migrated to vite",
			files:     map[string]string{"package.json": `{"scripts": {"build": "vite build"}, "dependencies": {"react": "^18", "react-scripts": "5.0.1"}, "devDependencies": {"vite": "^5"}}`},
			framework: "vite", build: "npm run build", install: "npm install", output: "dist", spa: true,
		},
		{
			name:      "vite ssr",
			files:     map[string]string{"package.json": `{"scripts": {"build": "vite build && vite build --ssr src/entry-server.js"}, "devDependencies": {"vite": "^5"}}`},
			framework: "vite", build: "npm run build", install: "npm install", output: "dist", note: "SSR",
		},
		{
			name:      "vue cli outputDir",
			files:     map[string]string{"package.json": `{"devDependencies": {"@vue/cli-service": "~5.0.0"}}`, "vue.config.js": "module.exports = { outputDir: 'public_html' }\n"},
			framework: "vue-cli", build: "npx --no vue-cli-service build", install: "npm install", output: "public_html", spa: true,
		},
		{
			name:      "astro outDir",
			files:     map[string]string{"package.json": `{"dependencies": {"astro": "^4"}}`, "astro.config.mjs": "export default defineConfig({ outDir: './build' });\n"},
			framework: "astro", build: "npx --no astro build", install: "npm install", output: "build",
		},
		{
			name:      "config outDir escaping the project is ignored",
			files:     map[string]string{"package.json": `{"devDependencies": {"vite": "^5"}}`, "vite.config.js": "export default { build: { outDir: '../../etc' } }\n"},
			framework: "vite", build: "npx --no vite build", install: "npm install", output: "dist", spa: true,
		},
		{
			name:      "static html in site folder without index",
			files:     map[string]string{"site/home.html": "<h1>hi</h1>"},
			framework: "", output: "site", note: "no index.html in site",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Detect(mapFS(c.files), Overrides{})
			if err != nil {
				t.Fatal(err)
			}
			if p.Framework != c.framework || p.BuildCommand != c.build || p.InstallCommand != c.install || p.OutputDir != c.output || p.SPA != c.spa || p.SPAFallback != c.fallback {
				t.Errorf("got framework=%q build=%q install=%q output=%q spa=%v fallback=%q", p.Framework, p.BuildCommand, p.InstallCommand, p.OutputDir, p.SPA, p.SPAFallback)
			}
			if c.note != "" && !strings.Contains(strings.Join(p.Notes, "\n"), c.note) {
				t.Errorf("notes %q lack %q", p.Notes, c.note)
			}
		})
	}
}

func TestProviderUnsupported(t *testing.T) {
	cases := []struct {
		name      string
		files     map[string]string
		framework string
		reason    string
	}{
		{"astro server", map[string]string{"package.json": `{"dependencies": {"astro": "^4"}}`, "astro.config.mjs": "export default defineConfig({ output: 'server' });\n"}, "astro", "output: 'server'"},
		{"sveltekit adapter-auto", map[string]string{"package.json": `{"devDependencies": {"@sveltejs/kit": "^2", "@sveltejs/adapter-auto": "^3"}}`, "svelte.config.js": "import adapter from '@sveltejs/adapter-auto';\n"}, "sveltekit", "adapter-auto"},
		{"sveltekit without config", map[string]string{"package.json": `{"devDependencies": {"@sveltejs/kit": "^2"}}`}, "sveltekit", "no adapter"},
		{"next without config", map[string]string{"package.json": `{"dependencies": {"next": "^14"}}`}, "nextjs", "next.config.js"},
	}
	for _, c := range cases {
		_, err := Detect(mapFS(c.files), Overrides{})
		var ue *UnsupportedError
		if !errors.As(err, &ue) || ue.Framework != c.framework || !strings.Contains(ue.Reason, c.reason) {
			t.Errorf("%s: got %v, want *UnsupportedError for %s mentioning %q", c.name, err, c.framework, c.reason)
		}
	}
	// A build command in the settings does not make a server app static.
	_, err := Detect(mapFS(cases[0].files), Overrides{BuildCommand: "npm run build"})
	var ue *UnsupportedError
	if !errors.As(err, &ue) {
		t.Errorf("astro server with build override: got %v", err)
	}
}
