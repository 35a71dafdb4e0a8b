package githead

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/skydeploy/skydeploy/bench/poll/fakegithub"
	"github.com/skydeploy/skydeploy/workflows"
)

func newFakeGitHub(t *testing.T) (*fakegithub.Server, *Checker) {
	t.Helper()
	fake := fakegithub.New()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, &Checker{GitHubAPIURL: srv.URL, GitHubToken: "test-token"}
}

func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("error %v (%T) is not an application error", err, err)
	}
	return appErr
}

func TestCheckConditionalRequests(t *testing.T) {
	fake, p := newFakeGitHub(t)
	ctx := context.Background()
	sha1 := fake.Push("acme", "site", "main")
	in := branchHeadIn("https://github.com/acme/site", "main")

	head, err := p.Check(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if head.SHA != sha1 || head.NotModified || head.ETag == "" || head.RateRemaining != 4999 {
		t.Fatalf("first check = %+v, want %s with an ETag and 4999 remaining", head, sha1)
	}
	in.ETag, in.LastSHA = head.ETag, head.SHA
	again, err := p.Check(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !again.NotModified || again.ETag != head.ETag {
		t.Fatalf("second check = %+v, want 304 not modified", again)
	}
	sha2 := fake.Push("acme", "site", "main")
	moved, err := p.Check(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if moved.NotModified || moved.SHA != sha2 || moved.ETag == head.ETag {
		t.Fatalf("after push = %+v, want %s", moved, sha2)
	}
	st := fake.Stats()
	if st.Requests != 3 || st.Counted != 2 || st.NotModified != 1 {
		t.Fatalf("fake stats = %+v, want 3 requests, 2 counted, 1 not modified", st)
	}
}

func TestCheckFailures(t *testing.T) {
	ctx := context.Background()
	in := branchHeadIn("https://github.com/acme/site", "main")

	t.Run("primary rate limit waits until reset", func(t *testing.T) {
		fake, p := newFakeGitHub(t)
		fake.Push("acme", "site", "main")
		fake.ResetIn = 20 * time.Minute
		fake.SetMode(fakegithub.ModeRateLimit, 1)
		_, err := p.Check(ctx, in)
		appErr := appError(t, err)
		if appErr.Type() != ErrRateLimited || appErr.NonRetryable() {
			t.Fatalf("error = %v (type %s)", err, appErr.Type())
		}
		if d := appErr.NextRetryDelay(); d < 19*time.Minute || d > 21*time.Minute {
			t.Fatalf("NextRetryDelay = %s, want about 20m", d)
		}
	})
	t.Run("secondary limit honours Retry-After", func(t *testing.T) {
		for _, mode := range []fakegithub.Mode{fakegithub.ModeSecondary, fakegithub.ModeAbuse403RA} {
			fake, p := newFakeGitHub(t)
			fake.Push("acme", "site", "main")
			fake.RetryAfter = 42 * time.Second
			fake.SetMode(mode, 1)
			_, err := p.Check(ctx, in)
			appErr := appError(t, err)
			if appErr.Type() != ErrRateLimited || appErr.NextRetryDelay() != 42*time.Second {
				t.Fatalf("%s: error = %v, delay %s", mode, err, appErr.NextRetryDelay())
			}
		}
	})
	t.Run("outage is retryable", func(t *testing.T) {
		fake, p := newFakeGitHub(t)
		fake.Push("acme", "site", "main")
		fake.SetMode(fakegithub.ModeDown, 1)
		_, err := p.Check(ctx, in)
		appErr := appError(t, err)
		if appErr.NonRetryable() || appErr.Type() != ErrGitHubTransient || appErr.NextRetryDelay() != 0 {
			t.Fatalf("error = %v", err)
		}
		if _, err := p.Check(ctx, in); err != nil {
			t.Fatalf("after the outage: %v", err)
		}
	})
	t.Run("unknown branch is permanent", func(t *testing.T) {
		_, p := newFakeGitHub(t)
		_, err := p.Check(ctx, in)
		if appErr := appError(t, err); !appErr.NonRetryable() || appErr.Type() != ErrBranchNotFound {
			t.Fatalf("error = %v", err)
		}
	})
	t.Run("network failure is retryable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		p := &Checker{GitHubAPIURL: srv.URL}
		_, err := p.Check(ctx, in)
		if appErr := appError(t, err); appErr.NonRetryable() {
			t.Fatalf("error = %v", err)
		}
	})
}

func branchHeadIn(repoURL, branch string) workflows.BranchHeadInput {
	return workflows.BranchHeadInput{RepoURL: repoURL, Branch: branch}
}

// The GitHub token goes to the API's host only: when the API redirects elsewhere (the HTTP
// client follows by itself), the other host gets no Authorization header.
func TestGitHubTokenStaysOnTheAPIHost(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	var elsewhere []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere = append(elsewhere, r.Header.Get("Authorization"))
		w.Write([]byte(sha))
	}))
	defer other.Close()
	var apiAuth []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiAuth = append(apiAuth, r.Header.Get("Authorization"))
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer api.Close()
	p := &Checker{GitHubAPIURL: api.URL, GitHubToken: "test-token"}
	head, err := p.Check(context.Background(), branchHeadIn("https://github.com/acme/site", "main"))
	if err != nil {
		t.Fatal(err)
	}
	if head.SHA != sha {
		t.Fatalf("head = %+v: the redirect was not followed", head)
	}
	if len(apiAuth) != 1 || apiAuth[0] != "Bearer test-token" {
		t.Errorf("the API host saw %q, want the token", apiAuth)
	}
	if len(elsewhere) != 1 || elsewhere[0] != "" {
		t.Errorf("the redirect target saw Authorization %q, want none", elsewhere)
	}
}
