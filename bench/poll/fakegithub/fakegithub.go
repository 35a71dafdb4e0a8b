// Package fakegithub is a fake of the one GitHub REST endpoint SkyDeploy's poller uses,
// GET /repos/{owner}/{repo}/commits/{ref} with Accept: application/vnd.github.sha, including
// ETags and If-None-Match (304 answers are free, as on GitHub with a token), the X-RateLimit-*
// headers of an hourly budget, and failure modes (primary and secondary rate limits, outages).
// The poll benchmark and the activity tests use it.
package fakegithub

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Mode makes the fake fail on purpose.
type Mode string

const (
	ModeNormal     Mode = ""
	ModeRateLimit  Mode = "ratelimit" // 403 with X-RateLimit-Remaining: 0
	ModeSecondary  Mode = "secondary" // 429 with Retry-After
	ModeDown       Mode = "down"      // 502
	ModeAbuse403RA Mode = "abuse403"  // 403 with Retry-After (secondary limit)
)

// Stats counts what the fake answered.
type Stats struct {
	Requests    int // every request
	Counted     int // requests that spent budget (not 304)
	NotModified int
	Limited     int // rate-limit answers
	Errors      int
}

// Server is the fake API. Now is its clock (time.Now when nil).
type Server struct {
	Now func() time.Time
	// Budget is the hourly request budget (5000 when 0).
	Budget int
	// RetryAfter is the delay announced by secondary limits.
	RetryAfter time.Duration
	// ResetIn is how far away the primary limit's reset is announced in ModeRateLimit.
	ResetIn time.Duration

	mu          sync.Mutex
	heads       map[string]string // "owner/repo/branch" -> sha
	mode        Mode
	failFor     int // failing answers left before the mode ends (0 = until changed)
	stats       Stats
	windowStart time.Time
	used        int
}

// New returns an empty fake.
func New() *Server { return &Server{heads: map[string]string{}} }

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// SetHead sets a branch head.
func (s *Server) SetHead(owner, repo, branch, sha string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.heads[owner+"/"+repo+"/"+branch] = sha
}

// Push moves a branch to a new random commit and returns it.
func (s *Server) Push(owner, repo, branch string) string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	sha := hex.EncodeToString(b[:])
	s.SetHead(owner, repo, branch, sha)
	return sha
}

// SetMode makes the next n answers (0: all, until the next SetMode) fail as mode says.
func (s *Server) SetMode(mode Mode, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode, s.failFor = mode, n
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// ServeHTTP implements the endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Requests++
	now := s.now()
	budget := s.Budget
	if budget == 0 {
		budget = 5000
	}
	if s.windowStart.IsZero() || now.Sub(s.windowStart) >= time.Hour {
		s.windowStart, s.used = now, 0
	}
	reset := s.windowStart.Add(time.Hour)
	rate := func(remaining int) {
		w.Header().Set("X-RateLimit-Limit", strconv.Itoa(budget))
		w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(max(remaining, 0)))
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		w.Header().Set("X-RateLimit-Used", strconv.Itoa(s.used))
	}
	if s.mode != ModeNormal {
		mode := s.mode
		if s.failFor > 0 {
			s.failFor--
			if s.failFor == 0 {
				s.mode = ModeNormal
			}
		}
		switch mode {
		case ModeRateLimit:
			s.stats.Limited++
			if s.ResetIn > 0 {
				reset = now.Add(s.ResetIn)
			}
			rate(0)
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
			jsonError(w, http.StatusForbidden, "API rate limit exceeded", "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting")
		case ModeSecondary, ModeAbuse403RA:
			s.stats.Limited++
			ra := s.RetryAfter
			if ra == 0 {
				ra = 30 * time.Second
			}
			w.Header().Set("Retry-After", strconv.Itoa(int(ra/time.Second)))
			code := http.StatusTooManyRequests
			if mode == ModeAbuse403RA {
				code = http.StatusForbidden
			}
			jsonError(w, code, "You have exceeded a secondary rate limit", "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")
		default:
			s.stats.Errors++
			jsonError(w, http.StatusBadGateway, "Server Error", "")
		}
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/repos/")
	parts := strings.SplitN(rest, "/", 4)
	if !ok || r.Method != http.MethodGet || len(parts) != 4 || parts[2] != "commits" {
		s.stats.Errors++
		jsonError(w, http.StatusNotFound, "Not Found", "")
		return
	}
	sha, found := s.heads[parts[0]+"/"+parts[1]+"/"+parts[3]]
	etag := fmt.Sprintf(`"%s"`, sha)
	if found && r.Header.Get("If-None-Match") == etag {
		s.stats.NotModified++
		rate(budget - s.used)
		w.Header().Set("ETag", etag)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if s.used >= budget {
		s.stats.Limited++
		rate(0)
		jsonError(w, http.StatusForbidden, "API rate limit exceeded", "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting")
		return
	}
	s.used++
	s.stats.Counted++
	rate(budget - s.used)
	if !found {
		jsonError(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+parts[3], "")
		return
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "application/vnd.github.sha; charset=utf-8")
	_, _ = w.Write([]byte(sha))
}

func jsonError(w http.ResponseWriter, code int, msg, doc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"message":%q,"documentation_url":%q}`, msg, doc)
}
