package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/testenv"
)

// Making a starter: its generator, run on the host from the npm registry at a pinned version,
// then the few edits its framework's documentation asks for before a static deployment, then
// the file list git would commit (the generator's own .gitignore decides: node_modules, build
// output and caches stay out). The tree is kept in <repository>/.cache/starters/<name>-<hash of
// the recipe>/ (git-ignored by a .gitignore the cache writes itself), so a second run skips the
// generators; a clean machine makes every tree afresh. Deleting the directory, or changing a
// recipe, makes it again.

// projectDir is the directory every generator is asked to create in the work directory.
const projectDir = "starter"

// materialiseTimeout bounds one generator or npm command.
const materialiseTimeout = 15 * time.Minute

// op is one step of a recipe: a command, or an edit of a file the generator wrote.
type op struct {
	inProject bool     // run the command in the project instead of the work directory
	args      []string // a command; empty for an edit
	file      string   // the edited file, relative to the project
	old, new  string   // replace old (which must be there) by new; old "" writes new as the file
	remove    bool     // remove file if it exists
}

// gen runs a generator in the work directory, where it creates projectDir.
func gen(args ...string) op { return op{args: args} }

// inProject runs a command in the project (npm install --package-lock-only, hugo new ...).
func inProject(args ...string) op { return op{inProject: true, args: args} }

// replace swaps text the generator wrote; materialising fails when old is not there, so a new
// template that no longer matches the recipe is noticed instead of deployed unchanged.
func replace(file, old, new string) op { return op{file: file, old: old, new: new} }

// write creates or overwrites a file of the project.
func write(file, content string) op { return op{file: file, new: content} }

// remove deletes a file of the project if it exists.
func remove(file string) op { return op{file: file, remove: true} }

func (o op) String() string {
	switch {
	case len(o.args) > 0:
		return fmt.Sprintf("run(project=%t, %q)", o.inProject, o.args)
	case o.remove:
		return fmt.Sprintf("remove(%q)", o.file)
	}
	return fmt.Sprintf("edit(%q, %q, %q)", o.file, o.old, o.new)
}

// recipeKey names a starter's tree in the cache: it changes with every command and edit of the
// recipe and of the recipe it starts from.
func recipeKey(s starter) string {
	h := sha256.New()
	for c := &s; c != nil; c = findStarter(c.from) {
		fmt.Fprintf(h, "%s\n", c.name)
		for _, o := range c.recipe {
			fmt.Fprintf(h, "%s\n", o)
		}
	}
	return s.name + "-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// startersCache is the directory of materialised trees, git-ignored by its own .gitignore.
func startersCache(t *testing.T) string {
	t.Helper()
	root := filepath.Join(testenv.RepoRoot(t), ".cache")
	dir := filepath.Join(root, "starters")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ignore := filepath.Join(root, ".gitignore")
	if _, err := os.Stat(ignore); err != nil {
		if err := os.WriteFile(ignore, []byte("# made by e2e/starters_make_test.go: materialised starters, not sources\n*\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// materialise returns the files of a starter as git would commit them (path -> content), from
// the cache or made now.
func materialise(t *testing.T, s starter) map[string]string {
	t.Helper()
	cache := startersCache(t)
	final := filepath.Join(cache, recipeKey(s))
	if _, err := os.Stat(filepath.Join(final, ".complete")); err == nil {
		files := testenv.ReadTree(t, filepath.Join(final, "tree"))
		t.Logf("%s: %d files from %s", s.name, len(files), final)
		return files
	}
	t0 := time.Now()
	work, err := os.MkdirTemp(cache, ".make-"+s.name+"-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(work)
	env := materialiseEnv(t, work)
	project := filepath.Join(work, projectDir)
	if s.from != "" {
		base := findStarter(s.from)
		for p, content := range materialise(t, *base) {
			writeFile(t, filepath.Join(project, filepath.FromSlash(p)), content)
		}
	}
	for _, o := range s.recipe {
		applyOp(t, work, project, env, o)
	}
	files := committedFiles(t, project)
	tree := filepath.Join(work, "tree")
	for p, content := range files {
		writeFile(t, filepath.Join(tree, filepath.FromSlash(p)), content)
	}
	if err := os.WriteFile(filepath.Join(work, ".complete"), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.RemoveAll(filepath.Join(work, projectDir))
	_ = os.RemoveAll(filepath.Join(work, "npm-cache"))
	_ = os.RemoveAll(final)
	if err := os.Rename(work, final); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: made %d files in %s", s.name, len(files), time.Since(t0).Round(time.Second))
	return files
}

// materialiseEnv is the environment of the generators: the host's, without its npm settings
// (a user's ~/.npmrc may refuse npx's prompt or drop download addresses from lockfiles), with
// a fresh npm cache and no telemetry.
func materialiseEnv(t *testing.T, work string) []string {
	t.Helper()
	npmrc := filepath.Join(work, "npmrc")
	if err := os.WriteFile(npmrc, []byte("fund=false\naudit=false\nupdate-notifier=false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(strings.ToLower(k), "npm_config_") || k == "CI" {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"npm_config_userconfig="+npmrc,
		"npm_config_cache="+filepath.Join(work, "npm-cache"),
		"npm_config_yes=true",
		"NEXT_TELEMETRY_DISABLED=1", "NG_CLI_ANALYTICS=false", "ASTRO_TELEMETRY_DISABLED=1",
		"GIT_AUTHOR_NAME=Dev Eloper", "GIT_AUTHOR_EMAIL=dev@example.com",
		"GIT_COMMITTER_NAME=Dev Eloper", "GIT_COMMITTER_EMAIL=dev@example.com",
	)
}

func applyOp(t *testing.T, work, project string, env []string, o op) {
	t.Helper()
	target := filepath.Join(project, filepath.FromSlash(o.file))
	switch {
	case len(o.args) > 0:
		dir := work
		if o.inProject {
			dir = project
		}
		runLogged(t, dir, env, o.args...)
	case o.remove:
		if err := os.Remove(target); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	case o.old == "":
		writeFile(t, target, o.new)
	default:
		data, err := os.ReadFile(target)
		if err != nil {
			t.Fatalf("recipe edits %s: %v", o.file, err)
		}
		if !bytes.Contains(data, []byte(o.old)) {
			t.Fatalf("recipe edits %s, but the generator no longer writes %q there:\n%s", o.file, o.old, data)
		}
		writeFile(t, target, strings.Replace(string(data), o.old, o.new, 1))
	}
}

// runLogged runs a command and fails the test with the end of its output.
func runLogged(t *testing.T, dir string, env []string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), materialiseTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s (in %s): %v\n%s", strings.Join(args, " "), dir, err, tail(out.String(), 60))
	}
	t.Logf("  %s: %s", strings.Join(args, " "), time.Since(t0).Round(100*time.Millisecond))
}

// committedFiles lists the project's files that `git add -A` takes, and reads them.
func committedFiles(t *testing.T, project string) map[string]string {
	t.Helper()
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = project
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %s in %s: %v", strings.Join(args, " "), project, err)
		}
		return string(out)
	}
	if _, err := os.Stat(filepath.Join(project, ".git")); err != nil {
		git("init", "-q")
	}
	git("add", "-A")
	files := map[string]string{}
	for _, p := range strings.Split(git("ls-files", "-z"), "\x00") {
		if p == "" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(project, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		files[p] = string(data)
	}
	if len(files) == 0 {
		t.Fatalf("the generator left no files in %s", project)
	}
	return files
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
