package detect

import (
	"path"
	"strings"
)

// staticProvider serves files as they are: an index.html at the project root, or, when there is
// no package.json, in one of the usual site folders.
type staticProvider struct{}

func (staticProvider) Name() string { return "static" }

// staticDirs are the folders a site without a build is looked for in, in this order.
var staticDirs = []string{"public", "docs", "site", "www", "static"}

func (s staticProvider) Detect(p *project) bool {
	_, ok := s.outputDir(p)
	return ok
}

// outputDir finds the directory to serve and whether it has an index.html (see Plan).
func (staticProvider) outputDir(p *project) (dir string, ok bool) {
	dirs := []string{"."}
	if p.pkg == nil {
		dirs = append(dirs, staticDirs...)
	}
	for _, d := range dirs {
		if p.exists(path.Join(d, "index.html")) {
			return d, true
		}
	}
	for _, d := range dirs {
		if len(htmlFiles(p.fsys, d)) > 0 {
			return d, true
		}
	}
	return "", false
}

func (s staticProvider) Plan(p *project) (Plan, error) {
	dir, ok := s.outputDir(p)
	if !ok {
		return Plan{}, &UnsupportedError{Reason: "no .html files in " + dirName(p.root), LookedFor: lookedFor[:2]}
	}
	pl := Plan{Kind: KindStatic, FrameworkName: "Static site"}
	if dir != "." {
		pl.OutputDir = dir
	}
	if !p.exists(path.Join(dir, "index.html")) {
		pages := htmlFiles(p.fsys, dir)
		if len(pages) > 5 {
			pages = append(pages[:5], "…")
		}
		pl.Notes = append(pl.Notes, "no index.html in "+dirName(path.Join(p.root, dir))+" ("+strings.Join(pages, ", ")+"): requests for / will get a 404 page")
	}
	if p.pkg != nil {
		pl.Notes = append(pl.Notes, "package.json has no build script: serving the files as they are")
	}
	return pl, nil
}
