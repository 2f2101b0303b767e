package ingest

import "time"

// Retries against Kafka and ClickHouse back off exponentially between these
// bounds (retry.Backoff).
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 10 * time.Second
)
