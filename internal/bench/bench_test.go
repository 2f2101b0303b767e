package bench_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/vetrina/vetrina/internal/bench"
	"github.com/vetrina/vetrina/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The benchmark itself must keep working: a small run lands every event
// exactly once and reports both rates.
func TestIngest_SmallRunReportsBothRates(t *testing.T) {
	res, err := bench.Ingest(context.Background(), bench.Config{Events: 20_000, Partitions: 2, Seed: 3, ClickHouse: testenv.ClickHouseAddr(t)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 20_000 || res.EndToEndPerSec <= 0 || res.CeilingRowsPerSec <= 0 || res.Ratio <= 0 {
		t.Fatalf("result %+v", res)
	}
	var out bytes.Buffer
	res.Print(&out)
	for _, want := range []string{"end to end", "ceiling", "peak RSS"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
