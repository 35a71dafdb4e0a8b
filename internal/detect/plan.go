// Package detect decides, as a pure function of a project's file tree and its settings, what
// kind of project it is and how to build it: a Plan.
//
// It must never depend on Temporal, Redis, object storage or the network: it reads an fs.FS.
// It imports nothing outside the standard library.
package detect

import (
	"fmt"
	"strings"
)

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
	// Corepack says that `corepack enable` must run before InstallCommand: set for pnpm and
	// yarn-berry, and for any package manager pinned by the packageManager field.
	Corepack bool `json:"corepack,omitempty"`
	// Lockfile is the repository-relative path of the lockfile the install uses, if any.
	Lockfile string `json:"lockfile,omitempty"`
	// WorkspaceRoot is the repository-relative directory holding Lockfile when it lies above
	// RootDir (a monorepo workspace; "." is the repository root); "" when the lockfile is in
	// RootDir or there is none. InstallCommand still runs in RootDir: npm, yarn and pnpm find
	// the workspace root themselves.
	WorkspaceRoot string `json:"workspaceRoot,omitempty"`
	// InstallCommand and BuildCommand run in RootDir; empty means the step is skipped.
	InstallCommand string `json:"installCommand,omitempty"`
	BuildCommand   string `json:"buildCommand,omitempty"`
	// OutputDir is the directory, relative to RootDir, whose files are published ("" = RootDir itself).
	OutputDir string `json:"outputDir,omitempty"`
	// OutputCandidates, when set, are the directories (relative to RootDir, OutputDir first) the
	// builder tries in order after the build, publishing the first that exists. Detection runs
	// before the build, so a project without a known framework cannot know its output for sure.
	OutputCandidates []string `json:"outputCandidates,omitempty"`
	// NodeVersion is the version range the project asks for (engines.node or .nvmrc), if any.
	NodeVersion string `json:"nodeVersion,omitempty"`
	// NodeVersionSource names where NodeVersion came from, e.g. "package.json engines.node" or ".nvmrc".
	NodeVersionSource string `json:"nodeVersionSource,omitempty"`
	// SPA marks single-page apps: unknown navigation paths fall back to /index.html.
	SPA bool `json:"spa,omitempty"`
	// SPAFallback names the file, relative to OutputDir, that SPA navigation falls back to when it
	// is not index.html (e.g. SvelteKit's `fallback: '200.html'`).
	SPAFallback string `json:"spaFallback,omitempty"`
	// Tool names an external program the build needs besides Node (e.g. "hugo").
	Tool string `json:"tool,omitempty"`
	// Notes are human-readable remarks for the build log (e.g. a Node version the machine lacks).
	Notes []string `json:"notes,omitempty"`
}

// NeedsBuild reports whether the plan runs any command.
func (p Plan) NeedsBuild() bool { return p.InstallCommand != "" || p.BuildCommand != "" }

// Overrides are a project's settings that win over detection.
type Overrides struct {
	// RootDir is the project directory inside the repository (a monorepo app such as "apps/web").
	// It must be relative and must not contain "..".
	RootDir        string `json:"rootDir,omitempty"`
	InstallCommand string `json:"installCommand,omitempty"`
	BuildCommand   string `json:"buildCommand,omitempty"`
	// OutputDir is relative to RootDir and must not contain "..".
	OutputDir string `json:"outputDir,omitempty"`
	// Framework forces a framework id instead of detecting one (see Frameworks; "static" too).
	Framework string `json:"framework,omitempty"`
	// SPA forces single-page-app fallback on (true) or off (false).
	SPA *bool `json:"spa,omitempty"`
	// NodeAvailable is not a user setting: the builder may set it to the machine's `node --version`
	// (e.g. "v20.11.1") so that the plan notes a Node version the project asks for and the
	// machine cannot satisfy (see CheckNode).
	NodeAvailable string `json:"nodeAvailable,omitempty"`
}

// UnsupportedError says that a tree is no project SkyDeploy knows, or a known project that
// SkyDeploy cannot serve (e.g. a Next.js server app), and what was looked for. It is permanent:
// retrying the same tree gives the same answer.
type UnsupportedError struct {
	// Framework is the framework id when the project was recognised but cannot be served.
	Framework string
	Reason    string
	LookedFor []string
}

func (e *UnsupportedError) Error() string {
	if len(e.LookedFor) == 0 {
		return "unsupported project: " + e.Reason
	}
	return fmt.Sprintf("unsupported project: %s (looked for: %s)", e.Reason, strings.Join(e.LookedFor, "; "))
}

// InvalidProjectError says that a project file could not be read as what it claims to be (a
// package.json that is not JSON, or too large). It is permanent until the repository changes.
type InvalidProjectError struct {
	// File is the repository-relative path of the offending file.
	File   string
	Reason string
	Err    error
}

func (e *InvalidProjectError) Error() string {
	return fmt.Sprintf("invalid project: %s: %s", e.File, e.Reason)
}

func (e *InvalidProjectError) Unwrap() error { return e.Err }

// OverrideError says that a project setting is unusable (a root directory that does not exist or
// leaves the repository, an unknown framework id). It is permanent until the setting changes.
type OverrideError struct {
	// Setting is the Overrides JSON field name, e.g. "rootDir".
	Setting string
	Value   string
	Reason  string
}

func (e *OverrideError) Error() string {
	return fmt.Sprintf("invalid setting %s %q: %s", e.Setting, e.Value, e.Reason)
}
