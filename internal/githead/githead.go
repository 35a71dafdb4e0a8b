// Package githead finds the head commit of a project's branch, the way the poller and the
// API's "deploy now" both need it: GitHub repositories through the REST API with conditional
// requests (an unchanged branch costs no rate limit), other hosts with git ls-remote through
// gitfetch's guarded transport. The GitHub token goes to the API's host only.
//
// Failures are Temporal application errors (rate limits carry their retry delay, a missing
// branch is non-retryable) because the poll workflow's activity returns them as they are.
//
// It must never import gin, Redis, object storage, the sandbox or the activities.
package githead

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
	"go.temporal.io/sdk/temporal"

	"github.com/skydeploy/skydeploy/internal/gitfetch"
	"github.com/skydeploy/skydeploy/internal/repourl"
	"github.com/skydeploy/skydeploy/workflows"
)

// Checker asks for branch heads. Its zero value asks api.github.com without a token.
type Checker struct {
	// GitHubAPIURL and GitHubToken reach the GitHub REST API (token optional: 60 requests an
	// hour). The token goes to that API's host and GitHub's git host only.
	GitHubAPIURL string
	GitHubToken  string
	// GitCredentials are per-host git credentials for ls-remote (SKYDEPLOY_GIT_CREDENTIALS).
	GitCredentials map[string]string
	// AllowPrivate lets ls-remote reach internal addresses (development and tests only).
	AllowPrivate bool
	// HTTPClient is used for the GitHub API (nil: a client with a 20 s timeout).
	HTTPClient *http.Client

	ghOnce sync.Once
	gh     *github.Client
	ghErr  error
}

// githubClient is the shared go-github client: sharing it lets go-github refuse requests locally
// while it knows the rate limit is exhausted.
func (c *Checker) githubClient() (*github.Client, error) {
	c.ghOnce.Do(func() {
		hc := c.HTTPClient
		if hc == nil {
			hc = &http.Client{Timeout: 20 * time.Second}
		}
		c.gh, c.ghErr = NewGitHubClient(hc, c.GitHubAPIURL, c.GitHubToken)
	})
	return c.gh, c.ghErr
}

// NewGitHubClient returns a go-github client for apiURL ("" = api.github.com), authenticated
// when token is set. The token is sent only to the API's own host: a redirect elsewhere goes
// without it (hostScopedToken).
func NewGitHubClient(hc *http.Client, apiURL, token string) (*github.Client, error) {
	if apiURL == "" {
		apiURL = "https://api.github.com/"
	}
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/"
	}
	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("GitHub API URL %q is not an http(s) URL", apiURL)
	}
	if token != "" {
		scoped := *hc
		scoped.Transport = &hostScopedToken{base: hc.Transport, host: u.Host, token: token}
		hc = &scoped
	}
	gh := github.NewClient(hc)
	gh.BaseURL = u
	return gh, nil
}

// permanent is a non-retryable failure with a readable message.
func permanent(errType, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), errType, nil)
}

// Error types of polling, as the Temporal UI shows them.
const (
	ErrRateLimited     = "GitHubRateLimited"
	ErrGitHubTransient = "GitHubUnavailable"
	ErrBranchNotFound  = "BranchNotFound"
	ErrGitHubAuth      = "GitHubUnauthorized"
)

var shaRe = regexp.MustCompile(`^[0-9a-f]{40}$`)

// Check returns the head commit of a project's branch. GitHub repositories are asked through
// the REST API with the previous ETag (If-None-Match): an unchanged branch answers 304, which
// with a token does not count against the hourly rate limit. Other hosts are asked with
// ls-remote over gitfetch's guarded transport.
//
// Rate limits come back as retryable errors whose NextRetryDelay is the reset time (primary
// limit) or Retry-After (secondary limit); GitHub errors and network failures are retryable; a
// missing repository or branch is not (temporal.ApplicationError either way, so the poll
// workflow's activity returns them as they are).
func (c *Checker) Check(ctx context.Context, in workflows.BranchHeadInput) (workflows.BranchHead, error) {
	if owner, name, ok := repourl.GitHubRepo(in.RepoURL); ok {
		gh, err := c.githubClient()
		if err != nil {
			return workflows.BranchHead{}, permanent(workflows.ErrInvalidInput, "%v", err)
		}
		return CheckGitHub(ctx, gh, owner, name, in.Branch, in.ETag, time.Now)
	}
	heads, err := gitfetch.LsRemote(ctx, gitfetch.Options{URL: in.RepoURL, AllowPrivate: c.AllowPrivate, Branch: in.Branch,
		Credentials: gitfetch.HostCredentials(c.GitHubToken, c.GitHubAPIURL, c.GitCredentials)})
	if err != nil {
		var ge *gitfetch.Error
		if errors.As(err, &ge) && ge.Permanent() {
			return workflows.BranchHead{}, permanent(string(ge.Kind), "%s", ge.Msg)
		}
		return workflows.BranchHead{}, temporal.NewApplicationErrorWithCause(fmt.Sprintf("list branches of %s: %v", in.RepoURL, err), string(gitfetch.KindTransient), err)
	}
	sha, ok := heads[in.Branch]
	if !ok {
		return workflows.BranchHead{}, permanent(ErrBranchNotFound, "branch %s was not found in %s", in.Branch, in.RepoURL)
	}
	return workflows.BranchHead{SHA: sha, NotModified: sha == in.LastSHA, RateRemaining: -1}, nil
}

// CheckGitHub asks GitHub for the head commit of owner/name's branch with a conditional
// request (GET /repos/{owner}/{repo}/commits/{branch}, Accept: application/vnd.github.sha, which
// answers the bare SHA). now is the clock rate-limit delays are computed against.
func CheckGitHub(ctx context.Context, gh *github.Client, owner, name, branch, etag string, now func() time.Time) (workflows.BranchHead, error) {
	head := workflows.BranchHead{RateRemaining: -1}
	u := fmt.Sprintf("repos/%s/%s/commits/%s", url.PathEscape(owner), url.PathEscape(name), escapeRef(branch))
	req, err := gh.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return head, permanent(workflows.ErrInvalidInput, "GitHub request for %s/%s: %v", owner, name, err)
	}
	req.Header.Set("Accept", "application/vnd.github.sha")
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	var body bytes.Buffer
	resp, err := gh.Do(ctx, req, &body)
	var hres *http.Response
	if resp != nil {
		hres = resp.Response
		if resp.Rate.Limit > 0 || resp.Rate.Remaining > 0 {
			head.RateRemaining = resp.Rate.Remaining
		}
	}
	if err == nil {
		sha := strings.TrimSpace(body.String())
		if !shaRe.MatchString(sha) {
			return head, temporal.NewApplicationError(fmt.Sprintf("GitHub answered %q, not a commit SHA", truncate(sha, 80)), ErrGitHubTransient)
		}
		head.SHA, head.ETag = sha, hres.Header.Get("ETag")
		return head, nil
	}
	if hres != nil && hres.StatusCode == http.StatusNotModified {
		// go-github reports 304 as an *ErrorResponse; it is the cheap, expected answer.
		head.NotModified, head.ETag = true, etag
		if e := hres.Header.Get("ETag"); e != "" {
			head.ETag = e
		}
		return head, nil
	}
	return head, classifyGitHub(err, hres, owner, name, branch, now)
}

// classifyGitHub turns a go-github failure into a retryable or permanent activity error.
func classifyGitHub(err error, hres *http.Response, owner, name, branch string, now func() time.Time) error {
	var rle *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	switch {
	case errors.As(err, &rle):
		return rateLimited(fmt.Sprintf("GitHub rate limit of %d requests/hour is used up until %s", rle.Rate.Limit, rle.Rate.Reset.UTC().Format(time.RFC3339)),
			rle.Rate.Reset.Time.Sub(now())+time.Second)
	case errors.As(err, &abuse):
		d := time.Minute
		if abuse.RetryAfter != nil {
			d = *abuse.RetryAfter
		}
		return rateLimited("GitHub secondary rate limit hit", d)
	case hres == nil:
		return temporal.NewApplicationErrorWithCause("GitHub API unreachable: "+err.Error(), ErrGitHubTransient, err)
	}
	code := hres.StatusCode
	if code == http.StatusForbidden || code == http.StatusTooManyRequests {
		if ra := hres.Header.Get("Retry-After"); ra != "" {
			if secs, perr := strconv.Atoi(ra); perr == nil {
				return rateLimited("GitHub secondary rate limit hit", time.Duration(secs)*time.Second)
			}
		}
		if hres.Header.Get("X-RateLimit-Remaining") == "0" {
			if reset, perr := strconv.ParseInt(hres.Header.Get("X-RateLimit-Reset"), 10, 64); perr == nil {
				return rateLimited("GitHub rate limit used up", time.Unix(reset, 0).Sub(now())+time.Second)
			}
		}
		if code == http.StatusTooManyRequests {
			return rateLimited("GitHub answered 429 Too Many Requests", time.Minute)
		}
	}
	switch {
	case code == http.StatusUnauthorized:
		return permanent(ErrGitHubAuth, "GitHub rejected the token (SKYDEPLOY_GITHUB_TOKEN): %s", hres.Status)
	case code == http.StatusNotFound || code == http.StatusUnprocessableEntity || code == http.StatusForbidden:
		return permanent(ErrBranchNotFound, "GitHub has no branch %s in %s/%s (or the repository is private and the token cannot read it): %s", branch, owner, name, hres.Status)
	}
	return temporal.NewApplicationErrorWithCause(fmt.Sprintf("GitHub API answered %s", hres.Status), ErrGitHubTransient, err)
}

// rateLimited is a retryable failure that Temporal retries after d (at least a second).
func rateLimited(msg string, d time.Duration) error {
	if d < time.Second {
		d = time.Second
	}
	if d > 2*time.Hour {
		d = 2 * time.Hour
	}
	return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("%s; retrying in %s", msg, d.Round(time.Second)), ErrRateLimited,
		temporal.ApplicationErrorOptions{NextRetryDelay: d})
}

// escapeRef escapes each segment of a branch name but keeps its slashes, as the API expects.
func escapeRef(ref string) string {
	segs := strings.Split(ref, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// hostScopedToken adds the GitHub token to requests for the API's host and to no other, so
// that a redirect (which the HTTP client follows by itself) cannot carry it elsewhere.
type hostScopedToken struct {
	base  http.RoundTripper
	host  string
	token string
}

func (t *hostScopedToken) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Del("Authorization")
	if strings.EqualFold(req.URL.Host, t.host) {
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}
