package ranking_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vetrina/vetrina/ranking"
)

// The feed and training counters exist at 0 before the first feed or
// training, for every kind and outcome: a dashboard shows 0, not "no data".
func TestMetrics_FeedCountersExportedAtZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	ranking.New(ranking.Config{Registerer: reg})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				got[mf.GetName()+"/"+l.GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	for _, want := range []string{"vetrina_ranking_feeds_total/personal", "vetrina_ranking_feeds_total/session", "vetrina_ranking_feeds_total/cold",
		"vetrina_ranking_feeds_total/untrained", "vetrina_ranking_trainings_total/ok", "vetrina_ranking_trainings_total/error"} {
		if v, ok := got[want]; !ok || v != 0 {
			t.Errorf("%s: present %v, value %v; want exported at 0", want, ok, v)
		}
	}
}
