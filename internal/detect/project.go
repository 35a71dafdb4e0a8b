package detect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// maxFileSize bounds every file detection reads: a package.json or config file larger than
// this is refused rather than read unbounded.
const maxFileSize = 1 << 20

// project is what providers look at: the repository, the project directory inside it, and its
// parsed package.json and package manager.
type project struct {
	repo fs.FS  // the whole repository
	root string // the project directory inside repo, "." for the repository root
	fsys fs.FS  // the project directory
	o    Overrides

	pkg *packageJSON // nil when the project has no package.json
	pm  pmInfo       // set when pkg is not nil
}

// packageJSON holds the fields of package.json that detection reads.
type packageJSON struct {
	Name            string
	Scripts         map[string]string
	Dependencies    map[string]string
	DevDependencies map[string]string
	EnginesNode     string
	PackageManager  string
	HasWorkspaces   bool
}

// parsePackageJSON reads a package.json strictly as JSON but leniently as to field types: a
// field of an unexpected type (e.g. "engines": "node") is ignored rather than fatal, as npm does.
func parsePackageJSON(name string, data []byte) (*packageJSON, error) {
	var raw map[string]json.RawMessage
	err := json.Unmarshal(data, &raw)
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te):
		return nil, &InvalidProjectError{File: name, Reason: "not a JSON object (found " + te.Value + ")", Err: err}
	case err != nil:
		return nil, &InvalidProjectError{File: name, Reason: "not valid JSON: " + jsonErrorText(data, err), Err: err}
	case raw == nil:
		return nil, &InvalidProjectError{File: name, Reason: "not a JSON object (found null)"}
	}
	p := &packageJSON{}
	field := func(key string, dst any) { _ = json.Unmarshal(raw[key], dst) }
	field("name", &p.Name)
	field("scripts", &p.Scripts)
	field("dependencies", &p.Dependencies)
	field("devDependencies", &p.DevDependencies)
	field("packageManager", &p.PackageManager)
	var engines map[string]any
	field("engines", &engines)
	if s, ok := engines["node"].(string); ok {
		p.EnginesNode = strings.TrimSpace(s)
	}
	_, p.HasWorkspaces = raw["workspaces"]
	return p, nil
}

// jsonErrorText describes a JSON syntax error with its line and column.
func jsonErrorText(data []byte, err error) string {
	var se *json.SyntaxError
	if !errors.As(err, &se) || se.Offset < 0 || se.Offset > int64(len(data)) {
		return err.Error()
	}
	off := se.Offset
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	return fmt.Sprintf("%v (line %d, column %d)", err, line, col)
}

// script returns the package.json script name, or "".
func (p *project) script(name string) string {
	if p.pkg == nil {
		return ""
	}
	return strings.TrimSpace(p.pkg.Scripts[name])
}

// hasDep reports whether any of names is a dependency or devDependency.
func (p *project) hasDep(names ...string) bool {
	for _, n := range names {
		if p.depVersion(n) != "" {
			return true
		}
	}
	return false
}

// depVersion returns the version range a dependency or devDependency asks for, or "".
func (p *project) depVersion(name string) string {
	if p.pkg == nil {
		return ""
	}
	if v, ok := p.pkg.Dependencies[name]; ok {
		return v
	}
	return p.pkg.DevDependencies[name]
}

var firstNumber = regexp.MustCompile(`\d+`)

// depMajor returns the first major version in a dependency's range ("^2.17.0" → 2), or -1.
func (p *project) depMajor(name string) int {
	n, err := strconv.Atoi(firstNumber.FindString(p.depVersion(name)))
	if err != nil {
		return -1
	}
	return n
}

// exists reports whether name exists in the project directory.
func (p *project) exists(name string) bool { return exists(p.fsys, name) }

// isDir reports whether name is a directory in the project directory.
func (p *project) isDir(name string) bool {
	fi, err := fs.Stat(p.fsys, name)
	return err == nil && fi.IsDir()
}

// firstExisting returns the first of names that exists in the project directory, or "".
func (p *project) firstExisting(names ...string) string {
	for _, n := range names {
		if p.exists(n) {
			return n
		}
	}
	return ""
}

// configFile returns the first existing base.{js,mjs,cjs,ts,mts,cts}, e.g. "vite.config.ts", or "".
func (p *project) configFile(base string) string {
	return p.firstExisting(configNames(base)...)
}

func configNames(base string) []string {
	exts := []string{".js", ".mjs", ".cjs", ".ts", ".mts", ".cts"}
	names := make([]string, len(exts))
	for i, e := range exts {
		names[i] = base + e
	}
	return names
}

// readText reads a project file, refusing files over maxFileSize.
func (p *project) readText(name string) (string, error) {
	b, err := readLimited(p.fsys, name, p.repoPath(name))
	return string(b), err
}

// repoPath is name (relative to the project directory) as a repository-relative path.
func (p *project) repoPath(name string) string { return path.Join(p.root, name) }

// exec is the command that runs a dependency's binary with the project's package manager.
func (p *project) exec(bin string) string { return execCommand(p.pm.name, bin) }

// buildCommand is `<pm> run build` when package.json has a build script, else the framework's
// own command run through the package manager.
func (p *project) buildCommand(defaultBin string) string {
	if p.script("build") != "" {
		return runCommand(p.pm.name, "build")
	}
	return p.exec(defaultBin)
}

// nodePlan starts a Node plan: framework, package manager, install command and Node version.
func (p *project) nodePlan(id, name string) Plan {
	pl := Plan{
		Kind:                  KindNode,
		Framework:             id,
		FrameworkName:         name,
		PackageManager:        p.pm.name,
		PackageManagerVersion: p.pm.version,
		Corepack:              p.pm.corepack,
		Lockfile:              p.pm.lockfile,
		InstallCommand:        installCommand(p.pm.name, p.pm.hasLock),
	}
	if p.pm.lockDir != "" && p.pm.lockDir != p.root {
		pl.WorkspaceRoot = p.pm.lockDir
		pl.Notes = append(pl.Notes, fmt.Sprintf("%s is in the workspace root (%s): the install covers the whole workspace, not only %s", path.Base(p.pm.lockfile), dirName(p.pm.lockDir), p.root))
	}
	pl.Notes = append(pl.Notes, p.pm.notes...)
	return pl
}

// readLimited reads name from fsys, refusing files larger than maxFileSize. display is the
// repository-relative name used in errors.
func readLimited(fsys fs.FS, name, display string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, &InvalidProjectError{File: display, Reason: "is a directory, not a file"}
	}
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFileSize {
		return nil, &InvalidProjectError{File: display, Reason: fmt.Sprintf("larger than %d KiB; refusing to read it", maxFileSize>>10)}
	}
	return b, nil
}

// readHead reads at most n bytes from the start of name, or nil if it cannot be read.
func readHead(fsys fs.FS, name string, n int64) []byte {
	f, err := fsys.Open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, n))
	return b
}

func exists(fsys fs.FS, name string) bool {
	_, err := fs.Stat(fsys, name)
	return err == nil
}

// configString finds `key: 'value'` (or "value" or `value`) in JavaScript/TypeScript config text
// and returns value, or "". It is a heuristic: values computed at run time are not seen.
func configString(text, key string) string {
	re := regexp.MustCompile(`(?m)(?:^|[\s,{])["']?` + regexp.QuoteMeta(key) + `["']?\s*:\s*["'` + "`" + `]([^"'` + "`" + `\n]*)["'` + "`" + `]`)
	if m := re.FindStringSubmatch(stripJSComments(text)); m != nil {
		return m[1]
	}
	return ""
}

// stripJSComments removes // line comments and /* */ block comments well enough for
// configString: it does not track strings, so a "//" inside a URL string ends that line early,
// which only matters for keys after it on the same line.
func stripJSComments(s string) string {
	s = jsBlockComment.ReplaceAllString(s, "")
	return jsLineComment.ReplaceAllString(s, "$1")
}

var (
	jsBlockComment = regexp.MustCompile(`(?s)/\*.*?\*/`)
	jsLineComment  = regexp.MustCompile(`(?m)(^|[^:"'])//.*$`)
)

// relDir cleans a directory taken from a config file and reports whether it stays inside the
// project (relative, no ".."). "." and "./" become "".
func relDir(dir string) (string, bool) {
	dir = strings.TrimSpace(dir)
	if dir == "" || path.IsAbs(dir) || strings.Contains(dir, `\`) {
		return "", false
	}
	c := path.Clean(dir)
	if c == "." {
		return "", true
	}
	for _, part := range strings.Split(c, "/") {
		if part == ".." {
			return "", false
		}
	}
	return c, true
}

// htmlFiles returns the .html files directly inside dir of fsys, sorted.
func htmlFiles(fsys fs.FS, dir string) []string {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && strings.EqualFold(path.Ext(e.Name()), ".html") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}
