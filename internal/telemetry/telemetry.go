// Package telemetry exposes Prometheus metrics: request counts and
// latencies per route (issuance latency is that of POST
// /api/v1/certificates), inventory gauges, the database pool and job
// leadership. Each node has its own registry; nothing is global.
package telemetry

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/signet-pki/signet/internal/store"
)

// PoolStats describe a database connection pool.
type PoolStats struct {
	Open, InUse, WaitCount int64
	WaitDuration           time.Duration
}

// FromDBStats converts database/sql's pool statistics.
func FromDBStats(s sql.DBStats) PoolStats {
	return PoolStats{Open: int64(s.OpenConnections), InUse: int64(s.InUse), WaitCount: s.WaitCount, WaitDuration: s.WaitDuration}
}

// Sources are read at scrape time.
type Sources struct {
	Pool     func() PoolStats
	Leader   func() bool
	Summary  func(ctx context.Context) (*store.Summary, error) // whole inventory, no principal check
	Database string                                            // "sqlite" or "postgres"
}

// Metrics is one node's registry.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// New registers Signet's metrics and the Go runtime's.
func New(src Sources) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signet_http_requests_total",
			Help: "API requests by route and status code."}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "signet_http_request_duration_seconds",
			Help:    "API request latency by route; issuance is route \"POST /api/v1/certificates\".",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}, []string{"route"}),
	}
	m.reg.MustRegister(m.requests, m.latency, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), &sourceCollector{src: src})
	return m
}

// ObserveRequest records one API request.
func (m *Metrics) ObserveRequest(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// sourceCollector reads gauges from the store and the leader at scrape time.
type sourceCollector struct{ src Sources }

var (
	descCerts    = prometheus.NewDesc("signet_certificates", "Certificates in the inventory by status.", []string{"status"}, nil)
	descExpiring = prometheus.NewDesc("signet_certificates_expiring", "Active certificates expiring within a window.", []string{"within"}, nil)
	descLeader   = prometheus.NewDesc("signet_job_leader", "1 when this node runs the background jobs.", nil, nil)
	descOpen     = prometheus.NewDesc("signet_db_open_connections", "Open read connections.", []string{"database"}, nil)
	descInUse    = prometheus.NewDesc("signet_db_in_use_connections", "Read connections in use.", []string{"database"}, nil)
	descWaits    = prometheus.NewDesc("signet_db_wait_total", "Times a reader waited for a connection.", []string{"database"}, nil)
	descWaitTime = prometheus.NewDesc("signet_db_wait_seconds_total", "Time readers waited for a connection.", []string{"database"}, nil)
)

func (c *sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCerts, descExpiring, descLeader, descOpen, descInUse, descWaits, descWaitTime} {
		ch <- d
	}
}

func (c *sourceCollector) Collect(ch chan<- prometheus.Metric) {
	if c.src.Summary != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if s, err := c.src.Summary(ctx); err == nil {
			for status, n := range s.ByStatus {
				ch <- prometheus.MustNewConstMetric(descCerts, prometheus.GaugeValue, float64(n), status)
			}
			for within, n := range map[string]int64{"7d": s.Expiring7, "30d": s.Expiring30, "90d": s.Expiring90} {
				ch <- prometheus.MustNewConstMetric(descExpiring, prometheus.GaugeValue, float64(n), within)
			}
		}
	}
	if c.src.Leader != nil {
		v := 0.0
		if c.src.Leader() {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(descLeader, prometheus.GaugeValue, v)
	}
	if c.src.Pool != nil {
		st := c.src.Pool()
		db := c.src.Database
		ch <- prometheus.MustNewConstMetric(descOpen, prometheus.GaugeValue, float64(st.Open), db)
		ch <- prometheus.MustNewConstMetric(descInUse, prometheus.GaugeValue, float64(st.InUse), db)
		ch <- prometheus.MustNewConstMetric(descWaits, prometheus.CounterValue, float64(st.WaitCount), db)
		ch <- prometheus.MustNewConstMetric(descWaitTime, prometheus.CounterValue, st.WaitDuration.Seconds(), db)
	}
}
