package metrics

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// NewTemporalHandler returns a Temporal SDK metrics handler (client.Options.MetricsHandler)
// that records into Registry: counters as Prometheus counters, gauges as gauges, timers as
// histograms in seconds (DurationBuckets). Series are made on first use, one vector per metric
// name and set of tag keys; names and tag keys are sanitised to Prometheus' alphabet.
func NewTemporalHandler() client.MetricsHandler { return temporalHandler{} }

type temporalHandler struct {
	tags map[string]string
}

func (h temporalHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[sanitizeLabel(k)] = v
	}
	return temporalHandler{tags: merged}
}

func (h temporalHandler) Counter(name string) client.MetricsCounter {
	name = SanitizeName(name)
	if o, ok := own[name].(ownVec); ok && o.counter != nil {
		c := o.counter.WithLabelValues(project(h.tags, o.labels)...)
		return counterFunc(func(d int64) {
			if d > 0 {
				c.Add(float64(d))
			}
		})
	}
	v := sdk.vec(name, kindCounter, h.tags)
	if v == nil {
		return client.MetricsNopHandler.Counter(name)
	}
	c := v.counter.WithLabelValues(project(h.tags, v.labels)...)
	return counterFunc(func(d int64) {
		if d > 0 {
			c.Add(float64(d))
		}
	})
}

func (h temporalHandler) Gauge(name string) client.MetricsGauge {
	name = SanitizeName(name)
	if _, ok := own[name]; ok {
		return client.MetricsNopHandler.Gauge(name)
	}
	v := sdk.vec(name, kindGauge, h.tags)
	if v == nil {
		return client.MetricsNopHandler.Gauge(name)
	}
	g := v.gauge.WithLabelValues(project(h.tags, v.labels)...)
	return client.MetricsGauge(gaugeFunc(g.Set))
}

func (h temporalHandler) Timer(name string) client.MetricsTimer {
	name = SanitizeName(name)
	if o, ok := own[name].(ownVec); ok && o.hist != nil {
		obs := o.hist.WithLabelValues(project(h.tags, o.labels)...)
		return timerFunc(func(d time.Duration) { obs.Observe(d.Seconds()) })
	}
	v := sdk.vec(name, kindTimer, h.tags)
	if v == nil {
		return client.MetricsNopHandler.Timer(name)
	}
	obs := v.hist.WithLabelValues(project(h.tags, v.labels)...)
	return timerFunc(func(d time.Duration) { obs.Observe(d.Seconds()) })
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

type gaugeFunc func(float64)

func (f gaugeFunc) Update(v float64) { f(v) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }

// project returns the values of labels from tags ("" for a missing tag).
func project(tags map[string]string, labels []string) []string {
	vals := make([]string, len(labels))
	for i, l := range labels {
		vals[i] = tags[l]
	}
	return vals
}

type metricKind int

const (
	kindCounter metricKind = iota + 1
	kindGauge
	kindTimer
)

// sdkCollector holds the SDK's series. It is an unchecked collector (it describes nothing),
// which lets one family have series with different label sets — the SDK adds tags as it goes
// (client, then worker, then activity) — while a family keeps one type and help text.
type sdkCollector struct {
	mu       sync.RWMutex
	families map[string]*sdkFamily
}

type sdkFamily struct {
	kind metricKind
	vecs map[string]*sdkVec // by joined label names
}

type sdkVec struct {
	labels  []string
	counter *prometheus.CounterVec
	gauge   *prometheus.GaugeVec
	hist    *prometheus.HistogramVec
	coll    prometheus.Collector
}

func newSDKCollector() *sdkCollector { return &sdkCollector{families: map[string]*sdkFamily{}} }

func (c *sdkCollector) Describe(chan<- *prometheus.Desc) {}

func (c *sdkCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, f := range c.families {
		for _, v := range f.vecs {
			v.coll.Collect(ch)
		}
	}
}

// vec returns the vector of name with the label set of tags, making it on first use; nil when
// name is already a family of another kind.
func (c *sdkCollector) vec(name string, kind metricKind, tags map[string]string) *sdkVec {
	labels := make([]string, 0, len(tags))
	for k := range tags {
		labels = append(labels, k)
	}
	sort.Strings(labels)
	key := strings.Join(labels, ",")
	c.mu.RLock()
	f := c.families[name]
	var v *sdkVec
	if f != nil {
		v = f.vecs[key]
	}
	c.mu.RUnlock()
	if f != nil && f.kind != kind {
		return nil
	}
	if v != nil {
		return v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	f = c.families[name]
	if f == nil {
		f = &sdkFamily{kind: kind, vecs: map[string]*sdkVec{}}
		c.families[name] = f
	}
	if f.kind != kind {
		return nil
	}
	if v = f.vecs[key]; v != nil {
		return v
	}
	v = &sdkVec{labels: labels}
	help := "Temporal SDK metric " + name + "."
	switch kind {
	case kindCounter:
		v.counter = prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		v.coll = v.counter
	case kindGauge:
		v.gauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
		v.coll = v.gauge
	case kindTimer:
		v.hist = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help + " Seconds.", Buckets: DurationBuckets}, labels)
		v.coll = v.hist
	}
	f.vecs[key] = v
	return v
}

// SanitizeName maps a metric name onto Prometheus' alphabet [a-zA-Z_:][a-zA-Z0-9_:]*.
func SanitizeName(name string) string { return sanitize(name, true) }

func sanitizeLabel(name string) string {
	s := sanitize(name, false)
	if strings.HasPrefix(s, "__") {
		s = "x" + s // names beginning with __ are reserved
	}
	return s
}

func sanitize(name string, colon bool) string {
	if name == "" {
		return "_"
	}
	var b strings.Builder
	b.Grow(len(name) + 1)
	for i, r := range name {
		ok := r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || (colon && r == ':') || (i > 0 && r >= '0' && r <= '9')
		switch {
		case ok:
			b.WriteRune(r)
		case i == 0 && r >= '0' && r <= '9':
			b.WriteByte('_')
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// RecordDeploymentFinished counts an ended deployment through a Temporal metrics handler —
// from a workflow, workflow.GetMetricsHandler(ctx), which records nothing during replay.
func RecordDeploymentFinished(h client.MetricsHandler, kind, state string) {
	if kind == "" {
		kind = "unknown"
	}
	h.WithTags(map[string]string{"kind": kind, "status": state}).Counter(NameDeploymentsFinished).Inc(1)
}

// RecordStepDuration records a step's duration through a Temporal metrics handler (from a
// workflow: workflow.GetMetricsHandler(ctx), with durations from workflow.Now).
func RecordStepDuration(h client.MetricsHandler, step string, d time.Duration) {
	h.WithTags(map[string]string{"step": step}).Timer(NameStepDuration).Record(d)
}
