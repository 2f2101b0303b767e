package main

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vetrina/vetrina/internal/chserver"
	"github.com/vetrina/vetrina/internal/retry"
)

// supervisor keeps `vetrina up`'s managed ClickHouse running: when the
// child exits on its own, it starts it again on the same ports and data,
// backing off from 1 s to 30 s between attempts, with a log line and a
// count (vetrina_up_clickhouse_restarts_total) per restart. The ingester
// retries its inserts meanwhile, so nothing is lost; /readyz says
// ClickHouse is unreachable until it is back. (The embedded broker runs
// inside the process: it cannot die alone.)
type supervisor struct {
	cfg      chserver.Config
	log      *slog.Logger
	restarts prometheus.Counter

	mu  sync.Mutex
	srv *chserver.Server
}

func newSupervisor(srv *chserver.Server, cfg chserver.Config, log *slog.Logger) *supervisor {
	// Restarts reuse the ports the first start ended up with.
	cfg.NativePort, _ = strconv.Atoi(portOf(srv.NativeAddr()))
	cfg.HTTPPort, _ = strconv.Atoi(portOf(srv.HTTPAddr()))
	return &supervisor{cfg: cfg, log: log, srv: srv,
		restarts: prometheus.NewCounter(prometheus.CounterOpts{Name: "vetrina_up_clickhouse_restarts_total",
			Help: "Times `vetrina up` restarted its managed ClickHouse after it exited on its own."})}
}

func (s *supervisor) current() *chserver.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.srv
}

// run watches the server until ctx ends.
func (s *supervisor) run(ctx context.Context) error {
	for {
		srv := s.current()
		select {
		case <-ctx.Done():
			return nil
		case <-srv.Done():
		}
		b := retry.NewBackoff(time.Second, 30*time.Second)
		for {
			s.log.Warn("up: managed ClickHouse exited; restarting it", "pid", srv.PID(), "err", srv.Err(), "in", b.Next())
			if err := b.Sleep(ctx); err != nil {
				return nil
			}
			next, err := chserver.Start(ctx, s.cfg)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				s.log.Error("up: restart managed ClickHouse", "err", err)
				continue
			}
			s.mu.Lock()
			s.srv = next
			s.mu.Unlock()
			s.restarts.Inc()
			s.log.Info("up: managed ClickHouse restarted", "pid", next.PID(), "native", next.NativeAddr())
			break
		}
	}
}

// stop stops the server running now.
func (s *supervisor) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.current().Stop(ctx); err != nil {
		s.log.Warn("stop ClickHouse", "err", err)
	}
}
