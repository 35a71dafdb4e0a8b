package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/skydeploy/skydeploy/internal/buildcache"
	"github.com/skydeploy/skydeploy/internal/bytesize"
	"github.com/skydeploy/skydeploy/internal/detect"
	"github.com/skydeploy/skydeploy/internal/repourl"
	"github.com/skydeploy/skydeploy/internal/sandbox"
	"github.com/skydeploy/skydeploy/internal/storage"
)

// Build cache
//
// What: two archives per scope.
//   - deps: the installed dependencies (node_modules of the project and, in a monorepo, of the
//     workspace root; Yarn Berry's .yarn/cache), keyed by the exact lockfile, the package.json
//     files, the package manager, the Node major and the machine. On an exact hit with npm's
//     default `npm ci`, the install is skipped (the restored tree is what it would produce) and
//     the downloads are not restored at all; other installs run over it. Without a lockfile the
//     key is the package.json files alone: the install runs over the restored tree and brings
//     it up to date within package.json's ranges, as on a developer's machine (npm's hidden
//     lockfile in node_modules spares it most registry look-ups), instead of resolving every
//     version afresh.
//   - downloads: the package manager's own download cache (npm's ~/.npm, yarn's cache,
//     pnpm's store, corepack's package-manager downloads), keyed without the lockfile, so an
//     install without a lockfile, or after the lockfile changed, reuses what was downloaded.
//
// When: both are restored before the install and saved right after it, BEFORE any build code
// runs: the build step's own scripts can never change what the next build restores. The
// downloads archive is saved only when the install added something to it.
//
// Trust: a cache carries the trust of whoever wrote it (scope). Production builds of a project
// (its production branch, as its settings say, not as the workflow claims) read and write
// "<project>/production". A preview reads its own branch's scope "<project>/preview-<hash>",
// then production's, and writes only its own. Deployments without a project use
// "_repo-<hash of the repository URL>" ("_" cannot start a project name). Caches are never
// shared across projects.
//
// Where: first this worker's disk (WorkDir/cache/<scope>/<kind>/<key>.tar.gz, least recently
// used archives evicted past LocalCacheBytes), then object storage (storage.CacheKey), which
// any build worker can read; the newest few archives of a scope and kind are kept there.
// Restore treats an archive as hostile (package buildcache), and any cache problem only costs
// a cold install: it never fails a build.

// remoteCachesKept is how many archives of one scope and kind stay in object storage
// (different lockfiles of different branches).
const remoteCachesKept = 3

// cacheScopes are the scopes a build reads (in order) and the one it writes.
type cacheScopes struct {
	read  []string
	write string
}

// scopesFor returns the cache scopes of a build: by project and trust tier, or by repository.
func scopesFor(project, branch, repoURL string, production bool) cacheScopes {
	if project == "" {
		if repoURL == "" {
			return cacheScopes{}
		}
		sum := sha256.Sum256([]byte(repourl.Canonical(repoURL)))
		s := "_repo-" + hex.EncodeToString(sum[:16])
		return cacheScopes{read: []string{s}, write: s}
	}
	prod := project + "/production"
	if production {
		return cacheScopes{read: []string{prod}, write: prod}
	}
	sum := sha256.Sum256([]byte(branch))
	preview := project + "/preview-" + hex.EncodeToString(sum[:8])
	return cacheScopes{read: []string{preview, prod}, write: preview}
}

// cacheDirs lists the workspace-relative directories of each kind of archive for a plan.
func cacheDirs(p detect.Plan) (deps, downloads []string) {
	root := projectDir(p)
	lockDir := root
	if p.WorkspaceRoot != "" {
		lockDir = strings.Trim(p.WorkspaceRoot, "/")
		if lockDir == "." {
			lockDir = ""
		}
	}
	join := func(dir, name string) string {
		if dir == "" {
			return name
		}
		return path.Join(dir, name)
	}
	deps = []string{join(root, "node_modules")}
	if lockDir != root {
		deps = append(deps, join(lockDir, "node_modules"))
	}
	switch p.PackageManager {
	case detect.NPM:
		downloads = []string{sandbox.NpmCacheDir}
	case detect.PNPM:
		downloads = []string{sandbox.PnpmStoreDir}
	case detect.Yarn:
		downloads = []string{sandbox.YarnCacheDir}
	case detect.YarnBerry:
		deps = append(deps, join(lockDir, ".yarn/cache"))
		downloads = []string{sandbox.YarnBerryCache, sandbox.YarnCacheDir}
	}
	if p.Corepack && p.PackageManager != detect.NPM {
		downloads = append(downloads, sandbox.CorepackHomeDir)
	}
	return deps, downloads
}

// nodeMajor parses "v20.11.1" into 20.
func nodeMajor(v string) int {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	maj, _, _ := strings.Cut(v, ".")
	n, _ := strconv.Atoi(maj)
	return n
}

// buildCache is the cache of one build: its archives and where they are.
type buildCache struct {
	b         *build
	scopes    cacheScopes
	deps      *cacheArchive // nil: not cached (no lockfile)
	downloads *cacheArchive
	// downloadsBefore fingerprints the download cache after restore, to save it only when the
	// install added to it.
	downloadsBefore string
}

// cacheArchive is one kind of archive of a build: its key per scope and directories.
type cacheArchive struct {
	kind string
	dirs []string
	keys map[string]string // scope -> key
	hit  bool
}

func (c *cacheArchive) local(a *Activities, scope string) string {
	return filepath.Join(a.cacheDir(), filepath.FromSlash(scope), c.kind, c.keys[scope]+".tar.gz")
}

func (c *cacheArchive) remote(scope string) string {
	return storage.CacheKey(scope+"/"+c.kind, c.keys[scope])
}

// cachePlan decides whether and under which keys this build is cached.
func (b *build) cachePlan(ctx context.Context, production bool) *buildCache {
	c := &buildCache{b: b}
	p := b.in.Plan
	switch {
	case b.a.Settings.Build.CacheBytes <= 0:
		b.log.Printf("Build cache: disabled (SKYDEPLOY_BUILD_CACHE_BYTES)")
		return c
	case p.InstallCommand == "" || p.PackageManager == "":
		return c
	}
	c.scopes = scopesFor(b.in.Project, b.in.Branch, b.in.RepoURL, production)
	if c.scopes.write == "" {
		return c
	}
	major := nodeMajor(nodeVersion(ctx))
	depDirs, dlDirs := cacheDirs(p)
	key := func(kind string, lock []byte, manifests [][]byte) map[string]string {
		keys := map[string]string{}
		for _, s := range c.scopes.read {
			keys[s] = buildcache.Key(buildcache.KeyInput{Scope: s, Kind: kind, PackageManager: p.PackageManager,
				Lockfile: lock, Manifests: manifests, NodeMajor: major})
		}
		return keys
	}
	if len(dlDirs) > 0 {
		c.downloads = &cacheArchive{kind: buildcache.KindDownloads, dirs: dlDirs, keys: key(buildcache.KindDownloads, nil, nil)}
	}
	var lock []byte
	if p.Lockfile == "" {
		b.log.Printf("Build cache: no lockfile: the installed dependencies are kept by package.json, and the install brings them up to date within its version ranges")
	} else {
		var err error
		if lock, err = readInRoot(b.ws, p.Lockfile, 256<<20); err != nil {
			b.log.Printf("Build cache: installed dependencies not cached (cannot read the lockfile %s: %v)", p.Lockfile, err)
			return c
		}
	}
	var manifests [][]byte
	for _, d := range manifestDirs(p) {
		m, err := readInRoot(b.ws, path.Join(d, "package.json"), 16<<20)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			b.log.Printf("Build cache: installed dependencies not cached (cannot read %s: %v)", path.Join(d, "package.json"), err)
			return c
		}
		manifests = append(manifests, m)
	}
	c.deps = &cacheArchive{kind: buildcache.KindDeps, dirs: depDirs, keys: key(buildcache.KindDeps, lock, manifests)}
	return c
}

// manifestDirs are the directories whose package.json the install reads.
func manifestDirs(p detect.Plan) []string {
	dirs := []string{projectDir(p)}
	if ws := strings.Trim(p.WorkspaceRoot, "/"); ws != "" && ws != "." && ws != dirs[0] {
		dirs = append(dirs, ws)
	}
	for i, d := range dirs {
		if d == "" {
			dirs[i] = "."
		}
	}
	return dirs
}

func (a *Activities) cacheDir() string { return filepath.Join(a.Settings.WorkDir, "cache") }

func (c *buildCache) limits() buildcache.Limits {
	l := c.b.a.sandboxLimits()
	return buildcache.Limits{MaxArchiveBytes: c.b.a.Settings.Build.CacheBytes, MaxBytes: l.MaxWorkspaceBytes, MaxFiles: l.MaxFiles}
}

// describeScope names a scope for the log.
func describeScope(scope string) string {
	_, tier, ok := strings.Cut(scope, "/")
	switch {
	case !ok:
		return "this repository's cache"
	case tier == "production":
		return "production's cache"
	}
	return "this branch's cache"
}

// restore restores the downloads, then the installed dependencies, and reports whether the
// dependencies were an exact hit.
func (c *buildCache) restore(ctx context.Context) bool {
	hit := c.deps != nil && c.restoreArchive(ctx, c.deps)
	// On an exact hit whose install is skipped, the downloads would be restored for nothing.
	if c.downloads != nil && !(hit && installCommand(c.b.in.Plan, true) == "") {
		c.restoreArchive(ctx, c.downloads)
		c.downloadsBefore = buildcache.Fingerprint(c.b.ws, c.downloads.dirs)
	}
	return hit
}

func (c *buildCache) restoreArchive(ctx context.Context, ar *cacheArchive) bool {
	log := c.b.log
	what := "Installed dependencies"
	if ar.kind == buildcache.KindDownloads {
		what = "Package downloads"
	}
	for _, scope := range c.scopes.read {
		short := ar.keys[scope][:12]
		if st, ok := c.restoreLocal(ar, scope); ok {
			ar.hit = true
			log.Printf("Build cache: %s restored from %s on this worker (key %s): %d files, %s", what, describeScope(scope), short, st.Files, bytesize.Format(st.Bytes))
			return true
		}
		st, found, err := c.restoreRemote(ctx, ar, scope)
		switch {
		case err != nil:
			log.Printf("Build cache: %s from %s unusable (%v)", strings.ToLower(what), describeScope(scope), err)
		case found:
			ar.hit = true
			log.Printf("Build cache: %s restored from %s in object storage (key %s): %d files, %s", what, describeScope(scope), short, st.Files, bytesize.Format(st.Bytes))
			return true
		}
	}
	log.Printf("Build cache: %s not cached yet", strings.ToLower(what))
	return false
}

func (c *buildCache) restoreLocal(ar *cacheArchive, scope string) (buildcache.Stats, bool) {
	local := ar.local(c.b.a, scope)
	f, err := os.Open(local)
	if err != nil {
		return buildcache.Stats{}, false
	}
	st, err := buildcache.Restore(c.b.ws, ar.dirs, f, c.limits())
	f.Close()
	if err != nil {
		c.b.log.Printf("Build cache on this worker is unusable, removing it: %v", err)
		_ = os.Remove(local)
		return st, false
	}
	now := time.Now()
	_ = os.Chtimes(local, now, now)
	return st, true
}

func (c *buildCache) restoreRemote(ctx context.Context, ar *cacheArchive, scope string) (buildcache.Stats, bool, error) {
	var st buildcache.Stats
	body, size, err := c.b.a.Store.Get(ctx, ar.remote(scope))
	if errors.Is(err, storage.ErrNotFound) {
		return st, false, nil
	}
	if err != nil {
		return st, false, err
	}
	defer body.Close()
	if limit := c.b.a.Settings.Build.CacheBytes; size > limit {
		return st, false, fmt.Errorf("larger than the limit (%s > %s)", bytesize.Format(size), bytesize.Format(limit))
	}
	tmp, err := c.tempFile()
	if err != nil {
		return st, false, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if _, err := io.Copy(tmp, io.LimitReader(body, c.b.a.Settings.Build.CacheBytes+1)); err != nil {
		return st, false, fmt.Errorf("download: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return st, false, err
	}
	st, err = buildcache.Restore(c.b.ws, ar.dirs, tmp, c.limits())
	if err != nil {
		return st, false, err
	}
	if err := c.keepLocal(ar, scope, tmp.Name()); err != nil {
		c.b.a.logger().Warn("keep build cache on disk", "error", err)
	}
	return st, true, nil
}

// installEnv is what the install runs with because of the cache: with the package manager's
// downloads restored, npm and pnpm take package documents and tarballs from them without asking
// the registry again (prefer-offline; anything missing is still fetched).
func (c *buildCache) installEnv() map[string]string {
	if c.downloads == nil || !c.downloads.hit {
		return nil
	}
	return map[string]string{"npm_config_prefer_offline": "true"}
}

// saveAfterInstall saves, into the build's own scope, the installed dependencies when they
// were not an exact hit and the downloads when the install added to them. It runs between
// install and build.
func (c *buildCache) saveAfterInstall(ctx context.Context) {
	if c.deps != nil && !c.deps.hit {
		c.save(ctx, c.deps)
	}
	// Over restored dependencies, the install adds little to the downloads (package documents
	// it looked at again); they are saved when they made a fresh install faster.
	if c.downloads != nil && (c.deps == nil || !c.deps.hit) {
		if now := buildcache.Fingerprint(c.b.ws, c.downloads.dirs); now != c.downloadsBefore {
			c.save(ctx, c.downloads)
		}
	}
}

// save packs one archive and stores it locally and in object storage.
func (c *buildCache) save(ctx context.Context, ar *cacheArchive) {
	log := c.b.log
	scope := c.scopes.write
	what := "installed dependencies"
	if ar.kind == buildcache.KindDownloads {
		what = "package downloads"
	}
	tmp, err := c.tempFile()
	if err != nil {
		log.Printf("Build cache: %s not saved: %v", what, err)
		return
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	st, err := buildcache.Pack(c.b.ws, ar.dirs, tmp, c.limits())
	var tooLarge *buildcache.TooLargeError
	switch {
	case errors.As(err, &tooLarge):
		log.Printf("Build cache: %s not saved, too large to cache (%s exceeds %s, SKYDEPLOY_BUILD_CACHE_BYTES)", what, tooLarge.What, bytesize.Format(tooLarge.Limit))
		return
	case err != nil:
		log.Printf("Build cache: %s not saved: %v", what, err)
		return
	case st.Files == 0:
		return
	}
	size, err := tmp.Seek(0, io.SeekEnd)
	if err != nil {
		return
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return
	}
	if err := c.b.a.Store.PutReader(ctx, ar.remote(scope), tmp, size, storage.PutOptions{ContentType: "application/gzip"}); err != nil {
		log.Printf("Build cache: %s not uploaded (%v); kept on this worker only", what, err)
	} else {
		c.pruneRemote(ctx, ar, scope)
	}
	tmp.Close()
	if err := c.keepLocal(ar, scope, tmp.Name()); err != nil {
		c.b.a.logger().Warn("keep build cache on disk", "error", err)
	}
	log.Printf("Build cache: %s saved to %s (key %s): %d files, %s (%s compressed)", what, describeScope(scope), ar.keys[scope][:12], st.Files, bytesize.Format(st.Bytes), bytesize.Format(size))
}

func (c *buildCache) tempFile() (*os.File, error) {
	dir := filepath.Join(c.b.a.cacheDir(), "tmp")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cache dir: %w", err)
	}
	return os.CreateTemp(dir, "cache-*.tar.gz")
}

// keepLocal moves a finished archive into the local cache (atomically) and evicts what is
// over the local bound: other archives of the scope and kind first, then the least recently
// used.
func (c *buildCache) keepLocal(ar *cacheArchive, scope, tmpPath string) error {
	local := ar.local(c.b.a, scope)
	dir := filepath.Dir(local)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Rename(tmpPath, local); err != nil {
		return err
	}
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			if e.Name() != filepath.Base(local) {
				_ = os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	}
	limit := c.b.a.Settings.Build.LocalCacheBytes
	if limit <= 0 {
		limit = 8 * c.b.a.Settings.Build.CacheBytes
	}
	evictLocal(c.b.a.cacheDir(), limit, local)
	return nil
}

// evictLocal removes the least recently used archives under dir until they fit in limit.
func evictLocal(dir string, limit int64, keep string) {
	type entry struct {
		path string
		size int64
		used time.Time
	}
	var all []entry
	var total int64
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".tar.gz") || filepath.Base(filepath.Dir(p)) == "tmp" {
			return nil
		}
		if info, err := d.Info(); err == nil {
			all = append(all, entry{p, info.Size(), info.ModTime()})
			total += info.Size()
		}
		return nil
	})
	sort.Slice(all, func(i, j int) bool { return all[i].used.Before(all[j].used) })
	for _, e := range all {
		if total <= limit {
			return
		}
		if e.path == keep {
			continue
		}
		if os.Remove(e.path) == nil {
			total -= e.size
			_ = os.Remove(filepath.Dir(e.path)) // the kind's directory, once empty
		}
	}
}

// pruneRemote keeps the newest archives of the scope and kind in object storage.
func (c *buildCache) pruneRemote(ctx context.Context, ar *cacheArchive, scope string) {
	prefix := strings.TrimSuffix(storage.CacheKey(scope+"/"+ar.kind, ""), ".tar.gz")
	objs, err := c.b.a.Store.List(ctx, prefix)
	if err != nil || len(objs) <= remoteCachesKept {
		return
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].LastModified.After(objs[j].LastModified) })
	others := 0
	current := ar.remote(scope)
	for _, o := range objs {
		if o.Key == current {
			continue
		}
		if others++; others >= remoteCachesKept {
			_ = c.b.a.Store.Delete(ctx, o.Key)
		}
	}
}

// readInRoot reads a workspace-relative file without following links out of the workspace.
func readInRoot(dir, rel string, limit int64) ([]byte, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %s", bytesize.Format(limit))
	}
	return data, nil
}
