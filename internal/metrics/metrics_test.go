package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T) string {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics = %d: %s", rec.Code, rec.Body)
	}
	if _, err := Registry.Gather(); err != nil {
		t.Fatalf("gather: %v", err)
	}
	return rec.Body.String()
}

func TestTemporalHandlerSeries(t *testing.T) {
	h := NewTemporalHandler().WithTags(map[string]string{"namespace": "default", "client-name": "temporal_go"})
	h.Counter("temporal_request").Inc(2)
	// The same name with more tags (a worker's) is a second series in the same family.
	w := h.WithTags(map[string]string{"task_queue": "q", "worker_type": "ActivityWorker"})
	w.Counter("temporal_request").Inc(1)
	w.Counter("temporal_workflow_task_queue_poll_succeed").Inc(1)
	w.Gauge("temporal_num_pollers").Update(3)
	w.Timer("temporal_activity_execution_latency").Record(1500 * time.Millisecond)
	w.Timer("temporal.weird-name/x").Record(time.Millisecond)
	// A name reused with another kind is dropped, never breaking the scrape.
	w.Gauge("temporal_request").Update(1)
	w.Counter("temporal_request").Inc(-1) // negative increments are ignored

	out := scrape(t)
	for _, want := range []string{
		`temporal_request{client_name="temporal_go",namespace="default"} 2`,
		`temporal_request{client_name="temporal_go",namespace="default",task_queue="q",worker_type="ActivityWorker"} 1`,
		`temporal_workflow_task_queue_poll_succeed{`,
		`temporal_num_pollers{client_name="temporal_go",namespace="default",task_queue="q",worker_type="ActivityWorker"} 3`,
		`temporal_activity_execution_latency_bucket{client_name="temporal_go",namespace="default",task_queue="q",worker_type="ActivityWorker",le="2.5"} 1`,
		`temporal_activity_execution_latency_sum{client_name="temporal_go",namespace="default",task_queue="q",worker_type="ActivityWorker"} 1.5`,
		`temporal_weird_name_x_count{`,
		"go_goroutines ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestDeploymentMetrics(t *testing.T) {
	DeploymentStarted("api")
	DeploymentStarted("")
	DeploymentFinished("static", "succeeded")
	StepDuration("clone", 400*time.Millisecond)
	// Through the SDK handler (as a workflow would), extra SDK tags are dropped.
	wf := NewTemporalHandler().WithTags(map[string]string{"namespace": "default", "workflow_type": "Deploy"})
	RecordDeploymentFinished(wf, "node", "failed")
	RecordDeploymentFinished(wf, "", "canceled")
	RecordStepDuration(wf, "build", 3*time.Second)
	ObserveRequest("GET", "/api/deployments/:id", 200, 5*time.Millisecond)
	SetBuildQueue("skydeploy-build", 4, 1)

	out := scrape(t)
	for _, want := range []string{
		`skydeploy_deployments_started_total{trigger="api"} 1`,
		`skydeploy_deployments_started_total{trigger="unknown"} 1`,
		`skydeploy_deployments_finished_total{kind="static",status="succeeded"} 1`,
		`skydeploy_deployments_finished_total{kind="node",status="failed"} 1`,
		`skydeploy_deployments_finished_total{kind="unknown",status="canceled"} 1`,
		`skydeploy_deployment_step_duration_seconds_count{step="clone"} 1`,
		`skydeploy_deployment_step_duration_seconds_sum{step="build"} 3`,
		`skydeploy_gateway_requests_total{code="200",method="GET",route="/api/deployments/:id"} 1`,
		`skydeploy_gateway_request_duration_seconds_count{method="GET",route="/api/deployments/:id"} 1`,
		`skydeploy_build_queue_backlog{task_queue="skydeploy-build"} 4`,
		`skydeploy_build_queue_pollers{task_queue="skydeploy-build"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"temporal_request": "temporal_request", "a.b-c": "a_b_c", "9lives": "_9lives", "": "_", "ns:sub": "ns:sub",
	} {
		if got := SanitizeName(in); got != want {
			t.Errorf("SanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := sanitizeLabel("ns:sub"); got != "ns_sub" {
		t.Errorf("sanitizeLabel(ns:sub) = %q", got)
	}
	if got := sanitizeLabel("__name"); got != "x__name" {
		t.Errorf("sanitizeLabel(__name) = %q", got)
	}
}
