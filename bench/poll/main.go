// Command poll benchmarks SkyDeploy's repository polling against a fake GitHub: many watched
// repositories polled every minute with the real conditional-request code (go-github, ETag,
// If-None-Match) over real HTTP, on a simulated clock, while commits are pushed to some of them.
// It prints the requests made, those counted against the hourly budget (non-304), failed polls,
// rate-limit answers and deployments started.
//
//	go run ./bench/poll -repos 1000 -minutes 10 -push-rate 0.05
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/skydeploy/skydeploy/bench/poll/fakegithub"
	"github.com/skydeploy/skydeploy/internal/githead"
)

type repoState struct {
	name    string
	etag    string
	lastSHA string
}

func main() {
	repos := flag.Int("repos", 1000, "watched repositories")
	minutes := flag.Int("minutes", 10, "simulated minutes (one poll of every repository per minute)")
	pushRate := flag.Float64("push-rate", 0.05, "share of repositories receiving a commit each minute")
	budget := flag.Int("budget", 5000, "hourly request budget of the token")
	workers := flag.Int("concurrency", 32, "polls in flight at once")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()

	var clockMu sync.Mutex
	now := time.Now().Truncate(time.Minute)
	clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }

	fake := fakegithub.New()
	fake.Now, fake.Budget = clock, *budget
	srv := httptest.NewServer(fake)
	defer srv.Close()
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *workers}}
	gh, err := githead.NewGitHubClient(hc, srv.URL, "bench-token")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}

	rng := rand.New(rand.NewPCG(*seed, *seed))
	state := make([]*repoState, *repos)
	for i := range state {
		state[i] = &repoState{name: fmt.Sprintf("repo-%04d", i)}
		fake.Push("bench", state[i].name, "main")
	}
	var pushes, polls, failed, rateLimited, deployments atomic.Int64
	ctx := context.Background()
	start := time.Now()
	for m := 0; m < *minutes; m++ {
		if m > 0 {
			// Commits land between polls: a distinct random set of repositories each minute.
			for _, i := range rng.Perm(*repos)[:int(float64(*repos)**pushRate)] {
				fake.Push("bench", state[i].name, "main")
				pushes.Add(1)
			}
		}
		jobs := make(chan *repoState)
		var wg sync.WaitGroup
		for w := 0; w < *workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range jobs {
					polls.Add(1)
					head, err := githead.CheckGitHub(ctx, gh, "bench", r.name, "main", r.etag, clock)
					if err != nil {
						failed.Add(1)
						var appErr *temporal.ApplicationError
						if errors.As(err, &appErr) && appErr.Type() == githead.ErrRateLimited {
							rateLimited.Add(1)
						}
						continue
					}
					if head.ETag != "" {
						r.etag = head.ETag
					}
					if !head.NotModified && head.SHA != r.lastSHA {
						r.lastSHA = head.SHA
						deployments.Add(1) // the poll workflow would start deploy-<DeploymentFor(project, sha)>
					}
				}
			}()
		}
		for _, r := range state {
			jobs <- r
		}
		close(jobs)
		wg.Wait()
		clockMu.Lock()
		now = now.Add(time.Minute)
		clockMu.Unlock()
	}
	st := fake.Stats()
	want := int64(*repos) + pushes.Load()
	fmt.Printf("repositories:            %d polled every minute for %d simulated minutes (%s wall time)\n", *repos, *minutes, time.Since(start).Round(time.Millisecond))
	fmt.Printf("polls:                   %d\n", polls.Load())
	fmt.Printf("requests made:           %d (%d answered 304 Not Modified)\n", st.Requests, st.NotModified)
	fmt.Printf("counted against budget:  %d of %d/hour (commits pushed %d + 1 initial per repository = %d)\n", st.Counted, *budget, pushes.Load(), want)
	fmt.Printf("failed polls:            %d\n", failed.Load())
	fmt.Printf("rate-limit errors:       %d (fake answered %d rate-limit responses)\n", rateLimited.Load(), st.Limited)
	fmt.Printf("deployments started:     %d\n", deployments.Load())
	if failed.Load() != 0 || rateLimited.Load() != 0 || int64(st.Counted) != want || deployments.Load() != want {
		fmt.Println("RESULT: FAIL")
		os.Exit(1)
	}
	fmt.Println("RESULT: OK")
}
