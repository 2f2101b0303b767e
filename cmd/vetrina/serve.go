package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/vetrina/vetrina/api"
	"github.com/vetrina/vetrina/internal/gcpace"
	"golang.org/x/sync/errgroup"
)

func runServe(ctx context.Context, log *slog.Logger, args []string) error {
	f := newFlags("serve", "Serves the HTTP API: the feed (ranking trained from ClickHouse, following the event topics in real time), influencer matching (profiles recomputed every --profiles-every) and the brand console, health and metrics.")
	httpAddr := f.http("127.0.0.1:8080")
	k := f.kafka("127.0.0.1:9092")
	ch := f.clickhouse("127.0.0.1:9000")
	rf := f.models(filepath.Join(".vetrina", "models", "ranking.gob"))
	af := f.api()
	gcHeadroom := f.gcHeadroom()
	if err := f.parse(args); err != nil {
		return err
	}
	auth, err := af.load(ctx, log)
	if err != nil {
		return err
	}
	st, err := openStore(ch, trainReadTimeout)
	if err != nil {
		return err
	}
	defer st.Close()
	sc := newSchema(st, log)
	reg := newRegistry()
	ms := newModels(rf, st, k.brokerList(), topics(*k.topicPrefix), reg, log)
	srv, err := api.New(api.Config{Addr: *httpAddr, Gatherer: reg, Registerer: reg, Feed: ms.ranker, Matching: ms.matching, Logger: log, Auth: auth, AccessLog: *af.accessLog,
		Checks: map[string]api.Check{"clickhouse": st.Ping, "schema": sc.check, "ranking": ms.check, "matching": ms.matchingCheck}})
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *httpAddr, err)
	}
	fmt.Printf("serving on http://%s/  (/v1/feed /v1/products/{id}/similar /v1/brands/{id}/influencers /v1/influencers/{id} /v1/plans /healthz /readyz /metrics)\n", srv.Addr())
	// HTTP at once; the models once the schema is applied (until then the
	// feed is the non-personal one and /readyz says what is missing).
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Run(gctx) })
	g.Go(func() error { return gcpace.Run(gctx, gcHeadroom(), log) })
	afterSchema(gctx, g, sc, func() { ms.run(gctx, g) })
	return g.Wait()
}
