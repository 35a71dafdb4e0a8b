package e2e

import "regexp"

// starter is one framework's default project as its own generator makes it, and what its
// deployment must show.
type starter struct {
	name string
	// what names the generator and template in the README table.
	what string
	// inDefault puts the starter into a plain `go test` run (and so `make test` and CI); the
	// others run under `make test-starters` (SKYDEPLOY_TEST_STARTERS=all).
	inDefault bool
	// from starts from another starter's materialised tree instead of an empty directory.
	from string
	// recipe makes the project in projectDir: the generator, then the edits the framework's
	// documentation asks for before a static deployment.
	recipe []op
	// framework is the id detection must find.
	framework string
	// detectError, when set, is the start of the message the deployment must fail with at the
	// detect step (a starter that needs what SkyDeploy does not offer).
	detectError string
	// marker is text the served root page carries.
	marker string
	// asset matches a src or href of the root page naming an asset with a content hash.
	asset *regexp.Regexp
	// needs names a program the host must have to make and build the starter.
	needs string
}

// Pinned generators. Node 20 (this machine's) is the floor: Astro 6, Angular 22 and
// create-astro 5 ask for Node 22, so their last Node-20 majors are pinned.
const (
	createViteVersion       = "create-vite@9.3.0"
	createReactAppVersion   = "create-react-app@5.1.0"
	craTemplateVersion      = "cra-template@1.3.0"
	reactScriptsVersion     = "5.0.1"
	createNextAppVersion    = "create-next-app@16.4.3"
	geistVersion            = "geist@1.7.2"
	createDocusaurusVersion = "create-docusaurus@3.10.2"
	astroVersion            = "astro@5.18.2"
	svVersion               = "sv@0.17.1"
	angularCLIVersion       = "@angular/cli@21.2.27"
	eleventyVersion         = "@11ty/eleventy@3.1.8"
)

// lockfileOnly resolves the dependencies and writes package-lock.json as `npm install` would,
// without downloading them (the generators that would install are told not to).
var lockfileOnly = inProject("npm", "install", "--package-lock-only")

// viteStarter is create-vite's template: package.json without a lockfile, which `npm install`
// makes on a developer's machine.
func viteStarter(template string, inDefault bool) starter {
	return starter{
		name: "vite-" + template, what: createViteVersion + " --template " + template,
		inDefault: inDefault,
		recipe: []op{
			gen("npx", createViteVersion, projectDir, "--template", template, "--no-interactive", "--no-immediate"),
			lockfileOnly,
		},
		framework: "vite",
		marker:    "<title>" + projectDir + "</title>",
		asset:     regexp.MustCompile(`^/assets/index-[A-Za-z0-9_-]{8}\.js$`),
	}
}

// Starters without their lockfile, as a developer who never committed it pushes them: only
// the package manager's download cache can help a warm install. Each follows its original.
func init() {
	addWithoutLockfile("vite-react-ts", true)
	addWithoutLockfile("create-react-app", false)
}

func addWithoutLockfile(of string, inDefault bool) {
	for i, s := range starters {
		if s.name != of {
			continue
		}
		s.name, s.what, s.inDefault, s.from = of+"-no-lockfile", s.what+", package-lock.json removed", inDefault, of
		s.recipe = []op{remove("package-lock.json")}
		starters = append(starters[:i+1], append([]starter{s}, starters[i+1:]...)...)
		return
	}
	panic("no starter " + of)
}

// starters is the corpus, in the order the suite deploys it.
var starters = []starter{
	{
		name: "create-react-app", what: createReactAppVersion + " (" + craTemplateVersion + ")", inDefault: true,
		// create-react-app installs the dependencies itself and writes package-lock.json.
		recipe:    []op{gen("npx", createReactAppVersion, projectDir, "--template", craTemplateVersion, "--scripts-version", reactScriptsVersion)},
		framework: "cra", marker: "<title>React App</title>",
		asset: regexp.MustCompile(`^/static/js/main\.[0-9a-f]{8}\.js$`),
	},
	{
		name: "nextjs-server", what: createNextAppVersion + " --yes (App Router, TypeScript, Tailwind), unchanged",
		inDefault: true,
		recipe: []op{
			gen("npx", createNextAppVersion, projectDir, "--yes", "--use-npm", "--skip-install", "--disable-git"),
			lockfileOnly,
		},
		framework:   "nextjs",
		detectError: "unsupported project: this Next.js app needs a Node server; SkyDeploy serves only static exports: add output: 'export' to next.config.ts",
	},
	{
		name: "nextjs-export", what: createNextAppVersion + " --yes, output: 'export'", inDefault: true, from: "nextjs-server",
		recipe: []op{
			// https://nextjs.org/docs/app/guides/static-exports: output 'export', and images
			// without the optimisation server. Cache Components and Partial Prefetching, on in
			// the 16.4 template, need a server ("PPR cannot be enabled in export mode").
			replace("next.config.ts", "  cacheComponents: true,\n  partialPrefetching: true,\n",
				"  output: \"export\",\n  images: { unoptimized: true },\n"),
			// The template loads Geist from Google Fonts while building; this machine reaches only
			// the npm registry, so the same font comes from the geist package.
			replace("app/layout.tsx", `import { Geist, Geist_Mono } from "next/font/google";`,
				"import { GeistSans } from \"geist/font/sans\";\nimport { GeistMono } from \"geist/font/mono\";"),
			replace("app/layout.tsx", "const geistSans = Geist({\n  variable: \"--font-geist-sans\",\n  subsets: [\"latin\"],\n});",
				"const geistSans = GeistSans;"),
			replace("app/layout.tsx", "const geistMono = Geist_Mono({\n  variable: \"--font-geist-mono\",\n  subsets: [\"latin\"],\n});",
				"const geistMono = GeistMono;"),
			inProject("npm", "install", "--package-lock-only", geistVersion),
		},
		framework: "nextjs", marker: "<title>Create Next App</title>",
		asset: regexp.MustCompile(`^/_next/static/(chunks|css)/[0-9a-z~_-]{8,}\.(js|css)$`),
	},
	viteStarter("react-ts", true),
	viteStarter("vue-ts", false),
	viteStarter("svelte-ts", false),
	viteStarter("vanilla-ts", false),
	{
		name: "docusaurus", what: createDocusaurusVersion + " classic --javascript",
		recipe: []op{
			gen("npx", createDocusaurusVersion, projectDir, "classic", "--javascript", "--package-manager", "npm", "--skip-install"),
			// The registry this machine reaches lacks @swc/html 1.16.22's non-Linux packages,
			// so npm writes a lockfile without them that `npm ci` refuses ("Missing:
			// @swc/html-darwin-arm64@ from lock file"); 1.16.2 is complete there. Not needed
			// against registry.npmjs.org itself.
			replace("package.json", "  \"engines\": {", "  \"overrides\": {\n    \"@swc/html\": \"1.16.2\"\n  },\n  \"engines\": {"),
			lockfileOnly,
		},
		framework: "docusaurus", marker: "<title",
		asset: regexp.MustCompile(`^/assets/js/main\.[0-9a-f]{8}\.js$`),
	},
	{
		name: "astro", what: astroVersion + ", Astro's manual setup shaped like the basics template",
		// create-astro downloads its templates from GitHub, which this machine cannot reach;
		// Astro's documented manual setup needs only the npm registry.
		recipe:    astroRecipe,
		framework: "astro", marker: "<title>Astro Basics</title>",
		asset: regexp.MustCompile(`^/_astro/astro\.[A-Za-z0-9_-]{8}\.svg$`),
	},
	{
		name: "sveltekit", what: svVersion + " create --template minimal --types ts, adapter-static",
		recipe: []op{
			gen("npx", svVersion, "create", projectDir, "--template", "minimal", "--types", "ts",
				"--add", "sveltekit-adapter=adapter:static", "--no-install", "--no-dir-check"),
			// adapter-static: "add export const prerender = true to your root layout".
			write("src/routes/+layout.ts", "export const prerender = true;\n"),
			lockfileOnly,
		},
		framework: "sveltekit", marker: "Welcome to SvelteKit",
		asset: regexp.MustCompile(`^\./_app/immutable/entry/start\.[A-Za-z0-9_-]{8}\.js$`),
	},
	{
		name: "angular", what: angularCLIVersion + " new --defaults --ssr=false",
		recipe: []op{
			gen("npx", angularCLIVersion, "new", projectDir, "--defaults", "--skip-git", "--skip-install", "--ssr=false"),
			lockfileOnly,
		},
		framework: "angular", marker: "<app-root",
		asset: regexp.MustCompile(`^main-[A-Z0-9]{8}\.js$`),
	},
	{
		name: "eleventy", what: eleventyVersion + ", Eleventy's getting-started site with a CSS bundle",
		// Eleventy has no generator on npm; its getting-started guide is npm install and a
		// template. The bundle is how eleventy-base-blog names its CSS by content hash.
		recipe: []op{
			write("package.json", `{
  "name": "starter",
  "version": "1.0.0",
  "private": true,
  "type": "module",
  "scripts": {
    "build": "eleventy",
    "start": "eleventy --serve"
  }
}
`),
			write(".gitignore", "node_modules/\n_site/\n"),
			write("eleventy.config.js", `export default function (eleventyConfig) {
	eleventyConfig.addBundle("css", { toFileDirectory: "bundle" });
}
`),
			write("_includes/base.njk", `<!doctype html>
<html lang="en">
<head>
	<meta charset="utf-8">
	<title>{{ title }}</title>
	<link rel="stylesheet" href="{% getBundleFileUrl "css" %}">
</head>
<body>
{%- css %}body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; }{% endcss %}
{{ content | safe }}
</body>
</html>
`),
			write("index.md", "---\nlayout: base.njk\ntitle: Eleventy starter\n---\n# Hello from Eleventy\n\nThis page was built by [Eleventy](https://www.11ty.dev/).\n"),
			inProject("npm", "install", "--package-lock-only", eleventyVersion),
		},
		framework: "eleventy", marker: "Hello from Eleventy",
		asset: regexp.MustCompile(`^/bundle/[A-Za-z0-9_-]{6,}\.css$`),
	},
	{
		name: "hugo", what: "hugo new site + hugo new theme (Debian's hugo), fingerprinted CSS", needs: "hugo",
		// The quick start's theme (Ananke) is a git submodule from GitHub, which neither this
		// machine nor a SkyDeploy clone fetches: the site uses Hugo's own theme skeleton,
		// filled in the way newer Hugo versions write it.
		recipe:    hugoRecipe,
		framework: "hugo", marker: "Hello from Hugo",
		asset: regexp.MustCompile(`^/css/main\.min\.[0-9a-f]{64}\.css$`),
	},
}

var astroRecipe = []op{
	write("package.json", `{
  "name": "starter",
  "type": "module",
  "version": "0.0.1",
  "private": true,
  "scripts": {
    "dev": "astro dev",
    "build": "astro build",
    "preview": "astro preview",
    "astro": "astro"
  }
}
`),
	write(".gitignore", "dist/\n.astro/\nnode_modules/\n"),
	write("astro.config.mjs", "// @ts-check\nimport { defineConfig } from 'astro/config';\n\n// https://astro.build/config\nexport default defineConfig({});\n"),
	write("tsconfig.json", `{
  "extends": "astro/tsconfigs/strict",
  "include": [".astro/types.d.ts", "**/*"],
  "exclude": ["dist"]
}
`),
	write("public/favicon.svg", `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="16" r="14" fill="#bc52ee"/></svg>`+"\n"),
	write("src/assets/astro.svg", `<svg xmlns="http://www.w3.org/2000/svg" width="115" height="48" viewBox="0 0 115 48"><rect width="115" height="48" rx="8" fill="#17191e"/><text x="57" y="31" fill="#fff" font-family="sans-serif" font-size="20" text-anchor="middle">astro</text></svg>`+"\n"),
	write("src/layouts/Layout.astro", `<!doctype html>
<html lang="en">
	<head>
		<meta charset="UTF-8" />
		<meta name="viewport" content="width=device-width" />
		<link rel="icon" type="image/svg+xml" href="/favicon.svg" />
		<meta name="generator" content={Astro.generator} />
		<title>Astro Basics</title>
	</head>
	<body>
		<slot />
	</body>
</html>

<style>
	html,
	body {
		margin: 0;
		width: 100%;
		height: 100%;
	}
</style>
`),
	write("src/components/Welcome.astro", `---
import astroLogo from '../assets/astro.svg';
---

<main>
	<a href="https://astro.build"><img src={astroLogo.src} width="115" height="48" alt="Astro Homepage" /></a>
	<h1>To get started, open the <code>src/pages</code> directory in your project.</h1>
</main>

<style>
	main {
		font-family: system-ui, sans-serif;
		padding: 4rem;
	}
</style>
`),
	write("src/pages/index.astro", `---
import Welcome from '../components/Welcome.astro';
import Layout from '../layouts/Layout.astro';
---

<Layout>
	<Welcome />
</Layout>
`),
	inProject("npm", "install", "--package-lock-only", astroVersion),
}

var hugoRecipe = []op{
	gen("hugo", "new", "site", projectDir),
	inProject("hugo", "new", "theme", "starter"),
	// Hugo 0.110+ reads hugo.toml; older `hugo new site` wrote config.toml.
	remove("config.toml"),
	write("hugo.toml", "baseURL = 'https://example.org/'\nlanguageCode = 'en-us'\ntitle = 'My New Hugo Site'\ntheme = 'starter'\n"),
	write("themes/starter/assets/css/main.css", "body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; }\n"),
	write("themes/starter/layouts/partials/head.html", `<head>
  <meta charset="utf-8">
  <title>{{ if .IsHome }}{{ site.Title }}{{ else }}{{ printf "%s | %s" .Title site.Title }}{{ end }}</title>
  {{- with resources.Get "css/main.css" | minify | fingerprint }}
  <link rel="stylesheet" href="{{ .RelPermalink }}" integrity="{{ .Data.Integrity }}" crossorigin="anonymous">
  {{- end }}
</head>
`),
	write("themes/starter/layouts/partials/header.html", `<header><h1><a href="{{ "/" | relURL }}">{{ site.Title }}</a></h1></header>`+"\n"),
	write("themes/starter/layouts/index.html", `{{ define "main" }}
  {{ .Content }}
  {{ range site.RegularPages }}
    <h2><a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a></h2>
    {{ .Summary }}
  {{ end }}
{{ end }}
`),
	write("themes/starter/layouts/_default/single.html", `{{ define "main" }}
  <h1>{{ .Title }}</h1>
  {{ .Content }}
{{ end }}
`),
	write("themes/starter/layouts/_default/list.html", `{{ define "main" }}
  <h1>{{ .Title }}</h1>
  {{ range .Pages }}<h2><a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a></h2>{{ end }}
{{ end }}
`),
	write("content/_index.md", "---\ntitle: Home\n---\nHello from Hugo.\n"),
	write("content/posts/first-post.md", "---\ntitle: First post\ndate: 2026-01-01\ndraft: false\n---\nA post built by Hugo.\n"),
}

// findStarter returns the starter named name, or nil.
func findStarter(name string) *starter {
	for i := range starters {
		if starters[i].name == name {
			return &starters[i]
		}
	}
	return nil
}
