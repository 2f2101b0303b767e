package main

import (
	"context"
	"log/slog"

	"github.com/vetrina/vetrina/api"
	"golang.org/x/sync/errgroup"
)

func runIngest(ctx context.Context, log *slog.Logger, args []string) error {
	f := newFlags("ingest", "Consumes the Kafka topics into ClickHouse, every event exactly once. Serves /metrics, /healthz and /readyz on --http.")
	k := f.kafka("127.0.0.1:9092")
	ch := f.clickhouse("127.0.0.1:9000")
	inf := f.ingest()
	httpAddr := f.http("127.0.0.1:9101")
	if err := f.parse(args); err != nil {
		return err
	}
	p, err := newPipeline(log, k, ch, inf, nil, *httpAddr, nil, api.AccessLogErrors)
	if err != nil {
		return err
	}
	defer p.close()
	log.Info("ingester starting", "brokers", *k.brokers, "clickhouse", *ch.addr, "http", p.srv.Addr())
	g, gctx := errgroup.WithContext(ctx)
	p.run(gctx, g)
	return g.Wait()
}
