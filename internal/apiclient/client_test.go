package apiclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/apiclient"
	"github.com/skydeploy/skydeploy/internal/detect"
)

func fakeGateway(t *testing.T, h http.HandlerFunc) *apiclient.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return apiclient.New(srv.URL+"/", "skd_test")
}

func TestRequestsAndDecoding(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	var gotAuth, gotBody, gotPath string
	c := fakeGateway(t, func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		gotPath = r.Method + " " + r.URL.RequestURI()
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/api/deployments" && r.Method == "POST":
			w.WriteHeader(202)
			json.NewEncoder(w).Encode(api.StartedDeployment{ID: "abc123", URL: "http://abc123.localhost:3002/", WorkflowID: "deploy-abc123"})
		case r.URL.Path == "/api/deployments/abc123":
			json.NewEncoder(w).Encode(api.Deployment{DeploymentStatus: api.DeploymentStatus{
				ID: "abc123", State: api.StateFailed, Step: "detect", URL: "http://u/", Error: "no index.html",
				Steps:  []api.StepState{{Name: "clone", State: "succeeded", StartedAt: &now, FinishedAt: ptr(now.Add(400 * time.Millisecond))}},
				Commit: &api.Commit{SHA: "0123456789abcdef0123456789abcdef01234567", Message: "init"},
				Plan:   &detect.Plan{Kind: detect.KindStatic, Framework: "vite"}, Project: "site", CreatedAt: now,
			}, WorkflowID: "deploy-abc123", Live: true})
		case r.URL.Path == "/api/deployments":
			fmt.Fprint(w, `{"deployments":[{"id":"a"},{"id":"b"}],"nextPageToken":"tok"}`)
		case r.URL.Path == "/api/projects/site":
			w.WriteHeader(404)
			fmt.Fprint(w, `{"error":"project site not found"}`)
		case r.URL.Path == "/api/projects/site/rollback":
			fmt.Fprint(w, `{"name":"site","liveDeploymentId":"a","watch":{"enabled":true,"interval":"1m0s"}}`)
		default:
			w.WriteHeader(500)
			fmt.Fprint(w, "boom")
		}
	})
	ctx := context.Background()
	st, err := c.CreateDeployment(ctx, api.DeploymentRequest{RepoURL: "https://github.com/o/r", Branch: "main"})
	if err != nil || st.ID != "abc123" {
		t.Fatalf("CreateDeployment = %+v, %v", st, err)
	}
	if gotAuth != "Bearer skd_test" || gotBody != `{"repoUrl":"https://github.com/o/r","branch":"main"}` {
		t.Fatalf("auth %q body %q", gotAuth, gotBody)
	}
	d, err := c.GetDeployment(ctx, "abc123")
	if err != nil {
		t.Fatal(err)
	}
	if d.State != "failed" || d.Step != "detect" || d.Error != "no index.html" || d.Plan.Kind != "static" || d.Commit.SHA[:7] != "0123456" ||
		!d.Live || d.WorkflowID != "deploy-abc123" || d.Project != "site" || len(d.Steps) != 1 || d.Steps[0].Duration(time.Now()) != 400*time.Millisecond {
		t.Fatalf("GetDeployment = %+v", d)
	}
	list, err := c.ListDeployments(ctx, apiclient.ListOptions{Project: "site", Status: "failed", PageSize: 5})
	if err != nil || len(list.Deployments) != 2 || list.NextPageToken != "tok" {
		t.Fatalf("ListDeployments = %+v, %v", list, err)
	}
	if gotPath != "GET /api/deployments?pageSize=5&project=site&status=failed" {
		t.Fatalf("list request %q", gotPath)
	}
	_, err = c.GetProject(ctx, "site")
	if !apiclient.IsNotFound(err) || err.Error() != "project site not found" {
		t.Fatalf("GetProject error = %v", err)
	}
	p, err := c.Rollback(ctx, "site", "a")
	if err != nil || p.LiveDeploymentID != "a" || gotBody != `{"deploymentId":"a"}` {
		t.Fatalf("Rollback = %+v, %v (body %s)", p, err, gotBody)
	}
	err = c.CancelDeployment(ctx, "zzz")
	if apiclient.StatusCode(err) != 500 || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("500 error = %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestUnauthorizedAndUnreachable(t *testing.T) {
	c := fakeGateway(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401)
		fmt.Fprint(w, `{"error":"an API token is required"}`)
	})
	_, err := c.ListProjects(context.Background())
	if !apiclient.IsUnauthorized(err) {
		t.Fatalf("err = %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = apiclient.New("http://"+addr, "").ListProjects(context.Background())
	var ue *apiclient.UnreachableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "cannot reach the gateway at http://"+addr) {
		t.Fatalf("err = %v", err)
	}
}

func TestStreamLogs(t *testing.T) {
	var lastID string
	c := fakeGateway(t, func(w http.ResponseWriter, r *http.Request) {
		lastID = r.Header.Get("Last-Event-ID")
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, ": keepalive\n\n")
		fmt.Fprint(w, "id: 1-0\nevent: log\ndata: {\"step\":\"clone\",\"stream\":\"system\",\"line\":\"Cloning\"}\n\n")
		fmt.Fprint(w, "event: status\ndata: {\"id\":\"x\",\"status\":\"running\",\"step\":\"build\"}\n\n")
		fmt.Fprint(w, "id: 2-0\nevent: log\ndata: {\"step\":\"build\",\"stream\":\"stdout\",\"line\":\"vite build\"}\n\n")
		fmt.Fprint(w, "event: end\ndata: {\"status\":\"succeeded\"}\n\n")
	})
	var got []string
	err := c.StreamLogs(context.Background(), "x", "0-1", func(ev apiclient.Event) error {
		switch ev.Name {
		case "log":
			l, _ := ev.Log()
			got = append(got, l.ID+" "+l.Step+" "+l.Text)
		case "status":
			d, _ := ev.Status()
			got = append(got, "status "+d.State+" "+d.Step)
		case "end":
			s, _ := ev.EndStatus()
			got = append(got, "end "+s)
		}
		return nil
	})
	want := "1-0 clone Cloning|status running build|2-0 build vite build|end succeeded"
	if err != nil || strings.Join(got, "|") != want || lastID != "0-1" {
		t.Fatalf("events %q, err %v, Last-Event-ID %q", strings.Join(got, "|"), err, lastID)
	}
	// Stopping early.
	n := 0
	err = c.StreamLogs(context.Background(), "x", "", func(ev apiclient.Event) error {
		n++
		return apiclient.ErrStop
	})
	if err != nil || n != 1 {
		t.Fatalf("ErrStop: n=%d err=%v", n, err)
	}
}
