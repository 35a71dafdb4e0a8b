// Package metrics holds SkyDeploy's Prometheus metrics: one registry per process, served at
// /metrics by the gateway and (on SKYDEPLOY_METRICS_ADDR) by workers; an adapter that turns the
// Temporal SDK's metrics (worker polls, task latencies, activity failures…) into Prometheus
// series; and the platform's own deployment metrics.
//
// Workflows must stay deterministic, so they record through workflow.GetMetricsHandler(ctx)
// (RecordDeploymentFinished, RecordStepDuration), which the SDK silences during replay; the
// same names land in the same Prometheus families as the direct functions below.
//
// It must never import Redis, object storage, gin or any SkyDeploy package: it knows Prometheus
// and the Temporal SDK, and the roles call it.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metric names of the platform's own series.
const (
	NameHTTPRequests        = "skydeploy_gateway_requests_total"
	NameHTTPDuration        = "skydeploy_gateway_request_duration_seconds"
	NameDeploymentsStarted  = "skydeploy_deployments_started_total"
	NameDeploymentsFinished = "skydeploy_deployments_finished_total"
	NameStepDuration        = "skydeploy_deployment_step_duration_seconds"
	NameBuildQueueBacklog   = "skydeploy_build_queue_backlog"
	NameBuildQueuePollers   = "skydeploy_build_queue_pollers"
	NameBuildPeakMemory     = "skydeploy_build_step_peak_memory_bytes"
	NameBuildEgressBytes    = "skydeploy_build_egress_bytes_total"
	NameBuildEgressRefused  = "skydeploy_build_egress_refused_total"
)

// DurationBuckets are the histogram buckets (seconds) of timers: from a millisecond (a poll
// answered at once) to the build time limit.
var DurationBuckets = []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800}

// Registry is the process's registry: Go runtime and process metrics, the platform's series
// and, through the adapter, the Temporal SDK's.
var Registry = prometheus.NewRegistry()

var (
	httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: NameHTTPRequests, Help: "Gateway requests answered, by route pattern, method and status code.",
	}, []string{"method", "route", "code"})
	httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: NameHTTPDuration, Help: "Time the gateway took to answer (log streams: until the stream ended).",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
	}, []string{"method", "route"})
	deploymentsStarted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: NameDeploymentsStarted, Help: "Deployment workflows started by this process, by trigger (api, redeploy, poll, webhook…).",
	}, []string{"trigger"})
	deploymentsFinished = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: NameDeploymentsFinished, Help: "Deployments that ended, by project kind (static, node) and status (succeeded, failed, canceled).",
	}, []string{"kind", "status"})
	stepDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: NameStepDuration, Help: "Duration of deployment steps (clone, detect, upload, build, publish) in seconds.",
		Buckets: DurationBuckets,
	}, []string{"step"})
	buildQueueBacklog = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: NameBuildQueueBacklog, Help: "Approximate number of build tasks waiting on the build task queue (sampled every 15s; -1 when unknown).",
	}, []string{"task_queue"})
	buildQueuePollers = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: NameBuildQueuePollers, Help: "Build workers polling the build task queue recently (sampled every 15s).",
	}, []string{"task_queue"})
)

var (
	buildPeakMemory = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: NameBuildPeakMemory, Help: "Peak memory (working set) of a build step's whole process tree, by step (install, build).",
		Buckets: prometheus.ExponentialBuckets(16<<20, 2, 10), // 16 MiB .. 8 GiB
	}, []string{"step"})
	buildEgressBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: NameBuildEgressBytes, Help: "Bytes carried by the build egress proxy, by step.",
	}, []string{"step"})
	buildEgressRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: NameBuildEgressRefused, Help: "Connections the build egress proxy refused, by step.",
	}, []string{"step"})
)

// BuildStep records what one sandboxed build step used.
func BuildStep(step string, peakMemory, egressBytes int64, egressRefused int) {
	if peakMemory > 0 {
		buildPeakMemory.WithLabelValues(step).Observe(float64(peakMemory))
	}
	buildEgressBytes.WithLabelValues(step).Add(float64(egressBytes))
	buildEgressRefused.WithLabelValues(step).Add(float64(egressRefused))
}

// own maps the names of the platform's series to their vectors, so the Temporal adapter
// records into them (workflow.GetMetricsHandler) instead of making a second family.
var own = map[string]any{
	NameDeploymentsFinished: ownVec{counter: deploymentsFinished, labels: []string{"kind", "status"}},
	NameStepDuration:        ownVec{hist: stepDuration, labels: []string{"step"}},
	NameDeploymentsStarted:  ownVec{counter: deploymentsStarted, labels: []string{"trigger"}},
}

type ownVec struct {
	counter *prometheus.CounterVec
	hist    *prometheus.HistogramVec
	labels  []string
}

// sdk collects the Temporal SDK's series (see temporal.go).
var sdk = newSDKCollector()

func init() {
	Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		httpRequests, httpDuration, deploymentsStarted, deploymentsFinished, stepDuration,
		buildQueueBacklog, buildQueuePollers, buildPeakMemory, buildEgressBytes, buildEgressRefused, sdk,
	)
}

// Handler serves the registry in the Prometheus text format. A collector that fails is
// reported in the log of the scrape but does not fail it.
func Handler() http.Handler {
	return promhttp.HandlerFor(Registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, Registry: Registry})
}

// ObserveRequest records one gateway request. route is the route pattern (never the raw path,
// which would make a series per deployment id).
func ObserveRequest(method, route string, code int, d time.Duration) {
	httpRequests.WithLabelValues(method, route, strconv.Itoa(code)).Inc()
	httpDuration.WithLabelValues(method, route).Observe(d.Seconds())
}

// DeploymentStarted counts a deployment workflow started with the given trigger.
func DeploymentStarted(trigger string) {
	if trigger == "" {
		trigger = "unknown"
	}
	deploymentsStarted.WithLabelValues(trigger).Inc()
}

// DeploymentFinished counts a deployment that ended. kind is the plan's kind ("static",
// "node"; "" before detection → "unknown"), state the final status (succeeded, failed,
// canceled). Call it from an activity; from a workflow use RecordDeploymentFinished.
func DeploymentFinished(kind, state string) {
	if kind == "" {
		kind = "unknown"
	}
	deploymentsFinished.WithLabelValues(kind, state).Inc()
}

// StepDuration records how long a deployment step took. Call it from an activity; from a
// workflow use RecordStepDuration.
func StepDuration(step string, d time.Duration) {
	stepDuration.WithLabelValues(step).Observe(d.Seconds())
}

// SetBuildQueue records the sampled backlog and poller count of a task queue; backlog < 0
// means unknown.
func SetBuildQueue(taskQueue string, backlog int64, pollers int) {
	buildQueueBacklog.WithLabelValues(taskQueue).Set(float64(backlog))
	buildQueuePollers.WithLabelValues(taskQueue).Set(float64(pollers))
}
