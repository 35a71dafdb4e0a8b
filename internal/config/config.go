// Package config holds SkyDeploy's one configuration type, read from SKYDEPLOY_*
// environment variables with defaults that work on a developer's machine.
//
// It must never depend on any other SkyDeploy package: every role reads it.
package config

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Config is the whole configuration of every SkyDeploy role. Each field names the
// environment variable it is read from; README.md documents them all.
type Config struct {
	// GatewayAddr is where the API and dashboard listen (SKYDEPLOY_GATEWAY_ADDR).
	GatewayAddr string
	// ServeAddr is where the request handler serves deployed sites (SKYDEPLOY_SERVE_ADDR).
	ServeAddr string
	// ServeAdminAddr serves the request handler's /healthz and /metrics (SKYDEPLOY_SERVE_ADMIN_ADDR).
	ServeAdminAddr string
	// BaseDomain is the domain under which deployments get subdomains (SKYDEPLOY_BASE_DOMAIN).
	BaseDomain string
	// SiteScheme and SitePort build the public URL of a deployment (SKYDEPLOY_SITE_SCHEME, SKYDEPLOY_SITE_PORT).
	// SitePort empty means the scheme's default port.
	SiteScheme string
	SitePort   string
	// PublicAPIURL is the URL the dashboard and CLI use for the gateway (SKYDEPLOY_PUBLIC_API_URL).
	PublicAPIURL string
	// TemporalUIURL is the Temporal Web UI's base URL, for deep links (SKYDEPLOY_TEMPORAL_UI_URL).
	TemporalUIURL string

	// TemporalAddress and TemporalNamespace locate the Temporal frontend (SKYDEPLOY_TEMPORAL_ADDRESS, SKYDEPLOY_TEMPORAL_NAMESPACE).
	TemporalAddress   string
	TemporalNamespace string
	// Temporal client TLS (SKYDEPLOY_TEMPORAL_TLS_CA, _TLS_CERT, _TLS_KEY, _TLS_SERVER_NAME): PEM files of
	// the CA that signed the frontend's certificate and of this client's certificate and key
	// (mTLS). Empty: plain gRPC, which only a private network may carry.
	TemporalTLSCA         string
	TemporalTLSCert       string
	TemporalTLSKey        string
	TemporalTLSServerName string
	// TaskQueue is the light-step queue; BuildTaskQueue the build queue (SKYDEPLOY_TASK_QUEUE, SKYDEPLOY_BUILD_TASK_QUEUE).
	TaskQueue      string
	BuildTaskQueue string

	// RedisURL locates Redis, which holds only live status and logs (SKYDEPLOY_REDIS_URL).
	RedisURL string
	// RedisPrefix is put before every Redis key so SkyDeploy can share a Redis (SKYDEPLOY_REDIS_PREFIX).
	RedisPrefix string
	// LiveTTL is how long live status and log streams stay in Redis (SKYDEPLOY_LIVE_TTL).
	LiveTTL time.Duration
	// LogMaxLines caps each deployment's live log stream (SKYDEPLOY_LOG_MAX_LINES).
	LogMaxLines int64

	// S3 object storage (SKYDEPLOY_S3_ENDPOINT, _S3_REGION, _S3_BUCKET, _S3_ACCESS_KEY, _S3_SECRET_KEY, _S3_PATH_STYLE).
	S3Endpoint  string
	S3Region    string
	S3Bucket    string
	S3AccessKey string
	S3SecretKey string
	S3PathStyle bool
	// ServeS3AccessKey and ServeS3SecretKey are the request handler's own, read-only credentials
	// (SKYDEPLOY_SERVE_S3_ACCESS_KEY, SKYDEPLOY_SERVE_S3_SECRET_KEY); empty: the handler uses
	// SKYDEPLOY_S3_* and says at start that it holds write access it does not need.
	ServeS3AccessKey string
	ServeS3SecretKey string

	// AllowedGitHosts lists the git hosts deployments may clone from (SKYDEPLOY_ALLOWED_GIT_HOSTS, comma separated).
	// An entry "*" allows any public host.
	AllowedGitHosts []string
	// AllowPrivateGitHosts lets repository URLs point at loopback and private addresses (SKYDEPLOY_ALLOW_PRIVATE_GIT_HOSTS).
	// Local development and tests need it; production must leave it off.
	AllowPrivateGitHosts bool
	// AllowInsecureGit allows plain http:// repository URLs (SKYDEPLOY_ALLOW_INSECURE_GIT).
	AllowInsecureGit bool
	// GitHubToken is used for GitHub API calls and private repositories (SKYDEPLOY_GITHUB_TOKEN).
	// It is sent only to github.com and to the host of GitHubAPIURL.
	GitHubToken string
	// GitCredentials maps a git host ("host", or "host:port" for a port that is not the
	// scheme's default) to the "user:token" sent to it and to no other host
	// (SKYDEPLOY_GIT_CREDENTIALS: "host=user:token,host2=user:token"). Hosts without an entry
	// get no credentials.
	GitCredentials map[string]string

	// WorkDir holds per-deployment workspaces and local caches on workers (SKYDEPLOY_WORK_DIR).
	WorkDir string

	// Limits on what one deployment may bring in.
	MaxRepoBytes int64 // SKYDEPLOY_MAX_REPO_BYTES: bytes fetched while cloning
	MaxFileBytes int64 // SKYDEPLOY_MAX_FILE_BYTES: one file in the source or output
	MaxFiles     int   // SKYDEPLOY_MAX_FILES: files in the source or output
	MaxSiteBytes int64 // SKYDEPLOY_MAX_SITE_BYTES: total size of the published output
	// CloneConcurrency bounds the clones one worker runs at once (SKYDEPLOY_CLONE_CONCURRENCY).
	CloneConcurrency int

	// Build sandbox limits.
	BuildConcurrency  int           // SKYDEPLOY_BUILD_CONCURRENCY: builds at once per build worker
	BuildTimeout      time.Duration // SKYDEPLOY_BUILD_TIMEOUT: wall time of install+build
	BuildMemoryBytes  int64         // SKYDEPLOY_BUILD_MEMORY_BYTES: memory of a build step's whole process tree
	BuildCPUSeconds   int64         // SKYDEPLOY_BUILD_CPU_SECONDS: CPU time of a build step's whole process tree
	BuildCPUs         float64       // SKYDEPLOY_BUILD_CPUS: CPU bandwidth (cores) of a build where cgroups allow it; 0 = no cap
	BuildCgroups      string        // SKYDEPLOY_BUILD_CGROUPS: auto (a cgroup per build step when possible) or off (the watchdog)
	BuildMaxLogBytes  int64         // SKYDEPLOY_BUILD_MAX_LOG_BYTES: output a build may print
	BuildUser         string        // SKYDEPLOY_BUILD_USER: unprivileged user builds run as
	Sandbox           string        // SKYDEPLOY_SANDBOX: bwrap (default; a worker without a working bubblewrap refuses to start) or none
	BuildEgress       string        // SKYDEPLOY_BUILD_EGRESS: public, off (no network in the build step) or an allow-list of hosts
	BuildEgressBytes  int64         // SKYDEPLOY_BUILD_EGRESS_BYTES: bytes one step may move through the egress proxy
	BuildCacheBytes   int64         // SKYDEPLOY_BUILD_CACHE_BYTES: largest cache archive kept per project
	BuildMaxDiskBytes int64         // SKYDEPLOY_BUILD_MAX_DISK_BYTES: disk a build's workspace may use (0: derived from the other limits)

	// ServeCacheBytes bounds the request handler's in-memory cache (SKYDEPLOY_SERVE_CACHE_BYTES).
	ServeCacheBytes int64
	// AliasTTL is how long the request handler trusts a cached alias (SKYDEPLOY_ALIAS_TTL).
	AliasTTL time.Duration
	// ServeAccessLogEvery logs one request in N (1 = all, -1 = none; errors always) (SKYDEPLOY_SERVE_ACCESS_LOG_EVERY).
	ServeAccessLogEvery int
	// ServeMaxCachedFileBytes: larger files are streamed from storage, not cached (SKYDEPLOY_SERVE_MAX_CACHED_FILE_BYTES).
	ServeMaxCachedFileBytes int64
	// ServeDiskCacheBytes bounds the request handler's on-disk content cache under WorkDir/serve-cache,
	// from which large files are sent with sendfile; 0 turns it off (SKYDEPLOY_SERVE_DISK_CACHE_BYTES).
	ServeDiskCacheBytes int64

	// Custom domains and HTTPS (README.md, "Custom domains").
	// ServeTLS is off or acme: the request handler obtains certificates with ACME (SKYDEPLOY_SERVE_TLS).
	ServeTLS string
	// ServeTLSAddr is where the request handler serves HTTPS (SKYDEPLOY_SERVE_TLS_ADDR); its plain
	// HTTP listener (SKYDEPLOY_SERVE_ADDR) must receive the domains' port 80 for HTTP-01.
	ServeTLSAddr string
	// ACMECA is the ACME directory URL (SKYDEPLOY_ACME_CA); ACMECARoots a PEM file of the roots
	// to trust for it, empty for the system's (SKYDEPLOY_ACME_CA_ROOTS); ACMEEmail the account's
	// contact (SKYDEPLOY_ACME_EMAIL).
	ACMECA      string
	ACMECARoots string
	ACMEEmail   string
	// ACMEOrderInterval is the least time between two certificate orders for one host on one
	// request handler (SKYDEPLOY_ACME_ORDER_INTERVAL).
	ACMEOrderInterval time.Duration
	// ACMEChallenges are the challenge types the request handler answers (SKYDEPLOY_ACME_CHALLENGES):
	// http-01 needs the domains' port 80 to reach SKYDEPLOY_SERVE_ADDR, tls-alpn-01 their port
	// 443 to reach SKYDEPLOY_SERVE_TLS_ADDR.
	ACMEChallenges []string
	// TLSS3Bucket, TLSS3AccessKey and TLSS3SecretKey put certificates in a bucket of their own
	// (SKYDEPLOY_TLS_S3_BUCKET, _ACCESS_KEY, _SECRET_KEY), for storage without bucket policies
	// (R2); empty: tls/ in SKYDEPLOY_S3_BUCKET with the request handler's keys.
	TLSS3Bucket    string
	TLSS3AccessKey string
	TLSS3SecretKey string
	// DomainCNAMETarget and DomainAddresses are what users point their domains at: a CNAME for
	// subdomains, A/AAAA records for apex domains (SKYDEPLOY_DOMAIN_CNAME_TARGET, SKYDEPLOY_DOMAIN_ADDRESSES).
	DomainCNAMETarget string
	DomainAddresses   []string
	// DomainVerifyTimeout is how long a domain may stay pending (SKYDEPLOY_DOMAIN_VERIFY_TIMEOUT);
	// DomainCheckInterval the first wait between DNS checks, doubling up to 10 minutes
	// (SKYDEPLOY_DOMAIN_CHECK_INTERVAL).
	DomainVerifyTimeout time.Duration
	DomainCheckInterval time.Duration
	// DomainDNSServer is the one DNS server (host:port) verification asks, empty for the
	// system's resolver (SKYDEPLOY_DOMAIN_DNS_SERVER).
	DomainDNSServer string

	// APIToken is a deploy-scope token accepted besides those created with `skydeploy token create`
	// (SKYDEPLOY_API_TOKEN), e.g. to bootstrap a server; compared in constant time.
	APIToken string
	// RequireAuth makes the API demand a token (SKYDEPLOY_REQUIRE_AUTH, default true; false only
	// for a gateway reachable by nobody else).
	RequireAuth bool
	// WebhookSecret verifies GitHub webhooks (SKYDEPLOY_WEBHOOK_SECRET).
	WebhookSecret string
	// SecretKey encrypts project environment variables at rest (SKYDEPLOY_SECRET_KEY, 32+ characters).
	SecretKey string
	// DashboardOrigin is the only origin CORS allows (SKYDEPLOY_DASHBOARD_ORIGIN).
	DashboardOrigin string
	// TrustedProxies lists proxies whose X-Forwarded-For is believed (SKYDEPLOY_TRUSTED_PROXIES).
	TrustedProxies []string
	// DeployRatePerMinute limits deployments started per client (SKYDEPLOY_DEPLOY_RATE_PER_MINUTE).
	DeployRatePerMinute int

	// PollInterval is the default interval of a watched project's schedule (SKYDEPLOY_POLL_INTERVAL).
	PollInterval time.Duration
	// KeepDeployments is how many deployments per project retention keeps (SKYDEPLOY_KEEP_DEPLOYMENTS).
	KeepDeployments int
	// UploadTTL is how long an uploaded folder's manifest, and a content no manifest lists any
	// more, are kept (SKYDEPLOY_UPLOAD_TTL).
	UploadTTL time.Duration
	// GitHubAPIURL is the GitHub REST API base (SKYDEPLOY_GITHUB_API_URL), changed only by tests.
	GitHubAPIURL string

	// LogFormat is text or json (SKYDEPLOY_LOG_FORMAT); LogLevel debug, info, warn or error (SKYDEPLOY_LOG_LEVEL).
	LogFormat string
	LogLevel  string
	// MetricsAddr serves Prometheus metrics of workers (SKYDEPLOY_METRICS_ADDR); empty disables.
	MetricsAddr string

	// AttentionTimeout is how long a deployment that failed for the platform's reasons waits for an
	// operator's retry or abandon before it fails (SKYDEPLOY_ATTENTION_TIMEOUT).
	AttentionTimeout time.Duration
	// StepAttempts is how many times a light step is tried before the deployment needs attention
	// (SKYDEPLOY_STEP_ATTEMPTS); builds are tried at most 4 times.
	StepAttempts int

	// MinPollInterval is the shortest watch interval the API accepts (SKYDEPLOY_MIN_POLL_INTERVAL).
	MinPollInterval time.Duration
	// PollTaskQueue runs GitHub head checks, rate limited across all workers (SKYDEPLOY_POLL_TASK_QUEUE).
	PollTaskQueue string
	// PollRequestsPerHour caps GitHub head checks of all polls together (SKYDEPLOY_POLL_REQUESTS_PER_HOUR);
	// 0 chooses from the budget: 54/h without a token (90% of 60), 54000/h (900/min, GitHub's
	// secondary limit for REST) with one: conditional requests answered 304 do not count against a
	// token's 5000/h, so with a token only changed branches spend the primary budget.
	PollRequestsPerHour int
}

// Default returns the configuration that works with `make dev` on one machine.
func Default() Config {
	return Config{
		GatewayAddr:             ":3001",
		ServeAddr:               ":3002",
		ServeAdminAddr:          "127.0.0.1:3012",
		BaseDomain:              "localhost",
		SiteScheme:              "http",
		SitePort:                "3002",
		PublicAPIURL:            "http://localhost:3001",
		TemporalUIURL:           "http://localhost:8233",
		TemporalAddress:         "127.0.0.1:7233",
		TemporalNamespace:       "default",
		TaskQueue:               "skydeploy-deploy",
		BuildTaskQueue:          "skydeploy-build",
		RedisURL:                "redis://127.0.0.1:6379/0",
		RedisPrefix:             "skydeploy:",
		LiveTTL:                 24 * time.Hour,
		LogMaxLines:             100_000,
		S3Endpoint:              "http://127.0.0.1:7070",
		S3Region:                "us-east-1",
		S3Bucket:                "skydeploy",
		S3AccessKey:             devS3AccessKey,
		S3SecretKey:             devS3SecretKey,
		S3PathStyle:             true,
		AllowedGitHosts:         []string{"github.com", "gitlab.com", "bitbucket.org", "codeberg.org"},
		WorkDir:                 defaultWorkDir(),
		MaxRepoBytes:            512 << 20,
		MaxFileBytes:            100 << 20,
		MaxFiles:                50_000,
		MaxSiteBytes:            1 << 30,
		CloneConcurrency:        4,
		BuildConcurrency:        2,
		BuildTimeout:            15 * time.Minute,
		BuildMemoryBytes:        4 << 30,
		BuildCPUSeconds:         1800,
		BuildMaxLogBytes:        16 << 20,
		BuildUser:               "nobody",
		Sandbox:                 "bwrap",
		BuildCgroups:            "auto",
		BuildEgress:             "public",
		BuildEgressBytes:        2 << 30,
		BuildCacheBytes:         1 << 30,
		ServeCacheBytes:         256 << 20,
		RequireAuth:             true,
		AliasTTL:                2 * time.Second,
		ServeAccessLogEvery:     1,
		ServeMaxCachedFileBytes: 1 << 20,
		ServeDiskCacheBytes:     1 << 30,
		ServeTLS:                "off",
		ServeTLSAddr:            ":3443",
		ACMECA:                  "https://acme-v02.api.letsencrypt.org/directory",
		ACMEOrderInterval:       10 * time.Minute,
		ACMEChallenges:          []string{"http-01", "tls-alpn-01"},
		DomainVerifyTimeout:     72 * time.Hour,
		DomainCheckInterval:     15 * time.Second,
		DashboardOrigin:         "http://localhost:3001",
		DeployRatePerMinute:     30,
		PollInterval:            time.Minute,
		KeepDeployments:         10,
		UploadTTL:               24 * time.Hour,
		GitHubAPIURL:            "https://api.github.com/",
		LogFormat:               "text",
		LogLevel:                "info",
		MinPollInterval:         10 * time.Second,
		AttentionTimeout:        24 * time.Hour,
		StepAttempts:            8,
		PollTaskQueue:           "skydeploy-poll",
	}
}

func defaultWorkDir() string {
	return strings.TrimRight(os.TempDir(), "/") + "/skydeploy"
}

// renamedSandboxVar is the old name of SKYDEPLOY_SANDBOX, refused with a message that says so.
const renamedSandboxVar = "SKYDEPLOY_BUILD_SANDBOX"

// FromEnv returns Default overlaid with every SKYDEPLOY_* variable set in the environment.
func FromEnv() (Config, error) {
	return FromLookup(os.LookupEnv)
}

// FromLookup is FromEnv with the environment given as a lookup function, for tests.
func FromLookup(lookup func(string) (string, bool)) (Config, error) {
	c := Default()
	var errs []error
	if _, ok := lookup(renamedSandboxVar); ok {
		errs = append(errs, fmt.Errorf("%s was renamed SKYDEPLOY_SANDBOX (bwrap or none; auto is gone: a build worker without a working bubblewrap refuses to start)", renamedSandboxVar))
	}
	for _, f := range c.fields() {
		v, ok := lookup(f.name)
		if !ok {
			continue
		}
		if err := f.set(strings.TrimSpace(v)); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Environ returns the configuration as SKYDEPLOY_* variables, for starting another role with
// the same settings (tests start workers as separate processes).
func (c Config) Environ() []string {
	var out []string
	for _, f := range c.fields() {
		out = append(out, f.name+"="+f.String())
	}
	return out
}

// field ties an environment variable to the Config field it sets.
type field struct {
	name string
	ptr  any
}

// fields lists every variable and its field, in the order README.md documents them.
func (c *Config) fields() []field {
	return []field{
		{"SKYDEPLOY_GATEWAY_ADDR", &c.GatewayAddr},
		{"SKYDEPLOY_SERVE_ADDR", &c.ServeAddr},
		{"SKYDEPLOY_SERVE_ADMIN_ADDR", &c.ServeAdminAddr},
		{"SKYDEPLOY_BASE_DOMAIN", &c.BaseDomain},
		{"SKYDEPLOY_SITE_SCHEME", &c.SiteScheme},
		{"SKYDEPLOY_SITE_PORT", &c.SitePort},
		{"SKYDEPLOY_PUBLIC_API_URL", &c.PublicAPIURL},
		{"SKYDEPLOY_TEMPORAL_UI_URL", &c.TemporalUIURL},
		{"SKYDEPLOY_TEMPORAL_ADDRESS", &c.TemporalAddress},
		{"SKYDEPLOY_TEMPORAL_NAMESPACE", &c.TemporalNamespace},
		{"SKYDEPLOY_TEMPORAL_TLS_CA", &c.TemporalTLSCA},
		{"SKYDEPLOY_TEMPORAL_TLS_CERT", &c.TemporalTLSCert},
		{"SKYDEPLOY_TEMPORAL_TLS_KEY", &c.TemporalTLSKey},
		{"SKYDEPLOY_TEMPORAL_TLS_SERVER_NAME", &c.TemporalTLSServerName},
		{"SKYDEPLOY_TASK_QUEUE", &c.TaskQueue},
		{"SKYDEPLOY_BUILD_TASK_QUEUE", &c.BuildTaskQueue},
		{"SKYDEPLOY_REDIS_URL", &c.RedisURL},
		{"SKYDEPLOY_REDIS_PREFIX", &c.RedisPrefix},
		{"SKYDEPLOY_LIVE_TTL", &c.LiveTTL},
		{"SKYDEPLOY_LOG_MAX_LINES", &c.LogMaxLines},
		{"SKYDEPLOY_S3_ENDPOINT", &c.S3Endpoint},
		{"SKYDEPLOY_S3_REGION", &c.S3Region},
		{"SKYDEPLOY_S3_BUCKET", &c.S3Bucket},
		{"SKYDEPLOY_S3_ACCESS_KEY", &c.S3AccessKey},
		{"SKYDEPLOY_S3_SECRET_KEY", &c.S3SecretKey},
		{"SKYDEPLOY_S3_PATH_STYLE", &c.S3PathStyle},
		{"SKYDEPLOY_SERVE_S3_ACCESS_KEY", &c.ServeS3AccessKey},
		{"SKYDEPLOY_SERVE_S3_SECRET_KEY", &c.ServeS3SecretKey},
		{"SKYDEPLOY_ALLOWED_GIT_HOSTS", &c.AllowedGitHosts},
		{"SKYDEPLOY_ALLOW_PRIVATE_GIT_HOSTS", &c.AllowPrivateGitHosts},
		{"SKYDEPLOY_ALLOW_INSECURE_GIT", &c.AllowInsecureGit},
		{"SKYDEPLOY_GITHUB_TOKEN", &c.GitHubToken},
		{"SKYDEPLOY_GIT_CREDENTIALS", &c.GitCredentials},
		{"SKYDEPLOY_WORK_DIR", &c.WorkDir},
		{"SKYDEPLOY_MAX_REPO_BYTES", &c.MaxRepoBytes},
		{"SKYDEPLOY_MAX_FILE_BYTES", &c.MaxFileBytes},
		{"SKYDEPLOY_MAX_FILES", &c.MaxFiles},
		{"SKYDEPLOY_MAX_SITE_BYTES", &c.MaxSiteBytes},
		{"SKYDEPLOY_CLONE_CONCURRENCY", &c.CloneConcurrency},
		{"SKYDEPLOY_BUILD_CONCURRENCY", &c.BuildConcurrency},
		{"SKYDEPLOY_BUILD_TIMEOUT", &c.BuildTimeout},
		{"SKYDEPLOY_BUILD_MEMORY_BYTES", &c.BuildMemoryBytes},
		{"SKYDEPLOY_BUILD_CPU_SECONDS", &c.BuildCPUSeconds},
		{"SKYDEPLOY_BUILD_CPUS", &c.BuildCPUs},
		{"SKYDEPLOY_BUILD_CGROUPS", &c.BuildCgroups},
		{"SKYDEPLOY_BUILD_MAX_LOG_BYTES", &c.BuildMaxLogBytes},
		{"SKYDEPLOY_BUILD_USER", &c.BuildUser},
		{"SKYDEPLOY_SANDBOX", &c.Sandbox},
		{"SKYDEPLOY_BUILD_EGRESS", &c.BuildEgress},
		{"SKYDEPLOY_BUILD_EGRESS_BYTES", &c.BuildEgressBytes},
		{"SKYDEPLOY_BUILD_CACHE_BYTES", &c.BuildCacheBytes},
		{"SKYDEPLOY_BUILD_MAX_DISK_BYTES", &c.BuildMaxDiskBytes},
		{"SKYDEPLOY_SERVE_CACHE_BYTES", &c.ServeCacheBytes},
		{"SKYDEPLOY_ALIAS_TTL", &c.AliasTTL},
		{"SKYDEPLOY_SERVE_ACCESS_LOG_EVERY", &c.ServeAccessLogEvery},
		{"SKYDEPLOY_SERVE_MAX_CACHED_FILE_BYTES", &c.ServeMaxCachedFileBytes},
		{"SKYDEPLOY_SERVE_DISK_CACHE_BYTES", &c.ServeDiskCacheBytes},
		{"SKYDEPLOY_SERVE_TLS", &c.ServeTLS},
		{"SKYDEPLOY_SERVE_TLS_ADDR", &c.ServeTLSAddr},
		{"SKYDEPLOY_ACME_CA", &c.ACMECA},
		{"SKYDEPLOY_ACME_CA_ROOTS", &c.ACMECARoots},
		{"SKYDEPLOY_ACME_EMAIL", &c.ACMEEmail},
		{"SKYDEPLOY_ACME_ORDER_INTERVAL", &c.ACMEOrderInterval},
		{"SKYDEPLOY_ACME_CHALLENGES", &c.ACMEChallenges},
		{"SKYDEPLOY_TLS_S3_BUCKET", &c.TLSS3Bucket},
		{"SKYDEPLOY_TLS_S3_ACCESS_KEY", &c.TLSS3AccessKey},
		{"SKYDEPLOY_TLS_S3_SECRET_KEY", &c.TLSS3SecretKey},
		{"SKYDEPLOY_DOMAIN_CNAME_TARGET", &c.DomainCNAMETarget},
		{"SKYDEPLOY_DOMAIN_ADDRESSES", &c.DomainAddresses},
		{"SKYDEPLOY_DOMAIN_VERIFY_TIMEOUT", &c.DomainVerifyTimeout},
		{"SKYDEPLOY_DOMAIN_CHECK_INTERVAL", &c.DomainCheckInterval},
		{"SKYDEPLOY_DOMAIN_DNS_SERVER", &c.DomainDNSServer},
		{"SKYDEPLOY_API_TOKEN", &c.APIToken},
		{"SKYDEPLOY_REQUIRE_AUTH", &c.RequireAuth},
		{"SKYDEPLOY_WEBHOOK_SECRET", &c.WebhookSecret},
		{"SKYDEPLOY_SECRET_KEY", &c.SecretKey},
		{"SKYDEPLOY_DASHBOARD_ORIGIN", &c.DashboardOrigin},
		{"SKYDEPLOY_TRUSTED_PROXIES", &c.TrustedProxies},
		{"SKYDEPLOY_DEPLOY_RATE_PER_MINUTE", &c.DeployRatePerMinute},
		{"SKYDEPLOY_POLL_INTERVAL", &c.PollInterval},
		{"SKYDEPLOY_KEEP_DEPLOYMENTS", &c.KeepDeployments},
		{"SKYDEPLOY_UPLOAD_TTL", &c.UploadTTL},
		{"SKYDEPLOY_GITHUB_API_URL", &c.GitHubAPIURL},
		{"SKYDEPLOY_LOG_FORMAT", &c.LogFormat},
		{"SKYDEPLOY_LOG_LEVEL", &c.LogLevel},
		{"SKYDEPLOY_METRICS_ADDR", &c.MetricsAddr},
		{"SKYDEPLOY_MIN_POLL_INTERVAL", &c.MinPollInterval},
		{"SKYDEPLOY_ATTENTION_TIMEOUT", &c.AttentionTimeout},
		{"SKYDEPLOY_STEP_ATTEMPTS", &c.StepAttempts},
		{"SKYDEPLOY_POLL_TASK_QUEUE", &c.PollTaskQueue},
		{"SKYDEPLOY_POLL_REQUESTS_PER_HOUR", &c.PollRequestsPerHour},
	}
}

func (f field) set(v string) error {
	if v == "" {
		if _, isString := f.ptr.(*string); !isString {
			return nil
		}
	}
	switch p := f.ptr.(type) {
	case *string:
		*p = v
	case *[]string:
		var out []string
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, strings.ToLower(item))
			}
		}
		*p = out
	case *bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*p = b
	case *int:
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		*p = n
	case *int64:
		n, err := parseSize(v)
		if err != nil {
			return err
		}
		*p = n
	case *time.Duration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 30s or 5m", v)
		}
		*p = d
	case *float64:
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%q is not a non-negative number", v)
		}
		*p = n
	case *map[string]string:
		m, err := parseHostCredentials(v)
		if err != nil {
			return err
		}
		*p = m
	default:
		return fmt.Errorf("unsupported setting type %T", f.ptr)
	}
	return nil
}

func (f field) String() string {
	switch p := f.ptr.(type) {
	case *string:
		return *p
	case *[]string:
		return strings.Join(*p, ",")
	case *bool:
		return strconv.FormatBool(*p)
	case *int:
		return strconv.Itoa(*p)
	case *int64:
		return strconv.FormatInt(*p, 10)
	case *time.Duration:
		return p.String()
	case *float64:
		return strconv.FormatFloat(*p, 'g', -1, 64)
	case *map[string]string:
		hosts := make([]string, 0, len(*p))
		for h := range *p {
			hosts = append(hosts, h)
		}
		sort.Strings(hosts)
		for i, h := range hosts {
			hosts[i] = h + "=" + (*p)[h]
		}
		return strings.Join(hosts, ",")
	}
	return ""
}

// parseHostCredentials reads "host=user:token,host2=user:token" (SKYDEPLOY_GIT_CREDENTIALS). A
// host is a name or an address, with ":port" only for a port that is not the default one.
func parseHostCredentials(v string) (map[string]string, error) {
	out := map[string]string{}
	for i, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		host, cred, ok := strings.Cut(item, "=")
		host = strings.ToLower(strings.TrimSpace(host))
		user, token, hasColon := strings.Cut(cred, ":")
		if !ok || host == "" || strings.ContainsAny(host, "/@ ") {
			return nil, fmt.Errorf("entry %d is not host=user:token", i+1) // the entry itself may hold a token
		}
		if !hasColon || user == "" || token == "" {
			return nil, fmt.Errorf("entry for %s is not host=user:token (a user name and a token, separated by a colon)", host)
		}
		if _, dup := out[host]; dup {
			return nil, fmt.Errorf("host %s is listed twice", host)
		}
		out[host] = cred
	}
	return out, nil
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.BaseDomain == "" {
		errs = append(errs, errors.New("SKYDEPLOY_BASE_DOMAIN must not be empty"))
	}
	if c.S3Bucket == "" {
		errs = append(errs, errors.New("SKYDEPLOY_S3_BUCKET must not be empty"))
	}
	if c.BuildConcurrency < 1 {
		errs = append(errs, errors.New("SKYDEPLOY_BUILD_CONCURRENCY must be at least 1"))
	}
	if c.StepAttempts < 1 {
		errs = append(errs, errors.New("SKYDEPLOY_STEP_ATTEMPTS must be at least 1"))
	}
	if c.AttentionTimeout < time.Minute {
		errs = append(errs, errors.New("SKYDEPLOY_ATTENTION_TIMEOUT must be at least 1m"))
	}
	if c.CloneConcurrency < 1 {
		errs = append(errs, errors.New("SKYDEPLOY_CLONE_CONCURRENCY must be at least 1"))
	}
	switch c.Sandbox {
	case "bwrap", "none":
	default:
		errs = append(errs, fmt.Errorf("SKYDEPLOY_SANDBOX must be bwrap or none, not %q (there is no automatic fallback: a build worker without a working bubblewrap refuses to start)", c.Sandbox))
	}
	switch c.BuildCgroups {
	case "auto", "off":
	default:
		errs = append(errs, fmt.Errorf("SKYDEPLOY_BUILD_CGROUPS must be auto or off, not %q", c.BuildCgroups))
	}
	switch c.ServeTLS {
	case "off", "acme":
	default:
		errs = append(errs, fmt.Errorf("SKYDEPLOY_SERVE_TLS must be off or acme, not %q", c.ServeTLS))
	}
	if len(c.ACMEChallenges) == 0 {
		errs = append(errs, errors.New("SKYDEPLOY_ACME_CHALLENGES must name http-01, tls-alpn-01 or both"))
	}
	for _, ch := range c.ACMEChallenges {
		if ch != "http-01" && ch != "tls-alpn-01" {
			errs = append(errs, fmt.Errorf("SKYDEPLOY_ACME_CHALLENGES: %q is not http-01 or tls-alpn-01", ch))
		}
	}
	if (c.TLSS3AccessKey == "") != (c.TLSS3SecretKey == "") || (c.TLSS3AccessKey != "" && c.TLSS3Bucket == "") {
		errs = append(errs, errors.New("SKYDEPLOY_TLS_S3_BUCKET, SKYDEPLOY_TLS_S3_ACCESS_KEY and SKYDEPLOY_TLS_S3_SECRET_KEY go together"))
	}
	if c.UploadTTL < time.Second {
		errs = append(errs, errors.New("SKYDEPLOY_UPLOAD_TTL must be at least 1s"))
	}
	if c.SecretKey != "" && len(c.SecretKey) < 32 {
		errs = append(errs, errors.New("SKYDEPLOY_SECRET_KEY must be at least 32 characters"))
	}
	return errors.Join(errs...)
}

// Development keys of object storage: the defaults, which `skydeploy dev` uses.
const (
	devS3AccessKey = "skydeploy"
	devS3SecretKey = "skydeploy-dev-secret"
)

// RefusePlaceholders returns an error naming every secret that still holds a placeholder of
// the example files ("change-me") or the development storage keys. Every role but `skydeploy
// dev` calls it at start: a server must not run on secrets printed in the documentation.
func (c Config) RefusePlaceholders() error {
	var bad []string
	check := func(name, value string) {
		if strings.Contains(strings.ToLower(value), "change-me") || strings.Contains(strings.ToLower(value), "changeme") {
			bad = append(bad, name+" holds the placeholder of the example configuration")
		}
	}
	for _, f := range c.fields() {
		if v, ok := f.ptr.(*string); ok {
			check(f.name, *v)
		}
	}
	if c.S3SecretKey == devS3SecretKey {
		bad = append(bad, "SKYDEPLOY_S3_SECRET_KEY is the development key of `skydeploy dev`")
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("refusing to start with placeholder secrets (set real ones; `skydeploy dev` is the only role that may use them): %s", strings.Join(bad, "; "))
}

// SiteURL is the public URL of a host label (a deployment id or a project name) under the base domain.
func (c Config) SiteURL(label string) string {
	host := label + "." + c.BaseDomain
	if c.SitePort != "" && !(c.SiteScheme == "http" && c.SitePort == "80") && !(c.SiteScheme == "https" && c.SitePort == "443") {
		host += ":" + c.SitePort
	}
	return c.SiteScheme + "://" + host + "/"
}

// Names lists every environment variable FromEnv reads, for documentation checks.
func Names() []string {
	c := Default()
	var names []string
	for _, f := range c.fields() {
		names = append(names, f.name)
	}
	return names
}

// parseSize reads a whole number with an optional binary suffix: 512, 64Ki, 256Mi, 1Gi.
func parseSize(v string) (int64, error) {
	mult := int64(1)
	for suffix, m := range map[string]int64{"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(v, suffix) {
			rest := strings.TrimSuffix(v, suffix)
			if _, err := strconv.ParseInt(rest, 10, 64); err == nil {
				mult, v = m, rest
				break
			}
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size such as 1048576 or 256Mi", v)
	}
	return n * mult, nil
}
