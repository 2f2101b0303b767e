package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/vetrina/vetrina/chserver"
	"github.com/vetrina/vetrina/matching/backtest"
	"github.com/vetrina/vetrina/sim"
	"github.com/vetrina/vetrina/store"
)

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
	rep, err := backtest.Run(ctx, backtest.Config{World: cfg, Seed: *seed, Events: *events, Origins: orig, Horizon: *horizon,
		Resamples: *resamples, Store: st, Log: log})
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
