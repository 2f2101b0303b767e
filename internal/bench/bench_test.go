package bench_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vetrina/vetrina/internal/bench"
	"github.com/vetrina/vetrina/internal/testenv"
	"github.com/vetrina/vetrina/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The benchmark itself must keep working: a small run lands every event
// exactly once and reports both rates.
func TestIngest_SmallRunReportsBothRates(t *testing.T) {
	res, err := bench.Ingest(context.Background(), bench.Config{Events: 20_000, Partitions: 2, Seed: 3, ClickHouse: testenv.ClickHouseAddr(t)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 20_000 || len(res.EndToEnd) != 1 || res.EndToEnd[0].PerSec <= 0 || res.CeilingRowsPerSec <= 0 || res.EndToEnd[0].Ratio <= 0 {
		t.Fatalf("result %+v", res)
	}
	var out bytes.Buffer
	res.Print(&out)
	for _, want := range []string{"end to end, kfake", "ceiling", "ingester RSS", "steal"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "apache") {
		t.Errorf("a kfake-only run reports Apache Kafka:\n%s", out.String())
	}
}

// With Apache: the same events preloaded into the embedded broker and into
// a managed Apache Kafka broker land exactly once from each, and the report
// has the two end-to-end rows and the ceiling side by side. It needs Java
// and scripts/fetch-kafka.sh's release, and fails (never skips) without
// them.
func TestIngest_ApacheKafkaSideBySide(t *testing.T) {
	const events = 20_000
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	addr := testenv.ClickHouseAddr(t)
	res, err := bench.Ingest(ctx, bench.Config{Events: events, Partitions: 2, Seed: 5, ClickHouse: addr, Apache: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.EndToEnd) != 2 || res.EndToEnd[0].Broker != "kfake" || res.EndToEnd[1].Broker != "apache" {
		t.Fatalf("end-to-end phases %+v, want kfake then apache", res.EndToEnd)
	}
	for _, e := range res.EndToEnd {
		if e.PerSec <= 0 || e.Ratio <= 0 {
			t.Errorf("%s: %+v", e.Broker, e)
		}
	}
	if res.EndToEnd[1].BrokerPeakBytes == 0 {
		t.Errorf("no peak RSS for the Apache Kafka broker: %+v", res.EndToEnd[1])
	}
	// Exactly once from each broker, checked here independently of the
	// benchmark's own check.
	for _, db := range []string{"bench_e2e", "bench_e2e_apache"} {
		st, err := store.Open(store.Config{Addr: addr, Database: db})
		if err != nil {
			t.Fatal(err)
		}
		var rows, distinct uint64
		for _, tb := range []store.Table{store.TableViews, store.TableChats, store.TablePurchases} {
			n, u, err := st.Count(ctx, tb)
			if err != nil {
				t.Fatal(err)
			}
			rows, distinct = rows+n, distinct+u
		}
		dl, err := st.RowCount(ctx, store.TableDeadLetters)
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		if rows != events || distinct != events || dl != 0 {
			t.Errorf("%s: %d rows, %d distinct event ids, %d dead letters; want %d, %d, 0", db, rows, distinct, dl, events, events)
		}
	}
	var out bytes.Buffer
	res.Print(&out)
	report := out.String()
	for _, want := range []string{"end to end, kfake", "end to end, apache", "ceiling (clickhouse-go)", "/kfake", "Apache Kafka 4.", "replication factor 1"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	t.Logf("report:\n%s", report)
}
