package matching

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ServiceConfig configures a Service.
type ServiceConfig struct {
	Source Source
	// Every is how often the profiles are recomputed; default 10m.
	Every time.Duration
	// EmptyRetry is how soon Run computes again when the profiles found no
	// influencers or brands (a fresh system); default 10s.
	EmptyRetry time.Duration
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Service keeps the current Model, recomputed periodically from the
// store; requests read whichever model is current, never waiting for one.
type Service struct {
	cfg   ServiceConfig
	model atomic.Pointer[Model]
	built prometheus.Gauge
	took  prometheus.Gauge
	fails prometheus.Counter
}

// NewService returns a Service without a model; Run builds them.
func NewService(cfg ServiceConfig) *Service {
	if cfg.Every <= 0 {
		cfg.Every = 10 * time.Minute
	}
	if cfg.EmptyRetry <= 0 {
		cfg.EmptyRetry = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	s := &Service{
		cfg: cfg,
		built: prometheus.NewGauge(prometheus.GaugeOpts{Name: "vetrina_matching_profiles_built_timestamp_seconds",
			Help: "When the current influencer and brand profiles were computed (Unix seconds); 0 before the first."}),
		took: prometheus.NewGauge(prometheus.GaugeOpts{Name: "vetrina_matching_profiles_build_seconds",
			Help: "How long the last computation of the profiles took."}),
		fails: prometheus.NewCounter(prometheus.CounterOpts{Name: "vetrina_matching_profile_failures_total",
			Help: "Computations of the profiles that failed (the previous profiles stay)."}),
	}
	cfg.Registerer.MustRegister(s.built, s.took, s.fails)
	return s
}

// Model returns the current model, nil before the first is built.
func (s *Service) Model() *Model { return s.model.Load() }

// Refresh computes the profiles as of now and makes them current.
func (s *Service) Refresh(ctx context.Context) error {
	start := time.Now()
	in, err := Load(ctx, s.cfg.Source, s.cfg.Now())
	if err != nil {
		s.fails.Inc()
		return fmt.Errorf("compute matching profiles: %w", err)
	}
	m, err := Build(in)
	if err != nil {
		s.fails.Inc()
		return err
	}
	s.model.Store(m)
	s.built.Set(float64(time.Now().Unix()))
	s.took.Set(time.Since(start).Seconds())
	s.cfg.Logger.Info("matching: profiles computed", "influencers", m.NumInfluencers(), "brands", len(m.brands), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// Run refreshes now and then every cfg.Every until ctx is done. A failed
// refresh is logged and retried sooner (a minute, or Every if shorter).
func (s *Service) Run(ctx context.Context) error {
	retry := min(time.Minute, s.cfg.Every)
	for {
		wait := s.cfg.Every
		if err := s.Refresh(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.cfg.Logger.Warn("matching: profiles not refreshed", "err", err)
			wait = retry
		} else if m := s.Model(); m.NumInfluencers() == 0 || len(m.brands) == 0 {
			// A fresh system: the catalog has not landed yet. Look again
			// soon rather than a whole period later.
			wait = min(wait, s.cfg.EmptyRetry)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// Ready is a readiness check: nil once profiles exist.
func (s *Service) Ready(context.Context) error {
	if s.Model() == nil {
		return fmt.Errorf("matching profiles not computed yet")
	}
	return nil
}
