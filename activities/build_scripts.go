package activities

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/skydeploy/skydeploy/internal/detect"
)

// Dependency install scripts
//
// Package managers have stopped running dependencies' install scripts by default (npm 11's
// allowScripts, pnpm 10's onlyBuiltDependencies): a site whose dependency needs its script (a
// native module, a binary fetched at install) then builds but breaks at run time, and the
// package manager's warning is easy to miss in a long log. After each install the build log
// therefore says, in one system line, which dependencies have install scripts, which of them
// the package manager reported it did not run, and the setting that allows them.

// skippedScriptsCollector picks the package manager's own report of skipped install scripts
// out of an install's output.
type skippedScriptsCollector struct {
	skipped map[string]string // package (name or name@version) -> script, "" when not said
}

var (
	// npm 11: "npm warn install-scripts   esbuild@0.25.12 (postinstall: node install.js)"
	npmSkipped = regexp.MustCompile(`^npm warn install-scripts\s{2,}(\S+) \((preinstall|install|postinstall|prepare)\b`)
	// pnpm 10: "Ignored build scripts: esbuild, sharp." (inside a box drawn with │)
	pnpmIgnored = regexp.MustCompile(`Ignored build scripts: ([^.│]+)\.`)
)

func newSkippedScriptsCollector() *skippedScriptsCollector {
	return &skippedScriptsCollector{skipped: map[string]string{}}
}

// add looks at one output line.
func (c *skippedScriptsCollector) add(line string) {
	if m := npmSkipped.FindStringSubmatch(line); m != nil {
		c.skipped[m[1]] = m[2]
		return
	}
	if m := pnpmIgnored.FindStringSubmatch(line); m != nil {
		for _, p := range strings.Split(m[1], ",") {
			if p = strings.TrimSpace(p); p != "" {
				c.skipped[p] = ""
			}
		}
	}
}

// scriptPackage is a dependency with an install script.
type scriptPackage struct {
	Name, Version, Script string
}

func (p scriptPackage) String() string { return fmt.Sprintf("%s@%s (%s)", p.Name, p.Version, p.Script) }

// installScriptsIn lists the packages under the workspace's node_modules directories that have
// install scripts, reading at most limit package.json files. It never follows links.
func installScriptsIn(ws string, dirs []string, limit int) []scriptPackage {
	root, err := os.OpenRoot(ws)
	if err != nil {
		return nil
	}
	defer root.Close()
	seen := map[string]bool{}
	var out []scriptPackage
	read := 0
	for _, d := range dirs {
		_ = fs.WalkDir(root.FS(), d, func(name string, de fs.DirEntry, err error) error {
			if err != nil || read >= limit {
				return fs.SkipDir
			}
			if de.Type()&fs.ModeSymlink != 0 {
				return nil
			}
			if de.IsDir() || !isPackageManifest(name) {
				return nil
			}
			read++
			data, err := readInRoot(ws, name, 1<<20)
			if err != nil {
				return nil
			}
			var pkg struct {
				Name    string            `json:"name"`
				Version string            `json:"version"`
				Scripts map[string]string `json:"scripts"`
				Gypfile bool              `json:"gypfile"`
			}
			if json.Unmarshal(data, &pkg) != nil || pkg.Name == "" {
				return nil
			}
			script := ""
			for _, s := range []string{"preinstall", "install", "postinstall"} {
				if pkg.Scripts[s] != "" {
					script = s
					break
				}
			}
			if script == "" {
				if _, err := root.Stat(path.Join(path.Dir(name), "binding.gyp")); err == nil {
					script = "install" // npm runs node-gyp rebuild for such packages
				}
			}
			key := pkg.Name + "@" + pkg.Version
			if script != "" && !seen[key] {
				seen[key] = true
				out = append(out, scriptPackage{Name: pkg.Name, Version: pkg.Version, Script: script})
			}
			return nil
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name+out[i].Version < out[j].Name+out[j].Version })
	return out
}

// isPackageManifest reports whether name is an installed package's own package.json:
// node_modules/<pkg>/package.json or node_modules/@scope/<pkg>/package.json.
func isPackageManifest(name string) bool {
	if path.Base(name) != "package.json" {
		return false
	}
	pkgDir := path.Dir(name)
	parent := path.Dir(pkgDir)
	if path.Base(parent) == "node_modules" {
		return !strings.HasPrefix(path.Base(pkgDir), "@")
	}
	return strings.HasPrefix(path.Base(parent), "@") && path.Base(path.Dir(parent)) == "node_modules"
}

// installScriptsSummary is the log line about dependency install scripts: which have them,
// which the package manager skipped, and how to allow them ("" when there is nothing to say).
func installScriptsSummary(pm string, have []scriptPackage, skipped map[string]string) string {
	isSkipped := func(p scriptPackage) bool {
		_, byName := skipped[p.Name]
		_, byVersion := skipped[p.Name+"@"+p.Version]
		return byName || byVersion
	}
	var ran, notRun []string
	var notRunNames []string
	for _, p := range have {
		if isSkipped(p) {
			notRun = append(notRun, p.String())
			notRunNames = append(notRunNames, p.Name)
		} else {
			ran = append(ran, p.String())
		}
	}
	// Skipped packages the scan did not see (a layout it does not know) are still reported.
	for name := range skipped {
		known := false
		for _, p := range have {
			known = known || p.Name == name || p.Name+"@"+p.Version == name
		}
		if !known {
			notRun = append(notRun, name)
			notRunNames = append(notRunNames, strings.Split(strings.TrimPrefix(name, "@"), "@")[0])
		}
	}
	if len(ran) == 0 && len(notRun) == 0 {
		return ""
	}
	sort.Strings(notRun)
	msg := fmt.Sprintf("Install scripts: %d dependencies have them", len(ran)+len(notRun))
	if len(ran) > 0 {
		msg += "; ran: " + strings.Join(ran, ", ")
	}
	if len(notRun) > 0 {
		msg += "; NOT run: " + strings.Join(notRun, ", ") + ". " + allowScriptsHint(pm, notRunNames)
	}
	return msg
}

// allowScriptsHint says how a project lets its package manager run the named dependencies'
// scripts.
func allowScriptsHint(pm string, names []string) string {
	sort.Strings(names)
	list := strings.Join(names, " ")
	switch pm {
	case detect.PNPM:
		return fmt.Sprintf("If the site needs them, allow them with `pnpm approve-builds` (onlyBuiltDependencies in pnpm-workspace.yaml or package.json), committed: %s", list)
	case detect.NPM:
		return fmt.Sprintf("If the site needs them, approve them in package.json's allowScripts (`npm install-scripts approve %s`, committed) or set the project variable npm_config_allow_scripts=%s", list, strings.Join(names, ","))
	}
	return "If the site needs them, allow them in the package manager's settings"
}
