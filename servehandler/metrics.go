package servehandler

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the handler's Prometheus series. Counters of the hot path are resolved to
// their children once, so recording a request is a few atomic adds.
type metrics struct {
	byClass       [6]prometheus.Counter // index status/100
	duration      prometheus.Histogram
	bytes         prometheus.Counter
	cacheHits     prometheus.Counter
	cacheMisses   prometheus.Counter
	diskHits      prometheus.Counter
	fast          prometheus.Counter
	diskMisses    prometheus.Counter
	storageReads  prometheus.Counter
	storageErrors prometheus.Counter
	stale         prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, gather prometheus.Gatherer, c *lru, d *diskCache) (*metrics, prometheus.Gatherer) {
	if reg == nil {
		own := prometheus.NewRegistry()
		reg = own
		if gather == nil {
			gather = own
		}
	}
	if gather == nil {
		if g, ok := reg.(prometheus.Gatherer); ok {
			gather = g
		} else {
			gather = prometheus.DefaultGatherer
		}
	}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "skydeploy_serve_requests_total", Help: "Requests answered, by status class.",
	}, []string{"code"})
	cacheReq := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "skydeploy_serve_cache_requests_total", Help: "File content lookups in the memory cache, by result.",
	}, []string{"result"})
	diskReq := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "skydeploy_serve_disk_cache_requests_total", Help: "File content lookups in the disk cache, by result.",
	}, []string{"result"})
	m := &metrics{
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "skydeploy_serve_request_duration_seconds",
			Help:    "Time to answer a request.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skydeploy_serve_response_bytes_total", Help: "Body bytes served.",
		}),
		cacheHits:   cacheReq.WithLabelValues("hit"),
		cacheMisses: cacheReq.WithLabelValues("miss"),
		diskHits:    diskReq.WithLabelValues("hit"),
		diskMisses:  diskReq.WithLabelValues("miss"),
		storageReads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skydeploy_serve_storage_reads_total", Help: "Reads made from object storage.",
		}),
		storageErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skydeploy_serve_storage_errors_total", Help: "Object storage reads that failed (not counting missing keys).",
		}),
		fast: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skydeploy_serve_fast_requests_total", Help: "Requests answered by the fast lane (cached files, without net/http's request handling).",
		}),
		stale: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skydeploy_serve_stale_pointers_total", Help: "Alias or domain pointers served stale because storage failed.",
		}),
	}
	for i := 1; i <= 5; i++ {
		m.byClass[i] = requests.WithLabelValues(string(rune('0'+i)) + "xx")
	}
	cacheBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "skydeploy_serve_cache_bytes", Help: "Approximate bytes held by the memory cache.",
	}, func() float64 { _, b := c.stats(); return float64(b) })
	cacheEntries := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "skydeploy_serve_cache_entries", Help: "Entries in the memory cache.",
	}, func() float64 { n, _ := c.stats(); return float64(n) })
	diskBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "skydeploy_serve_disk_cache_bytes", Help: "Bytes of the files in the disk cache.",
	}, func() float64 {
		if d == nil {
			return 0
		}
		_, b := d.stats()
		return float64(b)
	})
	for _, col := range []prometheus.Collector{requests, cacheReq, diskReq, m.duration, m.bytes, m.storageReads, m.storageErrors, m.fast, m.stale, cacheBytes, cacheEntries, diskBytes} {
		if err := reg.Register(col); err != nil {
			// A second handler in the same process (tests) shares the first one's series.
			if _, ok := err.(prometheus.AlreadyRegisteredError); !ok {
				panic(err)
			}
		}
	}
	return m, gather
}

func (m *metrics) observe(out *outcome, d time.Duration) {
	class := out.status / 100
	if class < 1 || class > 5 {
		class = 5
	}
	m.byClass[class].Inc()
	m.duration.Observe(d.Seconds())
	if out.bytes > 0 {
		m.bytes.Add(float64(out.bytes))
	}
}
