// Package apiclient is a typed Go client of the SkyDeploy gateway's API (see
// gateway/openapi.yaml): deployments, their live logs (Server-Sent Events) and projects, in the
// JSON types of internal/api that the gateway itself uses. The command-line client (skydeploy
// deploy, ls, logs, projects…) is built on it.
//
// It must never import Temporal, Redis, object storage, gin or any role package: it speaks
// HTTP to a gateway and nothing else.
package apiclient

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/skydeploy/skydeploy/internal/api"
)

// DefaultURL is the gateway of `make dev`.
const DefaultURL = "http://localhost:3001"

// Client calls one gateway with one token.
type Client struct {
	baseURL   string
	token     string
	http      *http.Client
	UserAgent string
	// Timeout bounds each call but log streams (default 2 minutes).
	Timeout time.Duration
}

// New returns a client of the gateway at baseURL (e.g. http://localhost:3001) sending token
// (none when empty).
func New(baseURL, token string) *Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = 2 * time.Minute
	return &Client{
		baseURL:   strings.TrimRight(strings.TrimSpace(baseURL), "/"),
		token:     strings.TrimSpace(token),
		http:      &http.Client{Transport: tr},
		UserAgent: "skydeploy-cli",
		Timeout:   2 * time.Minute,
	}
}

// WithHTTPClient makes the client use hc (tests, proxies).
func (c *Client) WithHTTPClient(hc *http.Client) *Client { c.http = hc; return c }

// BaseURL is the gateway's URL.
func (c *Client) BaseURL() string { return c.baseURL }

// HasToken reports whether the client sends a token.
func (c *Client) HasToken() bool { return c.token != "" }

// Error is an answer of the gateway with an error status; Message is its {"error": ...}.
type Error struct {
	StatusCode int
	Message    string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("the gateway answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	return e.Message
}

// StatusCode returns the HTTP status of an *Error in err's chain, or 0.
func StatusCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// IsUnauthorized reports whether the gateway refused the request for want of a valid token.
func IsUnauthorized(err error) bool { return StatusCode(err) == http.StatusUnauthorized }

// IsNotFound reports whether the gateway answered 404.
func IsNotFound(err error) bool { return StatusCode(err) == http.StatusNotFound }

// UnreachableError says the gateway could not be reached at all (refused, unknown host,
// timeout while connecting).
type UnreachableError struct {
	URL string
	Err error
}

func (e *UnreachableError) Error() string {
	return "cannot reach the gateway at " + e.URL + ": " + e.Err.Error()
}

func (e *UnreachableError) Unwrap() error { return e.Err }

func (c *Client) newRequest(ctx context.Context, method, path string, body any) (*http.Request, error) {
	if c.baseURL == "" {
		return nil, errors.New("no gateway URL")
	}
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, r)
	if err != nil {
		return nil, fmt.Errorf("gateway URL %q: %w", c.baseURL, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	return req, nil
}

// send performs req and returns the response when its status is 2xx, else an *Error.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	res, err := c.http.Do(req)
	if err != nil {
		if req.Context().Err() != nil {
			return nil, req.Context().Err()
		}
		var op *net.OpError
		var dns *net.DNSError
		if errors.As(err, &op) && op.Op == "dial" || errors.As(err, &dns) {
			return nil, &UnreachableError{URL: c.baseURL, Err: unwrapURLError(err)}
		}
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, unwrapURLError(err))
	}
	if res.StatusCode/100 == 2 {
		return res, nil
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	apiErr := &Error{StatusCode: res.StatusCode}
	var body api.Error
	if json.Unmarshal(data, &body) == nil && body.Error != "" {
		apiErr.Message = body.Error
	} else if s := strings.TrimSpace(string(data)); s != "" && len(s) < 300 && !strings.Contains(s, "<") {
		apiErr.Message = fmt.Sprintf("the gateway answered %d: %s", res.StatusCode, s)
	}
	return nil, apiErr
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// do sends a JSON request and decodes the JSON answer into out (when not nil).
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	req, err := c.newRequest(ctx, method, path, body)
	if err != nil {
		return err
	}
	res, err := c.send(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: unreadable answer: %w", method, path, err)
	}
	return nil
}

func esc(s string) string { return url.PathEscape(s) }

// Config returns the gateway's public settings (no token needed).
func (c *Client) Config(ctx context.Context) (api.Config, error) {
	var out api.Config
	return out, c.do(ctx, http.MethodGet, "/api/config", nil, &out)
}

// CreateDeployment deploys a repository.
func (c *Client) CreateDeployment(ctx context.Context, req api.DeploymentRequest) (api.StartedDeployment, error) {
	var out api.StartedDeployment
	return out, c.do(ctx, http.MethodPost, "/api/deployments", req, &out)
}

func listQuery(o ListOptions) string {
	q := url.Values{}
	if o.Project != "" {
		q.Set("project", o.Project)
	}
	if o.Status != "" {
		q.Set("status", o.Status)
	}
	if o.PageSize > 0 {
		q.Set("pageSize", strconv.Itoa(o.PageSize))
	}
	if o.PageToken != "" {
		q.Set("pageToken", o.PageToken)
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// ListDeployments lists deployments, newest first.
func (c *Client) ListDeployments(ctx context.Context, o ListOptions) (api.DeploymentList, error) {
	var out api.DeploymentList
	return out, c.do(ctx, http.MethodGet, "/api/deployments"+listQuery(o), nil, &out)
}

// GetDeployment returns a deployment's status.
func (c *Client) GetDeployment(ctx context.Context, id string) (api.Deployment, error) {
	var out api.Deployment
	return out, c.do(ctx, http.MethodGet, "/api/deployments/"+esc(id), nil, &out)
}

// CancelDeployment asks a running deployment to stop.
func (c *Client) CancelDeployment(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, "/api/deployments/"+esc(id)+"/cancel", nil, nil)
}

// RetryDeployment runs the failed step of a deployment that needs attention again.
func (c *Client) RetryDeployment(ctx context.Context, id string) (api.SignaledDeployment, error) {
	var out api.SignaledDeployment
	return out, c.do(ctx, http.MethodPost, "/api/deployments/"+esc(id)+"/retry", nil, &out)
}

// AbandonDeployment fails a deployment that needs attention, with a reason.
func (c *Client) AbandonDeployment(ctx context.Context, id, reason string) (api.SignaledDeployment, error) {
	var out api.SignaledDeployment
	return out, c.do(ctx, http.MethodPost, "/api/deployments/"+esc(id)+"/abandon", api.AbandonRequest{Reason: reason}, &out)
}

// Redeploy deploys the same repository, branch and settings again.
func (c *Client) Redeploy(ctx context.Context, id string) (api.StartedDeployment, error) {
	var out api.StartedDeployment
	return out, c.do(ctx, http.MethodPost, "/api/deployments/"+esc(id)+"/redeploy", nil, &out)
}

// ListProjects lists the projects.
func (c *Client) ListProjects(ctx context.Context) ([]api.Project, error) {
	var out api.ProjectList
	return out.Projects, c.do(ctx, http.MethodGet, "/api/projects", nil, &out)
}

// GetProject returns a project.
func (c *Client) GetProject(ctx context.Context, name string) (api.Project, error) {
	var out api.Project
	return out, c.do(ctx, http.MethodGet, "/api/projects/"+esc(name), nil, &out)
}

// CreateProject creates a project (Name and RepoURL are required).
func (c *Client) CreateProject(ctx context.Context, in api.ProjectInput) (api.Project, error) {
	var out api.Project
	return out, c.do(ctx, http.MethodPost, "/api/projects", in, &out)
}

// UpdateProject changes the fields of in that are set.
func (c *Client) UpdateProject(ctx context.Context, name string, in api.ProjectInput) (api.Project, error) {
	var out api.Project
	return out, c.do(ctx, http.MethodPut, "/api/projects/"+esc(name), in, &out)
}

// DeleteProject deletes a project, its schedule and aliases, and purges its deployments.
func (c *Client) DeleteProject(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/projects/"+esc(name), nil, nil)
}

// ListProjectDeployments lists a project's deployments (Live marks the one it serves).
func (c *Client) ListProjectDeployments(ctx context.Context, name string, o ListOptions) (api.DeploymentList, error) {
	o.Project, o.Status = "", ""
	var out api.DeploymentList
	return out, c.do(ctx, http.MethodGet, "/api/projects/"+esc(name)+"/deployments"+listQuery(o), nil, &out)
}

// DeployProject deploys the head of a project's production branch.
func (c *Client) DeployProject(ctx context.Context, name string) (api.StartedDeployment, error) {
	var out api.StartedDeployment
	return out, c.do(ctx, http.MethodPost, "/api/projects/"+esc(name)+"/deploy", nil, &out)
}

// Rollback makes an earlier successful deployment of the project live again.
func (c *Client) Rollback(ctx context.Context, name, deploymentID string) (api.Project, error) {
	var out api.Project
	return out, c.do(ctx, http.MethodPost, "/api/projects/"+esc(name)+"/rollback", api.RollbackRequest{DeploymentID: deploymentID}, &out)
}

// PollProject checks the project's repository for a new commit now.
func (c *Client) PollProject(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodPost, "/api/projects/"+esc(name)+"/poll", nil, nil)
}

// PauseProject stops watching the project's repository.
func (c *Client) PauseProject(ctx context.Context, name string) (api.Project, error) {
	var out api.Project
	return out, c.do(ctx, http.MethodPost, "/api/projects/"+esc(name)+"/pause", nil, &out)
}

// ResumeProject watches the project's repository again.
func (c *Client) ResumeProject(ctx context.Context, name string) (api.Project, error) {
	var out api.Project
	return out, c.do(ctx, http.MethodPost, "/api/projects/"+esc(name)+"/resume", nil, &out)
}

// Event is one Server-Sent Event of a log stream: "log" (Log), "status" (Status), "end"
// (EndStatus) or "error".
type Event struct {
	ID   string
	Name string
	Data json.RawMessage
}

// Log decodes a "log" event.
func (e Event) Log() (api.LogLine, bool) {
	var l api.LogLine
	if e.Name != "log" || json.Unmarshal(e.Data, &l) != nil {
		return l, false
	}
	if l.ID == "" {
		l.ID = e.ID
	}
	return l, true
}

// Status decodes a "status" event.
func (e Event) Status() (api.Deployment, bool) {
	var d api.Deployment
	if e.Name != "status" || json.Unmarshal(e.Data, &d) != nil {
		return d, false
	}
	return d, true
}

// EndStatus decodes an "end" event's final status.
func (e Event) EndStatus() (string, bool) {
	var v api.LogEnd
	if e.Name != "end" || json.Unmarshal(e.Data, &v) != nil {
		return "", false
	}
	return v.Status, true
}

// ErrorMessage decodes an "error" event.
func (e Event) ErrorMessage() string {
	var v api.Error
	_ = json.Unmarshal(e.Data, &v)
	return v.Error
}

// ErrStop, returned by a StreamLogs callback, ends the stream without error.
var ErrStop = errors.New("stop streaming")

// ErrStreamEnded says a log stream closed before its "end" event (resume with the last
// event id).
var ErrStreamEnded = errors.New("log stream closed before the deployment ended")

// StreamLogs follows a deployment's log, calling fn for each event, until the "end" event
// (returning nil after fn saw it), fn returns ErrStop (nil) or another error (returned), or
// ctx ends. lastEventID resumes after that event ("" = from the start).
func (c *Client) StreamLogs(ctx context.Context, id, lastEventID string, fn func(Event) error) error {
	req, err := c.newRequest(ctx, http.MethodGet, "/api/deployments/"+esc(id)+"/logs", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	res, err := c.send(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return fmt.Errorf("log stream: unexpected content type %q", ct)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var ev Event
	var data []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.Name == "" && len(data) == 0 {
				continue
			}
			if ev.Name == "" {
				ev.Name = "message"
			}
			ev.Data = json.RawMessage(strings.Join(data, "\n"))
			if err := fn(ev); err != nil {
				if errors.Is(err, ErrStop) {
					return nil
				}
				return err
			}
			if ev.Name == "end" {
				return nil
			}
			ev, data = Event{}, nil
		case strings.HasPrefix(line, ":"):
			// comment (keepalive)
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "id":
				ev.ID = value
			case "event":
				ev.Name = value
			case "data":
				data = append(data, value)
			}
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrStreamEnded, err)
	}
	return ErrStreamEnded
}
