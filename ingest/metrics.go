package ingest

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the ingester's Prometheus metrics.
type Metrics struct {
	consumed     *prometheus.CounterVec
	inserted     *prometheus.CounterVec
	deadLetters  *prometheus.CounterVec
	duplicates   *prometheus.CounterVec
	insertSecs   *prometheus.HistogramVec
	batchRows    *prometheus.HistogramVec
	lag          *prometheus.GaugeVec
	chErrors     *prometheus.CounterVec
	brokerErrors prometheus.Counter
	freshness    *prometheus.HistogramVec
	lastEvent    *prometheus.GaugeVec
	assigned     prometheus.Gauge
}

// NewMetrics creates the metrics and registers them with reg (if not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vetrina_ingest_consumed_messages_total", Help: "Messages read from Kafka, by topic.",
		}, []string{"topic"}),
		inserted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vetrina_ingest_inserted_rows_total", Help: "Rows inserted into ClickHouse, by table.",
		}, []string{"table"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vetrina_ingest_dead_letters_total", Help: "Messages rejected into the dead_letters table, by topic and reason.",
		}, []string{"topic", "reason"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vetrina_ingest_duplicates_total", Help: "Events dropped because their event_id was already seen in the partition's window.",
		}, []string{"topic"}),
		insertSecs: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vetrina_ingest_insert_duration_seconds", Help: "Time of one successful ClickHouse insert, by table.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"table"}),
		batchRows: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vetrina_ingest_batch_rows", Help: "Rows per ClickHouse insert, by table.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 10),
		}, []string{"table"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vetrina_ingest_consumer_lag_messages", Help: "Messages in the partition not yet landed in ClickHouse (high watermark minus next offset).",
		}, []string{"topic", "partition"}),
		chErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vetrina_ingest_clickhouse_errors_total", Help: "Failed ClickHouse operations, by exception code (or network, timeout).",
		}, []string{"code"}),
		brokerErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vetrina_ingest_broker_errors_total", Help: "Failed Kafka operations (join, fetch, commit).",
		}),
		freshness: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vetrina_ingest_event_freshness_seconds", Help: "Time from the newest event time in a batch to its insert, by topic.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600},
		}, []string{"topic"}),
		lastEvent: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vetrina_ingest_last_event_timestamp_seconds", Help: "Event time of the newest event landed, by topic (Unix seconds).",
		}, []string{"topic"}),
		assigned: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vetrina_ingest_assigned_partitions", Help: "Kafka partitions this ingester owns now.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.consumed, m.inserted, m.deadLetters, m.duplicates, m.insertSecs, m.batchRows,
			m.lag, m.chErrors, m.brokerErrors, m.freshness, m.lastEvent, m.assigned)
	}
	return m
}
