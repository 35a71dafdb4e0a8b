// Package web embeds the built SkyDeploy dashboard (a React single-page app).
//
// The dashboard is built with `npm ci && npm run build` in this directory, which
// writes the production bundle to web/dist. Without a build, dist holds only
// .gitkeep, so Dist is an empty file system apart from that file; callers can
// check for index.html to tell whether the dashboard was built.
//
// It must never import anything of SkyDeploy: it is the built files.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the built dashboard: index.html, favicon.svg and assets/.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// Unreachable: "dist" is a valid path and is embedded above.
		panic(err)
	}
	return sub
}
