package detect

import (
	"regexp"
)

// hugoProvider plans Hugo sites; the builder needs the hugo program.
type hugoProvider struct{}

func (hugoProvider) Name() string { return "hugo" }

// hugoConfig returns Hugo's site config file: hugo.* (Hugo 0.110+) always counts; the older
// config.* only with a content/, themes/ or layouts/ directory beside it, since many tools
// use a file named config.toml.
func hugoConfig(p *project) string {
	if c := p.firstExisting("hugo.toml", "hugo.yaml", "hugo.yml", "hugo.json"); c != "" {
		return c
	}
	c := p.firstExisting("config.toml", "config.yaml", "config.yml", "config.json",
		"config/_default/hugo.toml", "config/_default/config.toml", "config/_default/hugo.yaml", "config/_default/config.yaml")
	if c != "" && (p.isDir("content") || p.isDir("themes") || p.isDir("layouts")) {
		return c
	}
	return ""
}

func (hugoProvider) Detect(p *project) bool { return hugoConfig(p) != "" }

// hugoPublishDir finds publishDir in TOML (publishDir = "x"), YAML (publishDir: x) or JSON.
var hugoPublishDir = regexp.MustCompile(`(?mi)^\s*"?publishDir"?\s*[:=]\s*["']?([^"'\s,#]+)`)

func (hugoProvider) Plan(p *project) (Plan, error) {
	pl := Plan{Kind: KindGenerator, Framework: "hugo", FrameworkName: "Hugo", Tool: "hugo", BuildCommand: "hugo --minify", OutputDir: "public"}
	cfg := hugoConfig(p)
	text, err := p.readText(cfg)
	if err != nil {
		return Plan{}, err
	}
	if m := hugoPublishDir.FindStringSubmatch(text); m != nil {
		if d, ok := relDir(m[1]); ok && d != "" {
			pl.OutputDir = d
		}
	}
	if p.pkg != nil && len(p.pkg.Dependencies)+len(p.pkg.DevDependencies) > 0 {
		// Hugo Pipes (PostCSS, Tailwind) read node_modules.
		node := p.nodePlan("hugo", "Hugo")
		pl.PackageManager, pl.PackageManagerVersion, pl.Corepack = node.PackageManager, node.PackageManagerVersion, node.Corepack
		pl.Lockfile, pl.WorkspaceRoot, pl.InstallCommand = node.Lockfile, node.WorkspaceRoot, node.InstallCommand
		pl.Notes = append(node.Notes, "package.json has dependencies: they are installed for Hugo Pipes")
	}
	if p.exists(".gitmodules") || exists(p.repo, ".gitmodules") {
		pl.Notes = append(pl.Notes, ".gitmodules found: the theme is probably a git submodule and must be checked out")
	}
	return pl, nil
}
