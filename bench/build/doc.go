// Package build benchmarks SkyDeploy's build step through the real stack (Temporal dev server,
// Redis, versitygw, the worker and gateway in-process, a local git server): it deploys the Vite
// fixture of e2e/testdata twice per repository, cold (empty build cache) then warm (same
// repository and lockfile), and reports the build-step time of each, their ratio and the share
// of each phase, parsed from the build's "timing:" log line. It does so in two setups,
// alternated: builds through the egress proxy (what the platform always does) and builds on
// the worker's own network (a throw-away configuration), and prints what the proxy costs on a
// cold build (goal: at most 10 %). Run it with ./run.sh. No package may import it.
package build
