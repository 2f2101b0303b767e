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

// movieLensDir is the real MovieLens data next to the repository (see
// ../shared/data/README.md); CI has it.
var movieLensDir = filepath.Join("..", "..", "..", "shared", "data", "movielens-small")

func TestEvalRanking_MovieLens_TableAndJSONForEveryModel(t *testing.T) {
	if _, err := os.Stat(filepath.Join(movieLensDir, "ratings.csv")); err != nil {
		t.Fatalf("this test needs MovieLens ml-latest-small in %s (see ../shared/data/README.md): %v", movieLensDir, err)
	}
	jsonPath := filepath.Join(t.TempDir(), "eval.json")
	var out bytes.Buffer
	start := time.Now()
	err := evalRanking(context.Background(), slog.New(slog.DiscardHandler),
		[]string{"--movielens", movieLensDir, "--quick", "--bootstrap", "200", "--json", jsonPath}, &out)
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
	if rep.Interactions != 100836 || rep.Users != 610 || len(rep.Origins) != 3 {
		t.Errorf("report of %d interactions, %d users, %d origins; want 100836, 610, 3", rep.Interactions, rep.Users, len(rep.Origins))
	}
	// A global time split leaves few warm test users: the table must say
	// how many.
	for _, o := range rep.Origins {
		if o.TestUsers < 5 || o.TestUsers > 100 {
			t.Errorf("origin %v: %d test users, want a few dozen", o.Fraction, o.TestUsers)
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
				if !(m.NDCG.Lo <= m.NDCG.Mean && m.NDCG.Mean <= m.NDCG.Hi) || m.MRR.Mean <= 0 {
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
	// The environment twin of --target.
	t.Setenv("VETRINA_TARGET", "any")
	out.Reset()
	if err := evalRanking(context.Background(), log, []string{"--interactions", csvPath, "--quick", "--bootstrap", "100", "--origins", "0.5,0.8"}, &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, "sim.csv") || !strings.Contains(s, "of kind any") || !strings.Contains(s, "\n0.50 ") || !strings.Contains(s, "\n0.80 ") {
		t.Errorf("table does not show the file, the target from $VETRINA_TARGET and both origins:\n%s", s)
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
