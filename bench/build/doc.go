// Package build benchmarks SkyDeploy's build step through the real stack (Temporal dev server,
// Redis, versitygw, the worker and gateway in-process, a local git server): it deploys the Vite
// fixture of e2e/testdata twice per repository, cold (empty build cache) then warm (same
// repository and lockfile), and reports the build-step time of each, their ratio and the share
// of each phase, parsed from the build's "timing:" log line. Run it with ./run.sh.
package build
