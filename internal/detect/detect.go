package detect

import (
	"errors"
	"io/fs"
	"path"
)

// Detect returns the build plan for the tree in fsys, with overrides applied.
func Detect(fsys fs.FS, o Overrides) (Plan, error) {
	root := path.Clean(o.RootDir)
	if root == "/" || root == "." {
		root = "."
	}
	sub := fsys
	if root != "." {
		var err error
		if sub, err = fs.Sub(fsys, root); err != nil {
			return Plan{}, err
		}
		if _, err := fs.Stat(sub, "."); err != nil {
			return Plan{}, &UnsupportedError{Reason: "root directory " + root + " does not exist", LookedFor: []string{root}}
		}
	}
	if exists(sub, "package.json") {
		return Plan{}, &UnsupportedError{Reason: "Node projects are not supported yet", LookedFor: []string{"index.html"}}
	}
	if exists(sub, "index.html") {
		p := Plan{Kind: KindStatic}
		if root != "." {
			p.RootDir = root
		}
		return p, nil
	}
	return Plan{}, &UnsupportedError{Reason: "no index.html found", LookedFor: []string{"index.html"}}
}

func exists(fsys fs.FS, name string) bool {
	_, err := fs.Stat(fsys, name)
	return err == nil || !errors.Is(err, fs.ErrNotExist)
}
