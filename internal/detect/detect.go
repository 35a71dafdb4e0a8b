package detect

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// provider recognises one kind of project and plans its build.
type provider interface {
	// Name is the framework id: Plan.Framework and the value Overrides.Framework accepts.
	Name() string
	// Detect reports whether the project is this provider's. It only looks, it never fails.
	Detect(p *project) bool
	// Plan says how to build the project. It returns *UnsupportedError for a project it
	// recognises but SkyDeploy cannot serve (e.g. a Next.js server app).
	Plan(p *project) (Plan, error)
}

// providers is the detection order: the first provider whose Detect is true plans the build.
//
//  1. Frameworks named by their own dependency or config file, meta-frameworks first. Most are
//     built on Vite (SvelteKit, Astro, Nuxt) or webpack (Next.js, Gatsby, Docusaurus, Angular),
//     so they must be asked before the build tools they depend on.
//  2. The build tools that make SPAs: Vue CLI and Create React App, then Vite last of the Node
//     frameworks, because every Vite-based framework above also depends on vite.
//  3. Hugo and Jekyll: after the Node frameworks, whose dependencies say more than a
//     config.toml or _config.yml, but before generic Node, because Hugo and Jekyll sites often
//     carry a package.json for their CSS tooling.
//  4. Generic Node: any package.json with a build script.
//  5. Plain static files last: a project with a build step often has an index.html too
//     (Vite keeps it at the root, CRA in public/), and the build must win.
var providers = []provider{
	nextjsProvider{},
	nuxtProvider{},
	sveltekitProvider{},
	astroProvider{},
	gatsbyProvider{},
	docusaurusProvider{},
	angularProvider{},
	eleventyProvider{},
	vuecliProvider{},
	craProvider{},
	viteProvider{},
	hugoProvider{},
	jekyllProvider{},
	nodeProvider{},
	staticProvider{},
}

// Frameworks lists the framework ids Overrides.Framework accepts, in detection order.
func Frameworks() []string {
	ids := make([]string, len(providers))
	for i, pr := range providers {
		ids[i] = pr.Name()
	}
	return ids
}

// lookedFor is what an unsupported tree is told was looked for.
var lookedFor = []string{
	"index.html at the root",
	"index.html in public/, docs/, site/, www/ or static/ (without package.json)",
	"package.json with a build script",
	"a framework dependency or config (vite.config.*, next.config.*, astro.config.*, svelte.config.*, angular.json, nuxt.config.*, gatsby-config.*, docusaurus.config.*, eleventy.config.*)",
	"Hugo: hugo.toml, or config.toml with content/ or themes/",
	"Jekyll: _config.yml with a Gemfile",
}

// Detect returns the build plan for the tree in fsys, with overrides applied. Besides I/O
// errors from fsys it returns *OverrideError for unusable settings, *InvalidProjectError for
// unreadable project files and *UnsupportedError for trees it cannot build; all three are
// permanent for the same tree and settings.
func Detect(fsys fs.FS, o Overrides) (Plan, error) {
	root, err := cleanRel("rootDir", o.RootDir)
	if err != nil {
		return Plan{}, err
	}
	outputDir, err := cleanRel("outputDir", o.OutputDir)
	if err != nil {
		return Plan{}, err
	}
	p, err := newProject(fsys, root, o)
	if err != nil {
		return Plan{}, err
	}

	plan, err := planFor(p)
	if err != nil {
		return Plan{}, err
	}
	if plan.Kind == KindNode && p.pkg == nil && plan.Framework != "custom" {
		return Plan{}, &OverrideError{Setting: "framework", Value: o.Framework, Reason: "needs a package.json in " + dirName(root)}
	}

	if root != "." {
		plan.RootDir = root
	}
	applyOverrides(&plan, o, outputDir)
	if plan.PackageManager != "" || plan.Kind == KindNode {
		if plan.NodeVersion, plan.NodeVersionSource, err = detectNodeVersion(p); err != nil {
			return Plan{}, err
		}
		if o.NodeAvailable != "" {
			if note, _ := CheckNode(plan, o.NodeAvailable); note != "" {
				plan.Notes = append(plan.Notes, note)
			}
		}
	}
	return plan, nil
}

// newProject opens the project directory and reads its package.json and package manager.
func newProject(fsys fs.FS, root string, o Overrides) (*project, error) {
	p := &project{repo: fsys, root: root, fsys: fsys, o: o}
	if root != "." {
		fi, err := fs.Stat(fsys, root)
		switch {
		case isNotExist(err):
			return nil, &OverrideError{Setting: "rootDir", Value: o.RootDir, Reason: "no such directory in the repository"}
		case err != nil:
			return nil, err
		case !fi.IsDir():
			return nil, &OverrideError{Setting: "rootDir", Value: o.RootDir, Reason: "is a file, not a directory"}
		}
		if p.fsys, err = fs.Sub(fsys, root); err != nil {
			return nil, err
		}
	}
	b, err := readLimited(p.fsys, "package.json", p.repoPath("package.json"))
	switch {
	case isNotExist(err):
		return p, nil
	case err != nil:
		return nil, err
	}
	if p.pkg, err = parsePackageJSON(p.repoPath("package.json"), b); err != nil {
		return nil, err
	}
	if p.pm, err = detectPackageManager(fsys, root); err != nil {
		return nil, err
	}
	return p, nil
}

// planFor asks the chosen provider for a plan. A tree that no provider claims, or that is
// served as plain static files, becomes a custom build when the settings give a command.
func planFor(p *project) (Plan, error) {
	pr, err := choose(p, p.o.Framework)
	if err != nil {
		return Plan{}, err
	}
	hasCommand := p.o.InstallCommand != "" || p.o.BuildCommand != ""
	if pr == nil {
		if hasCommand {
			return customPlan(p), nil
		}
		return Plan{}, unsupportedTree(p)
	}
	plan, err := pr.Plan(p)
	var ue *UnsupportedError
	if hasCommand && (err == nil && plan.Kind == KindStatic || errors.As(err, &ue) && ue.Framework == "") {
		return customPlan(p), nil
	}
	return plan, err
}

// choose returns the forced provider, or the first that detects the project, or nil.
func choose(p *project, framework string) (provider, error) {
	if framework != "" {
		for _, pr := range providers {
			if pr.Name() == framework {
				return pr, nil
			}
		}
		ids := Frameworks()
		sort.Strings(ids)
		return nil, &OverrideError{Setting: "framework", Value: framework, Reason: "unknown framework; known: " + strings.Join(ids, ", ")}
	}
	for _, pr := range providers {
		if pr.Detect(p) {
			return pr, nil
		}
	}
	return nil, nil
}

// customPlan is the plan for a tree SkyDeploy does not recognise (or serves as static files)
// whose settings give an install or build command.
func customPlan(p *project) Plan {
	pl := Plan{Kind: KindNode, Framework: "custom", FrameworkName: "Custom build"}
	if p.pkg != nil {
		pl = p.nodePlan("custom", "Custom build")
	}
	if static, err := (staticProvider{}).Plan(p); err == nil {
		pl.OutputDir = static.OutputDir
	} else {
		pl.OutputDir = "dist"
		pl.OutputCandidates = []string{"dist", "build", "out", "public"}
	}
	pl.Notes = append(pl.Notes, "no framework detected; running the commands from the project settings")
	return pl
}

// unsupportedTree explains why nothing matched.
func unsupportedTree(p *project) error {
	reason := "no index.html, package.json, Hugo or Jekyll site found in " + dirName(p.root)
	if p.pkg != nil {
		reason = "package.json in " + dirName(p.root) + " has no build script and no known framework, and there is no index.html beside it"
	} else if entries, err := fs.ReadDir(p.fsys, "."); err == nil && len(entries) == 0 {
		reason = dirName(p.root) + " is empty"
	}
	return &UnsupportedError{Reason: reason, LookedFor: lookedFor}
}

// applyOverrides lays the project settings over the detected plan.
func applyOverrides(plan *Plan, o Overrides, outputDir string) {
	if o.InstallCommand != "" {
		plan.InstallCommand = strings.TrimSpace(o.InstallCommand)
		plan.Notes = append(plan.Notes, "install command from the project settings")
	}
	if o.BuildCommand != "" {
		plan.BuildCommand = strings.TrimSpace(o.BuildCommand)
		plan.Notes = append(plan.Notes, "build command from the project settings")
	}
	if o.OutputDir != "" {
		if outputDir == "." {
			outputDir = ""
		}
		plan.OutputDir = outputDir
		plan.OutputCandidates = nil
		plan.Notes = append(plan.Notes, "output directory from the project settings")
	}
	if o.SPA != nil {
		plan.SPA = *o.SPA
		if !plan.SPA {
			plan.SPAFallback = ""
		}
	}
}

// cleanRel validates a directory setting: relative, inside the repository, no "..". It
// returns the cleaned path, "." for the root.
func cleanRel(setting, dir string) (string, error) {
	d := strings.TrimSpace(dir)
	if d == "" {
		return ".", nil
	}
	bad := func(reason string) error { return &OverrideError{Setting: setting, Value: dir, Reason: reason} }
	if strings.HasPrefix(d, "/") || strings.Contains(d, `\`) || len(d) > 1 && d[1] == ':' {
		return "", bad("must be a relative path inside the repository (no leading /, no backslashes)")
	}
	for _, part := range strings.Split(d, "/") {
		if part == ".." {
			return "", bad(`must not contain ".."`)
		}
	}
	c := path.Clean(d)
	if !fs.ValidPath(c) {
		return "", bad(fmt.Sprintf("%q is not a valid path", c))
	}
	return c, nil
}
