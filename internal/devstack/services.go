package devstack

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// TemporalOptions configure the Temporal CLI dev server.
type TemporalOptions struct {
	Binary    string
	DBFile    string // SQLite file; empty keeps everything in memory (see sqlitePragmas)
	Host      string
	Port      int
	UIPort    int // 0 = headless
	HTTPPort  int
	Metrics   int
	Namespace string
	// SearchAttributes maps attribute names to their types (Keyword, Text, Int, Datetime, ...).
	SearchAttributes map[string]string
	Log              io.Writer
}

// sqlitePragmas make the dev server's database file write-ahead logged, synced at checkpoints:
// with SQLite's defaults (a rollback journal, a sync per transaction) the machine wrote about
// 90 MB/s (vmstat) and spent 11 % of its time waiting on the disk under 1,000 poll schedules. A crash of the server loses
// nothing committed; a power cut may lose the last transactions, never the file, which is what
// a development server needs (production Temporal runs on PostgreSQL, see temporal-compose.yml).
var sqlitePragmas = []string{"journal_mode=wal", "synchronous=normal"}

// Temporal returns (unstarted) the Temporal dev server process.
func Temporal(o TemporalOptions) (*Process, error) {
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	args := []string{"server", "start-dev", "--ip", o.Host, "--port", fmt.Sprint(o.Port), "--namespace", o.Namespace, "--log-level", "error"}
	if o.UIPort > 0 {
		args = append(args, "--ui-port", fmt.Sprint(o.UIPort))
	} else {
		args = append(args, "--headless")
	}
	if o.HTTPPort > 0 {
		args = append(args, "--http-port", fmt.Sprint(o.HTTPPort))
	}
	if o.Metrics > 0 {
		args = append(args, "--metrics-port", fmt.Sprint(o.Metrics))
	}
	if o.DBFile != "" {
		if err := os.MkdirAll(filepath.Dir(o.DBFile), 0o755); err != nil {
			return nil, fmt.Errorf("temporal data dir: %w", err)
		}
		args = append(args, "--db-filename", o.DBFile)
		for _, p := range sqlitePragmas {
			args = append(args, "--sqlite-pragma", p)
		}
	}
	names := make([]string, 0, len(o.SearchAttributes))
	for name := range o.SearchAttributes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		args = append(args, "--search-attribute", name+"="+o.SearchAttributes[name])
	}
	return newProcess("temporal", hostPort(o.Host, o.Port), o.Binary, args, o.Log), nil
}

// VersityOptions configure versitygw with its posix backend.
type VersityOptions struct {
	Binary    string
	Dir       string // objects are files under Dir/<bucket>/
	Host      string
	Port      int
	AccessKey string // the root user's keys
	SecretKey string
	// IAMDir, when set, runs versitygw's internal IAM there, so that other users (a read-only
	// one for the request handler, see VersityCreateUser) can exist.
	IAMDir string
	Log    io.Writer
}

// Versity returns (unstarted) the versitygw process.
func Versity(o VersityOptions) (*Process, error) {
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("object storage dir: %w", err)
	}
	meta := filepath.Join(filepath.Dir(filepath.Clean(o.Dir)), "meta-"+filepath.Base(o.Dir))
	if err := os.MkdirAll(meta, 0o755); err != nil {
		return nil, fmt.Errorf("object storage metadata dir: %w", err)
	}
	addr := hostPort(o.Host, o.Port)
	args := []string{"--access", o.AccessKey, "--secret", o.SecretKey, "--port", addr, "--quiet"}
	if o.IAMDir != "" {
		if err := os.MkdirAll(o.IAMDir, 0o700); err != nil {
			return nil, fmt.Errorf("object storage IAM dir: %w", err)
		}
		args = append(args, "--iam-dir", o.IAMDir)
	}
	args = append(args, "posix", "--sidecar", meta, o.Dir)
	return newProcess("versitygw", addr, o.Binary, args, o.Log), nil
}

// VersityCreateUser makes (or keeps) a user of a versitygw running with IAMDir, through its
// admin API, with the "user" role: it can touch only what bucket policies grant it.
func VersityCreateUser(ctx context.Context, binary, endpoint, rootAccess, rootSecret, access, secret string) error {
	cmd := exec.CommandContext(ctx, binary, "admin", "--access", rootAccess, "--secret", rootSecret, "--endpoint-url", endpoint,
		"create-user", "--access", access, "--secret", secret, "--role", "user")
	out, err := cmd.CombinedOutput()
	if err != nil && !strings.Contains(strings.ToLower(string(out)), "exist") {
		return fmt.Errorf("versitygw create-user %s: %v: %s", access, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// RedisOptions configure a redis-server that keeps nothing on disk.
type RedisOptions struct {
	Binary string
	Host   string
	Port   int
	// Password, when set, is required of every client (requirepass).
	Password string
	Log      io.Writer
}

// Redis returns (unstarted) a redis-server process.
func Redis(o RedisOptions) *Process {
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	args := []string{"--bind", o.Host, "--port", fmt.Sprint(o.Port), "--save", "", "--appendonly", "no", "--protected-mode", "no"}
	if o.Password != "" {
		args = append(args, "--requirepass", o.Password)
	}
	return newProcess("redis", hostPort(o.Host, o.Port), o.Binary, args, o.Log)
}

// StartAll starts each process in order and stops those already started if one fails.
func StartAll(ctx context.Context, ready time.Duration, procs ...*Process) error {
	for i, p := range procs {
		if err := p.Start(ctx, ready); err != nil {
			for j := i - 1; j >= 0; j-- {
				procs[j].Stop(5 * time.Second)
			}
			return err
		}
	}
	return nil
}
