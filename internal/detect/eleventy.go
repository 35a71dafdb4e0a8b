package detect

import "regexp"

// eleventyProvider plans Eleventy (11ty) sites, which build to _site/ unless told otherwise.
type eleventyProvider struct{}

func (eleventyProvider) Name() string { return "eleventy" }

func eleventyConfig(p *project) string {
	return p.firstExisting(append([]string{".eleventy.js", ".eleventy.cjs", ".eleventy.mjs"}, configNames("eleventy.config")...)...)
}

func (eleventyProvider) Detect(p *project) bool {
	return p.pkg != nil && (p.hasDep("@11ty/eleventy") || eleventyConfig(p) != "")
}

var eleventyOutputFlag = regexp.MustCompile(`eleventy\b[^&|;]*--output[= ]["']?([^\s"'&|;]+)`)

func (eleventyProvider) Plan(p *project) (Plan, error) {
	pl := p.nodePlan("eleventy", "Eleventy")
	pl.BuildCommand = p.buildCommand("eleventy")
	pl.OutputDir = "_site"
	if cfg := eleventyConfig(p); cfg != "" {
		text, err := p.readText(cfg)
		if err != nil {
			return Plan{}, err
		}
		// dir: { input: "src", output: "dist" }
		if d, ok := relDir(configString(text, "output")); ok && d != "" {
			pl.OutputDir = d
		}
	}
	if m := eleventyOutputFlag.FindStringSubmatch(p.script("build")); m != nil {
		if d, ok := relDir(m[1]); ok && d != "" {
			pl.OutputDir = d
		}
	}
	return pl, nil
}
