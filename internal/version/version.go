// Package version holds the one version string of SkyDeploy, set at build time:
//
//	go build -ldflags "-X github.com/skydeploy/skydeploy/internal/version.Version=v1.2.3" ./cmd/skydeploy
//
// `make build` sets it from `git describe`, the Dockerfile from its VERSION build argument. The
// gateway's /api/config, `skydeploy version` and the dashboard's footer all show it.
//
// It must never depend on anything.
package version

// Version is the build's version; "dev" when the build did not set it.
var Version = "dev"
