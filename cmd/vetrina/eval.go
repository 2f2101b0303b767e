package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/vetrina/vetrina/internal/chserver"
	"github.com/vetrina/vetrina/internal/progress"
	"github.com/vetrina/vetrina/matching/backtest"
	"github.com/vetrina/vetrina/ranking/offline"
	"github.com/vetrina/vetrina/sim"
	"github.com/vetrina/vetrina/store"
)

func runEval(ctx context.Context, log *slog.Logger, args []string) error {
	return subcommand(ctx, log, "eval", args, []command{
		{"ranking", "the feed's models on logged interactions, by rolling origin", func(ctx context.Context, log *slog.Logger, args []string) error {
			return evalRanking(ctx, log, args, os.Stdout)
		}},
		{"matching", "GMV predictions and plans back-tested on the simulator's truth", func(ctx context.Context, log *slog.Logger, args []string) error {
			return evalMatching(ctx, log, args, os.Stdout)
		}},
	})
}

const evalRankingSummary = `Offline evaluation of feed ranking: splits logged interactions by global time at several cut points
(rolling origin), tunes each model on the window before the cut, trains on everything before it, ranks the
whole catalog for every warm test user, and prints NDCG@10, Recall@20, MRR and catalog coverage with 95%
bootstrap confidence intervals over users, for global popularity, recent popularity, item neighbours, iALS,
EASE and the served blend (and, on simulated data, an oracle that knows the true tastes), overall and per
cut point (the blend against the best other model at each). --repeats also counts products bought again
and adds buy-again and the blend with restock slots.

Data (one or more sources; each gets its own table):
  --interactions FILE  CSV (several: FILE,FILE), one interaction per line: user_id,item_id,ts,kind[,category[,price]]
                       user_id, item_id: unsigned integers; ts: Unix seconds, Unix milliseconds or RFC 3339;
                       kind: view, chat or purchase; category, price: optional item attributes (later rows
                       win). An optional header line starts with user_id.
  --movielens DIR      a MovieLens ml-latest-small directory (ratings.csv, movies.csv): rating >= 4 is a
                       purchase, lower a view; the first genre is the category.
  --simulate N         N events of the simulator (--seed, --sim-*), whose true tastes are known.
See docs/ranking-eval.md.`

func evalRanking(ctx context.Context, log *slog.Logger, args []string, out io.Writer) error {
	f := newFlags("eval ranking", evalRankingSummary)
	interactions := f.String("interactions", "", "evaluate the interaction CSV user_id,item_id,ts,kind[,category[,price]] in this file (several: comma-separated, one table each)")
	movielens := f.String("movielens", "", "evaluate the MovieLens ml-latest-small data in this directory (e.g. ~/data/ml-latest-small, from grouplens.org)")
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
	repeats := f.Bool("repeats", false, "count items bought again as relevant and rank the user's history too; adds buy-again and blend+restock (whether the feed should offer bought products again)")
	models := f.String("models", "", "evaluate only these models (comma-separated names as in the table, e.g. ease,blend; empty: all)")
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
	for _, path := range splitList(*interactions) {
		d, err := readInteractionsFile(path)
		if err != nil {
			return err
		}
		sources = append(sources, source{name: filepath.Join(filepath.Base(filepath.Dir(path)), filepath.Base(path)), data: d})
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
	meter := progress.New(os.Stderr)
	for i, s := range sources {
		cands := offline.Candidates(offline.CandidateOptions{Quick: *quick, Workers: *workers, Seed: *seed, Repeats: *repeats})
		if s.world != nil {
			cands = append(cands, offline.OracleCandidate(s.world))
		}
		if cands, err = offline.SelectCandidates(cands, *models); err != nil {
			return fmt.Errorf("--models: %w", err)
		}
		log.Info("evaluating", "data", s.name, "interactions", len(s.data.Interactions), "models", len(cands))
		rep, err := offline.Evaluate(ctx, s.data, cands, offline.Config{
			Origins: orig, Horizon: *horizon, Target: tgt, Repeats: *repeats, Resamples: *resamples,
			Seed: uint64(*seed), Workers: *workers, Log: log,
			Progress: func(step string, done, total int) { meter.Update(s.name+": "+step, done, total) },
		})
		meter.Finish()
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

const evalMatchingSummary = `Back-test of influencer matching on the simulator, whose true parameters are known: simulates N events
of a seeded world, writes them into a fresh ClickHouse database (a managed server in a temporary directory,
or --clickhouse ADDR), then at each origin (cut time) freezes the matching profiles as of the cut, predicts
the GMV of every sponsored live starting in the window after it and compares with the GMV the store
attributes to the live and with its true expectation: Spearman rank correlation and WAPE (95% bootstrap
intervals over lives) and P10–P90 coverage, next to naive baselines (followers, the influencer's GMV in the
30 days before the cut, engagement = chats per viewer × viewers per live). At each origin it also plans
sponsored lives for the window's brands under budgets and capacities with each predictor's scores and
reports the regret of each plan against the oracle plan that knows the true expected GMV.
See docs/matching.md.`

func evalMatching(ctx context.Context, log *slog.Logger, args []string, out io.Writer) error {
	f := newFlags("eval matching", evalMatchingSummary)
	events := f.Int("simulate", 12_000_000, "simulated events (views, chats, purchases)")
	seed := f.Int64("seed", 1, "seed of the simulated world, the generator, the plan problems and the bootstrap")
	simUsers := f.Int("sim-users", 8000, "simulated users")
	simBrands := f.Int("sim-brands", 100, "simulated brands")
	simProducts := f.Int("sim-products-per-brand", 20, "simulated products per brand")
	simInfluencers := f.Int("sim-influencers", 200, "simulated influencers")
	simLives := f.Float64("sim-lives-per-hour", 8, "simulated lives starting per hour")
	simSponsored := f.Float64("sim-sponsored-share", 0.4, "share of simulated lives that are sponsored")
	origins := f.String("origins", "0.5,0.6,0.7,0.8,0.9", "cut points, as fractions of the simulated timeline (comma-separated)")
	horizon := f.Float64("horizon", backtest.DefaultHorizon, "length of the window after each cut, as a fraction of the simulated timeline")
	resamples := f.Int("bootstrap", backtest.DefaultResamples, "bootstrap resamples for the confidence intervals")
	jsonPath := f.String("json", "", "also write the report (with every predicted live) as JSON to this file")
	chAddr := f.String("clickhouse", "", "ClickHouse native address host:port (empty: start a managed server in a temporary directory)")
	chUser := f.String("clickhouse-user", "default", "ClickHouse user")
	chPassword := f.String("clickhouse-password", "", "ClickHouse password")
	keep := f.Bool("keep-database", false, "keep the back-test database (backtest_<random>) instead of dropping it at the end (useful with --clickhouse: a managed server is removed anyway)")
	if err := f.parse(args); err != nil {
		return err
	}
	orig, err := parseFractions(*origins)
	if err != nil {
		return fmt.Errorf("--origins: %w", err)
	}
	cfg := sim.DefaultConfig()
	cfg.Seed, cfg.Users, cfg.Brands, cfg.ProductsPerBrand, cfg.Influencers = *seed, *simUsers, *simBrands, *simProducts, *simInfluencers
	cfg.LivesPerHour, cfg.SponsoredShare = *simLives, *simSponsored

	addr := *chAddr
	if addr == "" {
		dir, err := os.MkdirTemp("", "vetrina-eval-matching-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		srv, stop, err := startClickHouse(ctx, log, chserver.Config{Dir: dir, Logger: log})
		if err != nil {
			return err
		}
		defer stop()
		addr = srv.NativeAddr()
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	db := "backtest_" + hex.EncodeToString(b)
	st, err := store.Open(store.Config{Addr: addr, Database: db, Username: *chUser, Password: *chPassword, Compression: "none", ReadTimeout: 10 * time.Minute})
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	if !*keep {
		defer func() {
			dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := st.DropDatabase(dctx); err != nil {
				log.Warn("drop the back-test database", "database", db, "err", err)
			}
		}()
	}
	log.Info("eval matching: simulating", "events", *events, "clickhouse", addr, "database", db)
	start := time.Now()
	meter := progress.New(os.Stderr)
	rep, err := backtest.Run(ctx, backtest.Config{World: cfg, Seed: *seed, Events: *events, Origins: orig, Horizon: *horizon,
		Resamples: *resamples, Store: st, Log: log, Progress: meter.Update})
	meter.Finish()
	if err != nil {
		return err
	}
	if err := rep.WriteTable(out); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nTook %s (simulating and writing the events %s, profiles, predictions and plans %s).\n",
		time.Since(start).Round(time.Second), (time.Duration(rep.LoadSeconds) * time.Second).Round(time.Second),
		(time.Duration(rep.EvalSeconds) * time.Second).Round(time.Second))
	if *keep {
		fmt.Fprintf(out, "Kept database %s on %s.\n", db, addr)
	}
	if *jsonPath != "" {
		j, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonPath, append(j, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// readInteractionsFile reads an interaction CSV (offline.ReadInteractions).
func readInteractionsFile(path string) (*offline.Data, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	d, err := offline.ReadInteractions(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}
