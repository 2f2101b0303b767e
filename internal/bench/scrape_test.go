package bench

import (
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The end-to-end clock stops on what scrapeLanded reads from the
// ingester's /metrics: the rows inserted into the event tables and
// dead_letters, and no other table's, from client_golang's own text.
func TestScrapeLanded_SumsTheEventTablesOnly(t *testing.T) {
	reg := prometheus.NewRegistry()
	inserted := prometheus.NewCounterVec(prometheus.CounterOpts{Name: insertedMetric, Help: "rows"}, []string{"table"})
	other := prometheus.NewCounterVec(prometheus.CounterOpts{Name: insertedMetric + "_other", Help: "rows"}, []string{"table"})
	reg.MustRegister(inserted, other)
	for table, n := range map[string]float64{"views": 1_500_000, "chats": 250_000, "purchases": 70_000, "dead_letters": 3, "product_versions": 900} {
		inserted.WithLabelValues(table).Add(n)
	}
	other.WithLabelValues("views").Add(5)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	for _, url := range []string{srv.URL, srv.URL + "?name[]=" + insertedMetric} {
		if got, want := scrapeLanded(url), uint64(1_820_003); got != want {
			t.Errorf("scrapeLanded(%s) = %d, want %d", url, got, want)
		}
	}
	if got := scrapeLanded("http://127.0.0.1:1/metrics"); got != 0 {
		t.Errorf("scrapeLanded of nothing = %d, want 0", got)
	}
}
