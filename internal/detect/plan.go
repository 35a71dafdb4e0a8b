// Package detect decides, as a pure function of a project's file tree and its settings, what
// kind of project it is and how to build it: a Plan.
//
// It must never depend on Temporal, Redis, object storage or the network: it reads an fs.FS.
package detect

import "fmt"

// Kind is the broad project kind.
type Kind string

const (
	// KindStatic is a site served as it is, without a build.
	KindStatic Kind = "static"
	// KindNode is a project built with Node and a package manager.
	KindNode Kind = "node"
	// KindGenerator is a site built with a non-Node static site generator (Hugo, Jekyll).
	KindGenerator Kind = "generator"
)

// Plan says how to turn a source tree into files to serve.
type Plan struct {
	Kind Kind `json:"kind"`
	// Framework is a short id such as "vite", "nextjs", "hugo" or "" for a plain static site.
	Framework string `json:"framework,omitempty"`
	// FrameworkName is the human name shown in the dashboard, e.g. "Vite".
	FrameworkName string `json:"frameworkName,omitempty"`
	// RootDir is the project directory inside the repository ("" = repository root).
	RootDir string `json:"rootDir,omitempty"`
	// PackageManager is npm, yarn, yarn-berry or pnpm for Node projects.
	PackageManager string `json:"packageManager,omitempty"`
	// PackageManagerVersion is the version pinned by the packageManager field, if any.
	PackageManagerVersion string `json:"packageManagerVersion,omitempty"`
	// InstallCommand and BuildCommand run in RootDir; empty means the step is skipped.
	InstallCommand string `json:"installCommand,omitempty"`
	BuildCommand   string `json:"buildCommand,omitempty"`
	// OutputDir is the directory, relative to RootDir, whose files are published ("" = RootDir itself).
	OutputDir string `json:"outputDir,omitempty"`
	// NodeVersion is the version range the project asks for (engines.node or .nvmrc), if any.
	NodeVersion string `json:"nodeVersion,omitempty"`
	// SPA marks single-page apps: unknown navigation paths fall back to /index.html.
	SPA bool `json:"spa,omitempty"`
	// Tool names an external program the build needs besides Node (e.g. "hugo").
	Tool string `json:"tool,omitempty"`
	// Notes are human-readable remarks for the build log (e.g. a Node version the machine lacks).
	Notes []string `json:"notes,omitempty"`
}

// NeedsBuild reports whether the plan runs any command.
func (p Plan) NeedsBuild() bool { return p.InstallCommand != "" || p.BuildCommand != "" }

// Overrides are a project's settings that win over detection.
type Overrides struct {
	RootDir        string `json:"rootDir,omitempty"`
	InstallCommand string `json:"installCommand,omitempty"`
	BuildCommand   string `json:"buildCommand,omitempty"`
	OutputDir      string `json:"outputDir,omitempty"`
	// Framework forces a framework id instead of detecting one.
	Framework string `json:"framework,omitempty"`
	// SPA forces single-page-app fallback on (true) or off (false).
	SPA *bool `json:"spa,omitempty"`
}

// UnsupportedError says that a tree is no project SkyDeploy knows, and what was looked for.
type UnsupportedError struct {
	Reason    string
	LookedFor []string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("unsupported project: %s (looked for: %v)", e.Reason, e.LookedFor)
}
