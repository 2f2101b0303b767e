package main

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/vetrina/vetrina/api"
	"golang.org/x/sync/errgroup"
)

func runIngest(ctx context.Context, log *slog.Logger, args []string) error {
	f := newFlags("ingest", "Consumes the Kafka topics into ClickHouse, every event exactly once. Serves /metrics, /healthz and /readyz on --http.")
	k := f.kafka("127.0.0.1:9092")
	ch := f.clickhouse("127.0.0.1:9000")
	inf := f.ingest()
	httpAddr := f.http("127.0.0.1:9101")
	memLimit := f.Int("memory-limit-mib", 192, "soft memory limit of the process (Go's GC works harder near it; with --max-buffered-mib it keeps the ingester's memory bounded whatever the backlog); 0: none, and an explicit $GOMEMLIMIT wins")
	if err := f.parse(args); err != nil {
		return err
	}
	if *memLimit > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(*memLimit) << 20)
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
