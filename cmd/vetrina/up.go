package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vetrina/vetrina/internal/broker"
	"github.com/vetrina/vetrina/internal/chserver"
	"github.com/vetrina/vetrina/internal/gcpace"
	"golang.org/x/sync/errgroup"
)

func runUp(ctx context.Context, log *slog.Logger, args []string) error {
	f := newFlags("up", "Runs the whole system on this machine: a managed ClickHouse (data under --data-dir), the embedded broker, the ingester, the HTTP API and the simulator. With --brokers and --clickhouse it uses those servers and starts none of its own.")
	dataDir := f.String("data-dir", ".vetrina", "where the managed ClickHouse and the embedded broker keep their data")
	httpAddr := f.http("127.0.0.1:8080")
	brokerListen := f.String("broker-listen", "127.0.0.1:9092", "embedded broker address")
	partitions := f.Int("partitions", 6, "partitions per topic of the embedded broker")
	chNative := f.Int("clickhouse-native-port", 9000, "managed ClickHouse native port")
	chHTTP := f.Int("clickhouse-http-port", 8123, "managed ClickHouse HTTP port")
	simRate := f.Float64("sim-rate", 200, "simulated events per second (0 disables the simulator)")
	seed := f.Int64("seed", 0, "simulator seed (0: a new one each run, so event ids never repeat across runs)")
	k := f.kafka("")
	ch := f.clickhouse("")
	inf := f.ingest()
	rf := f.models(filepath.Join("DATA_DIR", "models", "ranking.gob"))
	af := f.api()
	gcHeadroom := f.gcHeadroom()
	// The simulator's lives pile up fast: the demo's profiles follow them
	// every minute unless told otherwise.
	f.setDefault("profiles-every", "1m")
	if err := f.parse(args); err != nil {
		return err
	}
	if rest, ok := strings.CutPrefix(*rf.snapshot, "DATA_DIR"); ok {
		*rf.snapshot = *dataDir + rest
	}
	var lines, tokenLines []string
	auth, err := af.load(ctx, log)
	if errors.Is(err, errNoTokens) {
		// The demo works at once: development tokens, printed below.
		auth, tokenLines, err = devTokens()
	}
	if err != nil {
		return err
	}
	var sup *supervisor // of the managed ClickHouse, if any
	if *ch.addr == "" {
		dir, err := filepath.Abs(filepath.Join(*dataDir, "clickhouse"))
		if err != nil {
			return err
		}
		chCfg := chserver.Config{Dir: dir, NativePort: *chNative, HTTPPort: *chHTTP, Logger: log}
		srv, _, err := startClickHouse(ctx, log, chCfg) // the supervisor stops it
		if err != nil {
			return err
		}
		sup = newSupervisor(srv, chCfg, log)
		defer sup.stop()
		*ch.addr = srv.NativeAddr()
		lines = append(lines,
			"ClickHouse native   "+srv.NativeAddr()+"   (clickhouse-client --host 127.0.0.1 --port "+portOf(srv.NativeAddr())+" --user analyst)",
			"ClickHouse HTTP     http://"+srv.HTTPAddr()+"/",
			"ClickHouse data     "+dir)
	} else {
		lines = append(lines, "ClickHouse native   "+*ch.addr+"   (external)")
	}
	if *k.brokers == "" {
		// The broker persists next to ClickHouse: the offsets ClickHouse
		// holds must keep meaning the same messages across runs.
		dir, err := filepath.Abs(filepath.Join(*dataDir, "kafka"))
		if err != nil {
			return err
		}
		b, err := broker.Start(broker.Config{Listen: *brokerListen, Topics: topicNames(topics(*k.topicPrefix)), Partitions: *partitions, DataDir: dir})
		if err != nil {
			return err
		}
		defer b.Close()
		*k.brokers = b.Addr()
		lines = append(lines, "Kafka broker        "+b.Addr()+"   (embedded, data in "+dir+")")
	} else {
		lines = append(lines, "Kafka brokers       "+*k.brokers+"   (external)")
	}
	p, err := newPipeline(log, k, ch, inf, &rf, *httpAddr, auth, *af.accessLog)
	if err != nil {
		return err
	}
	defer p.close()
	srv := p.srv
	lines = append(lines,
		"HTTP API            http://"+srv.Addr()+"/   (/console/ /v1/feed?user_id=1 /v1/products/{id}/similar /v1/brands/{id}/influencers /v1/influencers/{id} /v1/plans /openapi.json /healthz /readyz /metrics)",
		"Ranking model       "+*rf.snapshot+fmt.Sprintf("   (retrained every %s)", *rf.every),
		"Topics              "+strings.Join(topicNames(topics(*k.topicPrefix)), ", "),
		"Database            "+*ch.database)
	for i, l := range tokenLines {
		head := "                    "
		if i == 0 {
			head = "API tokens (dev)    "
		}
		lines = append(lines, head+l)
	}
	if len(tokenLines) > 0 {
		lines = append(lines, "                    (new ones each run; e.g. curl -H 'Authorization: Bearer <feed token>' .../v1/feed?user_id=1)")
	}
	if *seed == 0 {
		*seed = time.Now().UnixNano() & (1<<62 - 1)
	}
	if *simRate > 0 {
		lines = append(lines, fmt.Sprintf("Simulator           %.0f events/s, seed %d", *simRate, *seed))
	}
	fmt.Fprintf(os.Stdout, "\nVetrina is up. Ctrl-C stops everything.\n\n  %s\n\n", strings.Join(lines, "\n  "))
	g, gctx := errgroup.WithContext(ctx)
	if sup != nil {
		p.reg.MustRegister(sup.restarts)
		g.Go(func() error { return sup.run(gctx) })
	}
	p.run(gctx, g)
	g.Go(func() error { return gcpace.Run(gctx, gcHeadroom(), log) })
	if *simRate > 0 {
		g.Go(func() error {
			_, err := simulate(gctx, log, k.brokerList(), topics(*k.topicPrefix), *seed, 0, *simRate, "")
			return err
		})
	}
	err = g.Wait()
	log.Info("vetrina stopped")
	return err
}

func portOf(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		return addr[i+1:]
	}
	return addr
}
