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

	"github.com/vetrina/vetrina/ranking/offline"
)

// completeJourney is the Complete Journey grocery sample kept in the
// repository (CC0, see its SOURCE.md): real retail purchases, the data a
// fresh clone evaluates on. MovieLens is opt-in (`make eval MOVIELENS=DIR`):
// its licence forbids keeping it here.
var completeJourney = filepath.Join("..", "..", "ranking", "offline", "testdata", "completejourney-sample", "interactions.csv")

// movieLensFixture is a hand-written file pair in the MovieLens format.
var movieLensFixture = filepath.Join("..", "..", "ranking", "offline", "testdata", "movielens")

func TestEvalRanking_CompleteJourney_TableAndJSONForEveryModel(t *testing.T) {
	jsonPath := filepath.Join(t.TempDir(), "eval.json")
	var out bytes.Buffer
	start := time.Now()
	err := evalRanking(context.Background(), slog.New(slog.DiscardHandler),
		[]string{"--interactions", completeJourney, "--quick", "--bootstrap", "200", "--json", jsonPath}, &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("took %v\n%s", time.Since(start), out.String())
	var reports []offline.Report
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &reports); err != nil {
		t.Fatalf("--json wrote invalid JSON: %v", err)
	}
	if len(reports) != 1 {
		t.Fatalf("%d reports, want 1", len(reports))
	}
	rep := reports[0]
	// SOURCE.md: 75,000 purchases by 2,377 households.
	if rep.Interactions != 75000 || rep.Users != 2377 || len(rep.Origins) != 3 {
		t.Errorf("report of %d interactions, %d users, %d origins; want 75000, 2377, 3", rep.Interactions, rep.Users, len(rep.Origins))
	}
	// A global time split leaves a few hundred warm test users: the table
	// must say how many.
	for _, o := range rep.Origins {
		if o.TestUsers < 20 || o.TestUsers > 2377 {
			t.Errorf("origin %v: %d test users, want some hundreds", o.Fraction, o.TestUsers)
		}
	}
	if !strings.Contains(out.String(), "test users:") || !strings.Contains(out.String(), "distinct users") {
		t.Errorf("table does not report the number of test users")
	}
	for _, c := range offline.Candidates(offline.CandidateOptions{}) {
		found := false
		for _, m := range rep.Models {
			if m.Name == c.Name {
				found = true
				if !(m.NDCG.Lo <= m.NDCG.Mean && m.NDCG.Mean <= m.NDCG.Hi) || m.MRR.Mean < 0 {
					t.Errorf("%s: NDCG %+v MRR %+v", m.Name, m.NDCG, m.MRR)
				}
			}
		}
		if !found {
			t.Errorf("model %s missing from the report", c.Name)
		}
		if !strings.Contains(out.String(), "\n"+c.Name+" ") {
			t.Errorf("model %s missing from the table", c.Name)
		}
	}
}

// The --movielens reader end to end, on the fixture: the real data set
// stays outside the repository.
func TestEvalRanking_MovieLensFormat_WritesCSV(t *testing.T) {
	csvPath := filepath.Join(t.TempDir(), "ml.csv")
	var out bytes.Buffer
	if err := evalRanking(context.Background(), slog.New(slog.DiscardHandler),
		[]string{"--movielens", movieLensFixture, "--write-csv", csvPath}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "wrote 17 interactions of MovieLens movielens") {
		t.Errorf("output %q", out.String())
	}
	b, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	// Rating 4.0 is a purchase, 3.5 a view; the first genre is the category.
	for _, want := range []string{"1,1,964982703,purchase,Adventure", "1,2,964981247,view,Comedy"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("CSV lacks %q:\n%s", want, b)
		}
	}
}

func TestEvalRanking_SimulatedCSVRoundTrip_EnvTwins(t *testing.T) {
	csvPath := filepath.Join(t.TempDir(), "sim.csv")
	log := slog.New(slog.DiscardHandler)
	var out bytes.Buffer
	err := evalRanking(context.Background(), log, []string{"--simulate", "40000", "--sim-users", "800",
		"--sim-brands", "20", "--sim-products-per-brand", "10", "--write-csv", csvPath}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "wrote ") {
		t.Errorf("output %q", out.String())
	}
	head, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(head), offline.CSVHeader+"\n") {
		t.Errorf("CSV starts %.60q", head)
	}
	// Two files, comma-separated: a table each. A single file of the
	// first 8,000 lines is the second.
	lines := strings.SplitAfter(string(head), "\n")
	part := filepath.Join(t.TempDir(), "part", "first.csv")
	if err := os.MkdirAll(filepath.Dir(part), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(part, []byte(strings.Join(lines[:8000], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	// The environment twin of --target.
	t.Setenv("VETRINA_EVAL_RANKING_TARGET", "any")
	out.Reset()
	if err := evalRanking(context.Background(), log, []string{"--interactions", csvPath + "," + part, "--quick", "--bootstrap", "100", "--origins", "0.5,0.8"}, &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, "sim.csv") || !strings.Contains(s, "of kind any") || !strings.Contains(s, "\n0.50 ") || !strings.Contains(s, "\n0.80 ") {
		t.Errorf("table does not show the file, the target from $VETRINA_EVAL_RANKING_TARGET and both origins:\n%s", s)
	}
	if !strings.Contains(s, "part/first.csv") || strings.Count(s, "\nwall time ") != 2 {
		t.Errorf("want a table for each of the two files, the second named part/first.csv:\n%s", s)
	}
}

func TestEval_UsageErrors(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "subcommands: ranking"},
		{[]string{"rankings"}, `unknown subcommand "rankings"; subcommands: ranking`},
		{[]string{"ranking"}, "no data"},
		{[]string{"ranking", "--movielens", "x", "--target", "likes"}, `target kind "likes"`},
		{[]string{"ranking", "--movielens", "x", "--origins", "0.8,soon"}, `--origins: "soon"`},
		{[]string{"ranking", "--interactions", filepath.Join(t.TempDir(), "missing.csv")}, "missing.csv"},
	} {
		err := runEval(context.Background(), log, tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("vetrina eval %v: err = %v, want it to contain %q", tc.args, err, tc.want)
		}
	}
}
