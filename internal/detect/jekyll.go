package detect

import "regexp"

// jekyllProvider plans Jekyll sites; the builder needs Ruby with Bundler, or jekyll itself.
type jekyllProvider struct{}

func (jekyllProvider) Name() string { return "jekyll" }

func jekyllConfig(p *project) string { return p.firstExisting("_config.yml", "_config.yaml") }

// Detect wants a _config.yml with a Gemfile, or with Jekyll's _posts/ or _layouts/ directory.
func (jekyllProvider) Detect(p *project) bool {
	return jekyllConfig(p) != "" && (p.exists("Gemfile") || p.isDir("_posts") || p.isDir("_layouts"))
}

var jekyllDestination = regexp.MustCompile(`(?m)^destination\s*:\s*["']?([^"'\s#]+)`)

func (jekyllProvider) Plan(p *project) (Plan, error) {
	pl := Plan{Kind: KindGenerator, Framework: "jekyll", FrameworkName: "Jekyll", Tool: "jekyll", OutputDir: "_site"}
	if p.exists("Gemfile") {
		pl.InstallCommand = "bundle install"
		pl.BuildCommand = "bundle exec jekyll build"
		pl.Notes = append(pl.Notes, "the install needs Ruby and Bundler")
	} else {
		pl.BuildCommand = "jekyll build"
		pl.Notes = append(pl.Notes, "no Gemfile: building with the jekyll installed on the machine")
	}
	text, err := p.readText(jekyllConfig(p))
	if err != nil {
		return Plan{}, err
	}
	if m := jekyllDestination.FindStringSubmatch(text); m != nil {
		if d, ok := relDir(m[1]); ok && d != "" {
			pl.OutputDir = d
		}
	}
	return pl, nil
}
