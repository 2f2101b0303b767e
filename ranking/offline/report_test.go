package offline

import (
	"strings"
	"testing"
	"time"
)

func TestWriteTable_SaysWhetherTheBlendsLeadIsReal(t *testing.T) {
	e := func(m, lo, hi float64) *Estimate { return &Estimate{Mean: m, Lo: lo, Hi: hi} }
	r := &Report{
		Dataset: "toy", Interactions: 10, Users: 3, Items: 5, Target: "purchase", Horizon: 0.1,
		Origins:  []OriginReport{{Fraction: 0.8, Cut: time.Unix(1e9, 0).UTC(), End: time.Unix(1e9+100, 0).UTC(), TestUsers: 3}},
		TestRows: 3, TestUsers: 3, Resamples: 100, Baseline: "blend",
		Models: []ModelReport{
			{Name: "popularity", Params: []Params{{}}, VsBaseline: e(-0.05, -0.08, -0.02)},
			{Name: "ials", Params: []Params{{"factors": 32}}, VsBaseline: e(-0.01, -0.03, 0.01)},
			{Name: "item-neighbours", Params: []Params{{"shrink": 10}}, VsBaseline: e(0.02, 0.01, 0.04)},
			{Name: "blend", Params: []Params{{}}},
			{Name: "oracle", Reference: true, Params: []Params{{}}, VsBaseline: e(0.3, 0.2, 0.4)},
		},
	}
	var b strings.Builder
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"blend beats popularity: NDCG@10 +0.0500 (95% CI 0.0200 to 0.0800)",
		"blend vs ials: no clear difference",
		"blend LOSES to item-neighbours",
		"oracle (reference)",
		"test users: 3 evaluations of 3 distinct users",
		"ΔNDCG@10 vs blend",
		"factors=32",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "blend beats oracle") || strings.Contains(out, "LOSES to oracle") {
		t.Errorf("the reference is compared like a contender:\n%s", out)
	}
}
