package gitfetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/skydeploy/skydeploy/internal/repourl"
)

// ErrTooLarge is returned when a clone fetches more bytes than its limit.
var ErrTooLarge = errors.New("repository is larger than the limit")

// ErrInternalAddress is returned when a connection would reach an internal address.
var ErrInternalAddress = errors.New("connection to an internal address refused")

type ctxKey int

const policyKey ctxKey = 1

// fetchPolicy travels with a clone's context to the shared HTTP transport.
type fetchPolicy struct {
	allowPrivate bool
	budget       *byteBudget
	credentials  Credentials
	// internal decides which addresses are refused; nil means repourl.IsInternal (tests
	// replace it to let one loopback server stand for a public host).
	internal func(netip.AddrPort) bool
}

func (p *fetchPolicy) isInternal(ap netip.AddrPort) bool {
	if p.internal != nil {
		return p.internal(ap)
	}
	return repourl.IsInternal(ap.Addr())
}

type byteBudget struct {
	mu    sync.Mutex
	limit int64
	used  int64
}

func (b *byteBudget) take(n int) error {
	if b == nil || b.limit <= 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used += int64(n)
	if b.used > b.limit {
		return fmt.Errorf("%w: fetched more than %d bytes", ErrTooLarge, b.limit)
	}
	return nil
}

func withPolicy(ctx context.Context, p *fetchPolicy) context.Context {
	return context.WithValue(ctx, policyKey, p)
}

func policyFrom(ctx context.Context) *fetchPolicy {
	p, _ := ctx.Value(policyKey).(*fetchPolicy)
	if p == nil {
		return &fetchPolicy{}
	}
	return p
}

var installOnce sync.Once

// install replaces go-git's http and https transports with the guarded one. go-git keeps its
// transports in a process-wide registry, so this happens once per process; the per-clone
// policy comes from each request's context.
func install() {
	installOnce.Do(func() {
		c := &http.Client{
			Transport: &limitTransport{base: guardedTransport()},
			Timeout:   0, // bounded by the activity's context instead
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) >= 5 {
					return errors.New("too many redirects")
				}
				return nil
			},
		}
		t := githttp.NewClient(c)
		client.InstallProtocol("http", t)
		client.InstallProtocol("https", t)
	})
}

func guardedTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // a proxy would hide the real destination from the guard
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		pol := policyFrom(ctx)
		d := *dialer
		d.Control = func(_, address string, _ syscall.RawConn) error {
			if pol.allowPrivate {
				return nil
			}
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrInternalAddress, address)
			}
			if pol.isInternal(ap) {
				return fmt.Errorf("%w: %s", ErrInternalAddress, ap.Addr())
			}
			return nil
		}
		return d.DialContext(ctx, network, addr)
	}
	tr.ResponseHeaderTimeout = 60 * time.Second
	return tr
}

// limitTransport applies a clone's policy to each request, redirected ones included: the
// credential of the request's own host (or none), and the byte budget on the answer.
type limitTransport struct{ base http.RoundTripper }

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	pol := policyFrom(req.Context())
	req = req.Clone(req.Context())
	pol.credentials.apply(req)
	res, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if b := pol.budget; b != nil {
		res.Body = &countingBody{ReadCloser: res.Body, budget: b}
	}
	return res, nil
}

type countingBody struct {
	io.ReadCloser
	budget *byteBudget
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	if n > 0 {
		if berr := c.budget.take(n); berr != nil {
			// No byte past the budget reaches the reader: a reader that asked for exactly n
			// bytes (io.ReadFull, as go-git's pkt-line decoder does) would take them and drop
			// the error, and the fetch would carry on.
			return 0, berr
		}
	}
	return n, err
}
