package ingest_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/ingest"
)

// series returns the label sets of a metric family, by label name and
// value, with their counter values.
func series(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				key += l.GetName() + "=" + l.GetValue() + ","
			}
			out[key] = m.GetCounter().GetValue()
		}
	}
	return out
}

// The counters the dashboards read exist at 0 before anything happened,
// for every label known at start: a panel shows 0, not "no data".
func TestMetrics_CountersExportedAtZeroFromTheStart(t *testing.T) {
	reg := prometheus.NewRegistry()
	topics := ingest.Topics{}
	for _, k := range event.Kinds {
		topics[k] = "t." + k.Plural()
	}
	if _, err := ingest.New(ingest.Config{Brokers: []string{"127.0.0.1:1"}, GroupID: "g", Topics: topics}, nil, ingest.NewMetrics(reg)); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]string{
		"vetrina_ingest_duplicates_total":        {"topic=t.views,", "topic=t.chats,"},
		"vetrina_ingest_consumed_messages_total": {"topic=t.views,", "topic=t.chats,"},
		"vetrina_ingest_clickhouse_errors_total": {"code=network,", "code=timeout,"},
	} {
		got := series(t, reg, name)
		for _, labels := range want {
			if v, ok := got[labels]; !ok || v != 0 {
				t.Errorf("%s{%s}: present %v, value %v; want exported at 0 (have %v)", name, labels, ok, v, got)
			}
		}
	}
}
