package detect

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// Package managers, as reported in Plan.PackageManager.
const (
	NPM       = "npm"
	Yarn      = "yarn"       // Yarn classic (1.x)
	YarnBerry = "yarn-berry" // Yarn 2 and later
	PNPM      = "pnpm"
)

// lockfiles in the order they win when a directory holds several; bun's are recognised only to
// say that bun is not supported.
var lockfiles = []struct{ name, pm string }{
	{"pnpm-lock.yaml", PNPM},
	{"yarn.lock", Yarn},
	{"package-lock.json", NPM},
	{"npm-shrinkwrap.json", NPM},
	{"bun.lockb", "bun"},
	{"bun.lock", "bun"},
}

// pmInfo is the package manager a project installs with.
type pmInfo struct {
	name     string // NPM, Yarn, YarnBerry or PNPM
	version  string // pinned by packageManager, if any
	corepack bool
	lockfile string // repository-relative path, "" if none is used
	lockDir  string // repository-relative directory of lockfile
	hasLock  bool   // lockfile belongs to name, so a frozen install is possible
	notes    []string
}

// detectPackageManager decides the package manager of the project at root (a directory of repo,
// "." for the repository root). Like corepack, it walks up from root to the repository root for
// the nearest packageManager field, and like the package managers, for the nearest lockfile.
// The packageManager field wins over lockfiles.
func detectPackageManager(repo fs.FS, root string) (pmInfo, error) {
	var pm pmInfo
	field, fieldFile, err := packageManagerField(repo, root)
	if err != nil {
		return pm, err
	}
	lockDir, found := findLockfiles(repo, root)
	pm.lockDir = lockDir
	if len(found) > 1 {
		pm.notes = append(pm.notes, fmt.Sprintf("several lockfiles in %s (%s); using %s", dirName(lockDir), strings.Join(found, ", "), found[0]))
	}
	lockName, lockPM := "", ""
	if len(found) > 0 {
		lockName = found[0]
		for _, l := range lockfiles {
			if l.name == lockName {
				lockPM = l.pm
			}
		}
		if lockPM == Yarn && isYarnBerryLock(repo, lockDir) {
			lockPM = YarnBerry
		}
	}

	if field != "" {
		name, version, ok := parsePackageManagerField(field)
		switch {
		case ok:
			pm.name, pm.version, pm.corepack = name, version, true
			if lockPM != "" && !samePM(lockPM, name) {
				pm.notes = append(pm.notes, fmt.Sprintf("packageManager %q in %s wins over %s", field, fieldFile, lockName))
			}
		case name == "bun":
			pm.notes = append(pm.notes, fmt.Sprintf("packageManager %q in %s: bun is not supported; installing with npm instead", field, fieldFile))
		default:
			pm.notes = append(pm.notes, fmt.Sprintf("packageManager %q in %s is not one of npm, pnpm or yarn; ignoring it", field, fieldFile))
		}
	}
	if pm.name == "" {
		switch lockPM {
		case "":
			pm.name = NPM
			if yarnrc := path.Join(root, ".yarnrc.yml"); exists(repo, yarnrc) {
				pm.name = YarnBerry
			}
		case "bun":
			pm.name = NPM
			pm.notes = append(pm.notes, fmt.Sprintf("%s found: bun is not supported; installing with npm install instead (no npm lockfile, so versions may differ)", lockName))
		default:
			pm.name = lockPM
		}
	}
	if pm.name == PNPM || pm.name == YarnBerry {
		pm.corepack = true
	}
	if lockName != "" && samePM(lockPM, pm.name) {
		pm.lockfile = path.Join(lockDir, lockName)
		pm.hasLock = true
	} else {
		pm.lockDir = ""
		switch {
		case lockPM == "bun":
			// already said
		case lockName != "":
			pm.notes = append(pm.notes, fmt.Sprintf("%s is not %s's lockfile; installing without a lockfile, so dependency versions are resolved afresh", lockName, pm.name))
		default:
			pm.notes = append(pm.notes, "no lockfile; dependency versions are resolved afresh on every build")
		}
	}
	return pm, nil
}

// packageManagerField returns the nearest packageManager field walking up from root, and the
// repository-relative package.json that holds it.
func packageManagerField(repo fs.FS, root string) (field, file string, err error) {
	for _, dir := range ancestors(root) {
		name := path.Join(dir, "package.json")
		b, err := readLimited(repo, name, name)
		if err != nil {
			if isNotExist(err) {
				continue
			}
			return "", "", err
		}
		pkg, err := parsePackageJSON(name, b)
		if err != nil {
			return "", "", err
		}
		if f := strings.TrimSpace(pkg.PackageManager); f != "" {
			return f, name, nil
		}
	}
	return "", "", nil
}

// findLockfiles returns the nearest directory (walking up from root) that holds a lockfile, and
// the lockfiles there in the order they win.
func findLockfiles(repo fs.FS, root string) (string, []string) {
	for _, dir := range ancestors(root) {
		var found []string
		for _, l := range lockfiles {
			if exists(repo, path.Join(dir, l.name)) {
				found = append(found, l.name)
			}
		}
		if len(found) > 0 {
			return dir, found
		}
	}
	return "", nil
}

// isYarnBerryLock reports whether the yarn.lock in dir was written by Yarn 2+: it has a
// __metadata entry near the top, or a .yarnrc.yml sits beside it.
func isYarnBerryLock(repo fs.FS, dir string) bool {
	if exists(repo, path.Join(dir, ".yarnrc.yml")) {
		return true
	}
	head := readHead(repo, path.Join(dir, "yarn.lock"), 4096)
	return bytes.Contains(head, []byte("\n__metadata:")) || bytes.HasPrefix(head, []byte("__metadata:"))
}

// parsePackageManagerField parses corepack's "name@version[+hash]", e.g. "pnpm@9.1.0" or
// "yarn@4.1.1+sha512.…". Yarn 2 and later is reported as YarnBerry. ok is false for package
// managers SkyDeploy does not install with (name is still returned, e.g. "bun").
func parsePackageManagerField(field string) (name, version string, ok bool) {
	name, version, _ = strings.Cut(strings.TrimSpace(field), "@")
	version, _, _ = strings.Cut(version, "+")
	switch name {
	case NPM, PNPM:
		return name, version, true
	case "yarn":
		if v, ok := parseVersion(version); ok && v[0] >= 2 {
			return YarnBerry, version, true
		}
		return Yarn, version, true
	}
	return name, version, false
}

// samePM reports whether a lockfile written by lockPM serves pm (yarn classic and berry share
// yarn.lock, and berry migrates a classic lockfile).
func samePM(lockPM, pm string) bool {
	if lockPM == pm {
		return true
	}
	return (lockPM == Yarn || lockPM == YarnBerry) && (pm == Yarn || pm == YarnBerry)
}

// installCommand is the install for pm: frozen to the lockfile when there is one.
func installCommand(pm string, hasLock bool) string {
	switch pm {
	case Yarn:
		if hasLock {
			return "yarn install --frozen-lockfile"
		}
		return "yarn install"
	case YarnBerry:
		if hasLock {
			return "yarn install --immutable"
		}
		return "yarn install"
	case PNPM:
		if hasLock {
			return "pnpm install --frozen-lockfile"
		}
		return "pnpm install"
	}
	if hasLock {
		return "npm ci"
	}
	return "npm install"
}

// runCommand runs a package.json script.
func runCommand(pm, script string) string { return pmBinary(pm) + " run " + script }

// execCommand runs an installed dependency's binary with its arguments, e.g. "vite build".
func execCommand(pm, bin string) string {
	switch pm {
	case Yarn, YarnBerry:
		return "yarn " + bin
	case PNPM:
		return "pnpm exec " + bin
	}
	return "npx --no " + bin
}

func pmBinary(pm string) string {
	if pm == YarnBerry {
		return "yarn"
	}
	return pm
}

// ancestors lists dir and each parent up to the repository root ".", nearest first.
func ancestors(dir string) []string {
	dir = path.Clean(dir)
	out := []string{dir}
	for dir != "." {
		dir = path.Dir(dir)
		out = append(out, dir)
	}
	return out
}

func dirName(dir string) string {
	if dir == "." || dir == "" {
		return "the repository root"
	}
	return dir
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
