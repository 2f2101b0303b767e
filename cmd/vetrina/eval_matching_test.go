package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vetrina/vetrina/internal/testenv"
	"github.com/vetrina/vetrina/matching/backtest"
)

// TestEvalMatching_SmallSeed runs the back-test on a small simulated world
// against the real ClickHouse and checks the table, the JSON and what must
// hold whatever the numbers: every predictor has a row, the model ranks
// lives better than follower counts, coverage is a share, the oracle plan
// has no regret and no plan beats it.
func TestEvalMatching_SmallSeed(t *testing.T) {
	addr := testenv.ClickHouseAddr(t)
	jsonPath := filepath.Join(t.TempDir(), "matching.json")
	var out bytes.Buffer
	start := time.Now()
	err := evalMatching(context.Background(), slog.New(slog.DiscardHandler), []string{
		"--clickhouse", addr, "--seed", "3", "--simulate", "1000000",
		"--sim-users", "3000", "--sim-brands", "30", "--sim-products-per-brand", "10", "--sim-influencers", "50",
		"--sim-lives-per-hour", "4", "--bootstrap", "200", "--json", jsonPath,
	}, &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("took %v\n%s", time.Since(start), out.String())

	table := out.String()
	for _, name := range backtest.Predictors {
		if !strings.Contains(table, "\n"+name+" ") {
			t.Errorf("no row for %q in the table", name)
		}
	}
	var rep backtest.Report
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("--json wrote invalid JSON: %v", err)
	}
	if rep.Events != 1000000 || len(rep.Origins) != len(backtest.DefaultOrigins) {
		t.Fatalf("report of %d events and %d origins", rep.Events, len(rep.Origins))
	}
	if len(rep.Lives) < 20 {
		t.Fatalf("only %d lives predicted", len(rep.Lives))
	}
	rows := map[string]backtest.Row{}
	for _, r := range rep.Rows {
		rows[r.Name] = r
		if r.Lives != len(rep.Lives) {
			t.Errorf("%s: %d lives, want %d", r.Name, r.Lives, len(rep.Lives))
		}
		if !(r.Spearman.Lo <= r.Spearman.Value && r.Spearman.Value <= r.Spearman.Hi) || r.Spearman.Lo < -1 || r.Spearman.Hi > 1 {
			t.Errorf("%s: Spearman %+v", r.Name, r.Spearman)
		}
		if !(r.WAPE.Value >= 0) {
			t.Errorf("%s: WAPE %+v", r.Name, r.WAPE)
		}
		if r.Regret < -1e-12 {
			t.Errorf("%s: regret %v < 0: a plan beats the oracle's", r.Name, r.Regret)
		}
	}
	if len(rows) != len(backtest.Predictors) {
		t.Fatalf("%d rows, want %d", len(rows), len(backtest.Predictors))
	}
	model, followers, oracle := rows[backtest.ModelP50], rows[backtest.Followers], rows[backtest.Oracle]
	if model.Spearman.Value <= followers.Spearman.Value {
		t.Errorf("model P50 Spearman %.3f ≤ followers' %.3f", model.Spearman.Value, followers.Spearman.Value)
	}
	if c := model.Coverage; c == nil || c.Value < 0 || c.Value > 1 || c.Lo < 0 || c.Hi > 1 {
		t.Errorf("model P10–P90 coverage %+v, want a share", c)
	}
	if oracle.Regret != 0 || oracle.SpearmanTrue.Value < 0.999 || oracle.WAPETrue != 0 {
		t.Errorf("oracle row %+v: want regret 0 and a perfect score against the truth", oracle)
	}
	if oracle.PlanValue <= 0 {
		t.Errorf("oracle plans are worth %v", oracle.PlanValue)
	}
	for _, o := range rep.Origins {
		if o.Plan.Regret[backtest.Oracle] != 0 {
			t.Errorf("origin %v: oracle regret %v", o.Fraction, o.Plan.Regret[backtest.Oracle])
		}
		for name, r := range o.Plan.Regret {
			if r < -1e-12 || r > 1 {
				t.Errorf("origin %v: %s regret %v, want in [0, 1]", o.Fraction, name, r)
			}
		}
	}
	var realised float64
	for _, l := range rep.Lives {
		realised += l.Realised
		if l.TrueExpected <= 0 || l.P10 > l.P50 || l.P50 > l.P90 {
			t.Errorf("live %d: %+v", l.LiveID, l)
		}
	}
	if realised <= 0 {
		t.Error("no realised GMV: purchases were not attributed to the lives")
	}
}
