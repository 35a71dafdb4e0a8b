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
	"github.com/skydeploy/skydeploy/internal/detect"
	"github.com/skydeploy/skydeploy/internal/storage"
)

// Build cache
//
// What: the installed dependencies (node_modules of the project and, in a monorepo, of the
// workspace root) and the package manager's download cache where it pays (pnpm's store, yarn's
// cache, corepack's package-manager downloads). For npm only node_modules is kept: measured on
// the Vite fixture, `npm install --prefer-offline` over a restored node_modules takes ~0.5 s
// where `npm ci` over a restored ~/.npm takes ~1.5 s (npm ci deletes node_modules first), and
// the archive is half the size. On an exact hit the default `npm ci` is skipped altogether (the
// restored node_modules is what it would produce); a project's own install command is run
// unchanged.
//
// Key: buildcache.Key(scope, package manager, lockfile content, node major, arch). The scope is
// the project name, or for a deployment without a project "_repo-" + a hash of its repository URL
// ("_" cannot start a project name, so a project can never read or poison a repository's
// cache). Caches are never shared across projects. A project without a lockfile gets no cache:
// its dependency versions are resolved afresh on every build anyway, and a restored tree would
// hide that.
//
// Where: first this worker's disk (WorkDir/cache/<scope>/<key>.tar.gz, least recently used
// archives evicted past LocalCacheBytes), then object storage (storage.CacheKey(scope, key)),
// which any build worker can read. An archive is saved after a successful build only when the
// key missed, to both places, unless it exceeds CacheBytes; the newest few archives of a scope
// are kept in storage. Restore treats the archive as hostile (package buildcache) and any cache
// problem only costs a cold install: it never fails a build.

// remoteCachesKept is how many archives of one scope stay in object storage (different
// lockfiles of different branches).
const remoteCachesKept = 3

// buildCache is the cache of one build.
type buildCache struct {
	b       *build
	enabled bool
	scope   string
	key     string
	dirs    []string // workspace-relative directories cached
	local   string   // path of the local archive
	remote  string   // object key
}

// cacheScope is what a cache belongs to: the project, or the repository of a deployment without
// one; "" when neither is known.
func cacheScope(project, repoURL string) string {
	if project != "" {
		return project
	}
	if repoURL == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSuffix(strings.TrimSpace(repoURL), ".git"))))
	return "_repo-" + hex.EncodeToString(sum[:16])
}

// cacheDirs lists the workspace-relative directories worth caching for a plan.
func cacheDirs(p detect.Plan) []string {
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
	seen := map[string]bool{}
	var dirs []string
	add := func(d string) {
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	add(join(root, "node_modules"))
	if lockDir != root {
		add(join(lockDir, "node_modules"))
	}
	home := buildcache.HomeDir
	switch p.PackageManager {
	case detect.PNPM:
		add(home + "/.pnpm-store")
	case detect.Yarn:
		add(home + "/.yarn-cache")
	case detect.YarnBerry:
		add(join(lockDir, ".yarn/cache"))
		add(home + "/.yarn/berry/cache")
		add(home + "/.yarn-cache")
	}
	if p.Corepack && p.PackageManager != detect.NPM {
		add(home + "/.cache/node/corepack")
	}
	return dirs
}

// nodeMajor parses "v20.11.1" into 20.
func nodeMajor(v string) int {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	maj, _, _ := strings.Cut(v, ".")
	n, _ := strconv.Atoi(maj)
	return n
}

// cachePlan decides whether and under which key this build is cached.
func (b *build) cachePlan(ctx context.Context) *buildCache {
	c := &buildCache{b: b}
	p := b.in.Plan
	switch {
	case b.a.Settings.Build.CacheBytes <= 0:
		b.log.Printf("Build cache: disabled (SKYDEPLOY_BUILD_CACHE_BYTES)")
		return c
	case p.InstallCommand == "" || p.PackageManager == "":
		return c
	case p.Lockfile == "":
		b.log.Printf("Build cache: none without a lockfile (dependency versions are resolved afresh)")
		return c
	}
	c.scope = cacheScope(b.in.Project, b.in.RepoURL)
	if c.scope == "" {
		b.log.Printf("Build cache: none (the deployment belongs to no project)")
		return c
	}
	lock, err := readInRoot(b.ws, p.Lockfile, 256<<20)
	if err != nil {
		b.log.Printf("Build cache: none (cannot read the lockfile %s: %v)", p.Lockfile, err)
		return c
	}
	c.key = buildcache.Key(buildcache.KeyInput{
		Project: c.scope, PackageManager: p.PackageManager, Lockfile: lock, NodeMajor: nodeMajor(nodeVersion(ctx)),
	})
	c.dirs = cacheDirs(p)
	c.local = filepath.Join(b.a.cacheDir(), c.scope, c.key+".tar.gz")
	c.remote = storage.CacheKey(c.scope, c.key)
	c.enabled = true
	return c
}

func (a *Activities) cacheDir() string { return filepath.Join(a.Settings.WorkDir, "cache") }

func (c *buildCache) limits() buildcache.Limits {
	l := c.b.a.sandboxLimits()
	return buildcache.Limits{MaxArchiveBytes: c.b.a.Settings.Build.CacheBytes, MaxBytes: l.MaxWorkspaceBytes, MaxFiles: l.MaxFiles}
}

// restore restores the cache into the workspace and reports a hit.
func (c *buildCache) restore(ctx context.Context) bool {
	if !c.enabled {
		return false
	}
	log := c.b.log
	short := c.key[:12]
	if f, err := os.Open(c.local); err == nil {
		st, err := buildcache.Restore(c.b.ws, c.dirs, f, c.limits())
		f.Close()
		if err == nil {
			now := time.Now()
			_ = os.Chtimes(c.local, now, now)
			log.Printf("Build cache hit on this worker (key %s): %d files, %s restored", short, st.Files, humanBytes(st.Bytes))
			return true
		}
		log.Printf("Build cache on this worker is unusable, removing it: %v", err)
		_ = os.Remove(c.local)
	}

	body, size, err := c.b.a.Store.Get(ctx, c.remote)
	if errors.Is(err, storage.ErrNotFound) {
		log.Printf("Build cache miss (key %s): installing from scratch", short)
		return false
	}
	if err != nil {
		log.Printf("Build cache unavailable (%v): installing from scratch", err)
		return false
	}
	defer body.Close()
	if limit := c.b.a.Settings.Build.CacheBytes; size > limit {
		log.Printf("Build cache in storage is larger than the limit (%s > %s): installing from scratch", humanBytes(size), humanBytes(limit))
		return false
	}
	tmp, err := c.tempFile()
	if err != nil {
		log.Printf("Build cache: %v", err)
		return false
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if _, err := io.Copy(tmp, io.LimitReader(body, c.b.a.Settings.Build.CacheBytes+1)); err != nil {
		log.Printf("Build cache download failed (%v): installing from scratch", err)
		return false
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return false
	}
	st, err := buildcache.Restore(c.b.ws, c.dirs, tmp, c.limits())
	if err != nil {
		log.Printf("Build cache in storage is unusable (%v): installing from scratch", err)
		return false
	}
	log.Printf("Build cache hit in object storage (key %s): %d files, %s restored", short, st.Files, humanBytes(st.Bytes))
	if err := c.keepLocal(tmp.Name()); err != nil {
		c.b.a.logger().Warn("keep build cache on disk", "error", err)
	}
	return true
}

// save packs the cached directories and stores the archive locally and in object storage.
func (c *buildCache) save(ctx context.Context) {
	if !c.enabled {
		return
	}
	log := c.b.log
	tmp, err := c.tempFile()
	if err != nil {
		log.Printf("Build cache not saved: %v", err)
		return
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	st, err := buildcache.Pack(c.b.ws, c.dirs, tmp, c.limits())
	var tooLarge *buildcache.TooLargeError
	switch {
	case errors.As(err, &tooLarge):
		log.Printf("Build cache not saved: the dependencies are too large to cache (%s exceeds %s, SKYDEPLOY_BUILD_CACHE_BYTES)", tooLarge.What, humanBytes(tooLarge.Limit))
		return
	case err != nil:
		log.Printf("Build cache not saved: %v", err)
		return
	case st.Files == 0:
		log.Printf("Build cache not saved: nothing to cache")
		return
	}
	size, err := tmp.Seek(0, io.SeekEnd)
	if err != nil {
		return
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return
	}
	if err := c.b.a.Store.PutReader(ctx, c.remote, tmp, size, storage.PutOptions{ContentType: "application/gzip"}); err != nil {
		log.Printf("Build cache not uploaded (%v); kept on this worker only", err)
	} else {
		c.pruneRemote(ctx)
	}
	tmp.Close()
	if err := c.keepLocal(tmp.Name()); err != nil {
		c.b.a.logger().Warn("keep build cache on disk", "error", err)
	}
	log.Printf("Build cache saved (key %s): %d files, %s (%s compressed)", c.key[:12], st.Files, humanBytes(st.Bytes), humanBytes(size))
}

func (c *buildCache) tempFile() (*os.File, error) {
	dir := filepath.Join(c.b.a.cacheDir(), "tmp")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cache dir: %w", err)
	}
	return os.CreateTemp(dir, "cache-*.tar.gz")
}

// keepLocal moves a finished archive into the local cache (atomically) and evicts what is
// over the local bound: other archives of the scope first, then the least recently used.
func (c *buildCache) keepLocal(tmpPath string) error {
	dir := filepath.Dir(c.local)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Rename(tmpPath, c.local); err != nil {
		return err
	}
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			if e.Name() != filepath.Base(c.local) {
				_ = os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	}
	limit := c.b.a.Settings.Build.LocalCacheBytes
	if limit <= 0 {
		limit = 8 * c.b.a.Settings.Build.CacheBytes
	}
	evictLocal(c.b.a.cacheDir(), limit, c.local)
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
			_ = os.Remove(filepath.Dir(e.path)) // the scope's directory, once empty
		}
	}
}

// pruneRemote keeps the newest archives of the scope in object storage.
func (c *buildCache) pruneRemote(ctx context.Context) {
	prefix := storage.CacheKey(c.scope, "")
	prefix = strings.TrimSuffix(prefix, ".tar.gz")
	objs, err := c.b.a.Store.List(ctx, prefix)
	if err != nil || len(objs) <= remoteCachesKept {
		return
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].LastModified.After(objs[j].LastModified) })
	others := 0
	for _, o := range objs {
		if o.Key == c.remote {
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
		return nil, fmt.Errorf("larger than %s", humanBytes(limit))
	}
	return data, nil
}
