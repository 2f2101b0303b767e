package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/vetrina/vetrina/internal/broker"
)

func runBroker(ctx context.Context, log *slog.Logger, args []string) error {
	f := newFlags("broker", "Runs the embedded Kafka-protocol broker (in memory unless --data-dir) and creates Vetrina's topics.")
	listen := f.String("listen", "127.0.0.1:9092", "address to listen on")
	partitions := f.Int("partitions", 6, "partitions per topic")
	dataDir := f.String("data-dir", "", "persist the log here (default: memory only)")
	prefix := f.topicPrefix()
	if err := f.parse(args); err != nil {
		return err
	}
	b, err := broker.Start(broker.Config{Listen: *listen, Topics: topicNames(topics(*prefix)), Partitions: *partitions, DataDir: *dataDir})
	if err != nil {
		return err
	}
	defer b.Close()
	fmt.Printf("broker listening on %s\n", b.Addr())
	log.Info("broker started", "addr", b.Addr(), "partitions", *partitions)
	<-ctx.Done()
	log.Info("broker stopping")
	return nil
}
