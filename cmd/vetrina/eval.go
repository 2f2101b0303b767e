package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/vetrina/vetrina/ranking/offline"
	"github.com/vetrina/vetrina/sim"
)

// evalSubcommands are the subcommands of `vetrina eval`.
var evalSubcommands = []string{"ranking", "matching"}

func runEval(ctx context.Context, log *slog.Logger, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: vetrina eval SUBCOMMAND [flags]; subcommands: %s", strings.Join(evalSubcommands, ", "))
	}
	switch args[0] {
	case "ranking":
		return evalRanking(ctx, log, args[1:], os.Stdout)
	case "matching":
		return evalMatching(ctx, log, args[1:], os.Stdout)
	case "-h", "--help", "help":
		fmt.Fprintf(os.Stderr, "Usage: vetrina eval SUBCOMMAND [flags]\n\nSubcommands: %s\n", strings.Join(evalSubcommands, ", "))
		return flag.ErrHelp
	}
	return fmt.Errorf("vetrina eval: unknown subcommand %q; subcommands: %s", args[0], strings.Join(evalSubcommands, ", "))
}

const evalRankingSummary = `Offline evaluation of feed ranking: splits logged interactions by global time at several cut points
(rolling origin), tunes each model on the window before the cut, trains on everything before it, ranks the
whole catalog for every warm test user, and prints NDCG@10, Recall@20, MRR and catalog coverage with 95%
bootstrap confidence intervals over users, for global popularity, recent popularity, item neighbours, iALS
and the served blend (and, on simulated data, an oracle that knows the true tastes).

Data (one or more sources; each gets its own table):
  --interactions FILE  CSV, one interaction per line: user_id,item_id,ts,kind[,category[,price]]
                       user_id, item_id: unsigned integers; ts: Unix seconds, Unix milliseconds or RFC 3339;
                       kind: view, chat or purchase; category, price: optional item attributes (later rows
                       win). An optional header line starts with user_id.
  --movielens DIR      a MovieLens ml-latest-small directory (ratings.csv, movies.csv): rating >= 4 is a
                       purchase, lower a view; the first genre is the category.
  --simulate N         N events of the simulator (--seed, --sim-*), whose true tastes are known.
See docs/ranking-eval.md.`

func evalRanking(ctx context.Context, log *slog.Logger, args []string, out io.Writer) error {
	f := newFlags("eval ranking", evalRankingSummary)
	interactions := f.String("interactions", "", "evaluate the interaction CSV user_id,item_id,ts,kind[,category[,price]] in this file")
	movielens := f.String("movielens", "", "evaluate the MovieLens ml-latest-small data in this directory (e.g. ../shared/data/movielens-small)")
	simEvents := f.Int("simulate", 0, "evaluate this many simulated events (0 = none)")
	seed := f.Int64("seed", 1, "seed of the simulator, the models and the bootstrap")
	simUsers := f.Int("sim-users", 20000, "simulated users")
	simBrands := f.Int("sim-brands", 200, "simulated brands")
	simProducts := f.Int("sim-products-per-brand", 25, "simulated products per brand")
	writeCSV := f.String("write-csv", "", "write the (single) source's interactions as CSV to this file instead of evaluating")
	target := f.String("target", "purchase", "kinds of test interaction that make an item relevant: view, chat, purchase (comma-separated) or any")
	origins := f.String("origins", "0.7,0.8,0.9", "cut points, as fractions of the timeline (comma-separated)")
	horizon := f.Float64("horizon", offline.DefaultHorizon, "length of the test window after each cut and of the validation window before it, as a fraction of the timeline")
	resamples := f.Int("bootstrap", 1000, "bootstrap resamples for the confidence intervals")
	jsonPath := f.String("json", "", "also write the results as JSON to this file")
	workers := f.Int("workers", runtime.GOMAXPROCS(0), "goroutines for training and scoring")
	quick := f.Bool("quick", false, "try one or two hyper-parameter settings per model instead of the full grids (smoke runs)")
	if err := f.parse(args); err != nil {
		return err
	}
	tgt, err := offline.ParseTarget(*target)
	if err != nil {
		return err
	}
	orig, err := parseFractions(*origins)
	if err != nil {
		return fmt.Errorf("--origins: %w", err)
	}

	type source struct {
		name  string
		data  *offline.Data
		world *sim.World
	}
	var sources []source
	if *interactions != "" {
		file, err := os.Open(*interactions)
		if err != nil {
			return err
		}
		d, err := offline.ReadInteractions(file)
		file.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", *interactions, err)
		}
		sources = append(sources, source{name: filepath.Base(*interactions), data: d})
	}
	if *movielens != "" {
		d, err := offline.ReadMovieLens(*movielens)
		if err != nil {
			return err
		}
		sources = append(sources, source{name: "MovieLens " + filepath.Base(*movielens), data: d})
	}
	if *simEvents > 0 {
		cfg := sim.DefaultConfig()
		cfg.Seed, cfg.Users, cfg.Brands, cfg.ProductsPerBrand = *seed, *simUsers, *simBrands, *simProducts
		d, w, err := offline.Simulate(*seed, *simEvents, cfg)
		if err != nil {
			return err
		}
		name := fmt.Sprintf("simulator (%d events, %d users, %d products, seed %d)", *simEvents, cfg.Users, len(w.Products), *seed)
		sources = append(sources, source{name: name, data: d, world: w})
	}
	if len(sources) == 0 {
		return errors.New("vetrina eval ranking: no data: give --interactions FILE, --movielens DIR or --simulate N")
	}

	if *writeCSV != "" {
		if len(sources) != 1 {
			return fmt.Errorf("--write-csv: %d sources given, want one", len(sources))
		}
		file, err := os.Create(*writeCSV)
		if err != nil {
			return err
		}
		if err := offline.WriteInteractions(file, sources[0].data); err != nil {
			file.Close()
			return err
		}
		if err := file.Close(); err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote %d interactions of %s to %s\n", len(sources[0].data.Interactions), sources[0].name, *writeCSV)
		return nil
	}

	var reports []*offline.Report
	for i, s := range sources {
		cands := offline.Candidates(offline.CandidateOptions{Quick: *quick, Workers: *workers, Seed: *seed})
		if s.world != nil {
			cands = append(cands, offline.OracleCandidate(s.world))
		}
		log.Info("evaluating", "data", s.name, "interactions", len(s.data.Interactions), "models", len(cands))
		rep, err := offline.Evaluate(ctx, s.data, cands, offline.Config{
			Origins: orig, Horizon: *horizon, Target: tgt, Resamples: *resamples,
			Seed: uint64(*seed), Workers: *workers, Log: log,
		})
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		rep.Dataset = s.name
		if i > 0 {
			fmt.Fprintln(out)
		}
		if err := rep.WriteTable(out); err != nil {
			return err
		}
		reports = append(reports, rep)
	}
	if *jsonPath != "" {
		b, err := json.MarshalIndent(reports, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonPath, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// parseFractions parses a comma-separated list of numbers.
func parseFractions(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, fmt.Errorf("%q: want a number", f)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, errors.New("no cut points")
	}
	return out, nil
}
