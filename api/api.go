// Package api serves Vetrina's HTTP API: the feed service's routes (the
// feed, similar products), the brand managers' routes (ranked influencers,
// influencer profiles, plans) and the brand console, each behind tokens of
// a scope (package token), with rate limits; health, readiness and
// Prometheus metrics for operators; and its own contract, api/openapi.json.
// Handlers speak JSON; errors are RFC 9457 problem documents.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one readiness condition: nil when ready, else why not. An error
// wrapping ErrDegraded is reported in the details without making the server
// unready (e.g. no ranking model yet: the feed is served, not personalised).
type Check func(ctx context.Context) error

// ErrDegraded marks a check's error as a degradation, not unreadiness.
var ErrDegraded = errors.New("degraded")

// Config configures the server.
type Config struct {
	Addr     string // listen address, default 127.0.0.1:8080
	Gatherer prometheus.Gatherer
	// Registerer takes the API's metrics; default the Prometheus default
	// registry.
	Registerer prometheus.Registerer
	// Checks are run by /readyz; every one must pass.
	Checks map[string]Check
	// Feed serves /v1/feed and /v1/products/{id}/similar (nil: not served).
	Feed Feeder
	// Matching serves the brand and influencer routes and plans (nil: not
	// served).
	Matching Matcher
	// Auth holds the API tokens the feed and brand routes require (nil: no
	// authentication, for tests and local experiments only).
	Auth *Auth
	// AccessLog says which requests are logged: AccessLogErrors (the
	// default), AccessLogAll or AccessLogOff.
	AccessLog string
	Logger    *slog.Logger
}

// Server is the HTTP API.
type Server struct {
	cfg    Config
	routes []Route
	srv    *http.Server
	ln     net.Listener
	log    *slog.Logger
}

// New builds the server and binds its address, so that Addr is known
// before Serve.
func New(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8080"
	}
	if cfg.Gatherer == nil {
		cfg.Gatherer = prometheus.DefaultGatherer
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.DefaultRegisterer
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	mux := http.NewServeMux()
	m := newMetrics(cfg.Registerer)
	handle := func(route string, a access, h http.HandlerFunc) {
		s.routes = append(s.routes, Route{Pattern: route, access: a})
		mux.Handle(route, s.instrument(m, route, s.guard(a, h)))
	}
	handle("GET /healthz", public, s.healthz)
	handle("GET /readyz", public, s.readyz)
	handle("GET /metrics", public, promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{}).ServeHTTP)
	handle("GET /openapi.json", public, s.openapi)
	handle("GET /console/", public, s.console)
	handle("GET /v1/me", tokenAccess, s.me)
	if cfg.Feed != nil {
		handle("GET /v1/feed", feedAccess, s.feed)
		handle("GET /v1/products/{id}/similar", feedAccess, s.similar)
	}
	if cfg.Matching != nil {
		handle("GET /v1/brands/{id}/influencers", brandAccess, s.brandInfluencers)
		handle("GET /v1/influencers/{id}", brandAccess, s.influencer)
		handle("POST /v1/plans", brandAccess, s.plan)
		if _, ok := cfg.Matching.(Refresher); ok {
			handle("POST /v1/admin/profiles/refresh", adminAccess, s.refreshProfiles)
		}
	}
	s.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	s.ln = ln
	return s, nil
}

// Route is one registered route.
type Route struct {
	Pattern string // as http.ServeMux takes it: "GET /v1/feed"
	access  access
}

// Scope returns what the route requires: "public", "feed", "brand",
// "admin" (admin tokens reach every route) or "token" (any valid token).
func (r Route) Scope() string {
	return [...]string{public: "public", feedAccess: "feed", brandAccess: "brand", adminAccess: "admin", tokenAccess: "token"}[r.access]
}

// Routes returns the registered routes, in registration order.
func (s *Server) Routes() []Route { return slices.Clone(s.routes) }

// Handler returns the server's handler: every route with its guards and
// metrics (tests and fuzzing drive it without a network).
func (s *Server) Handler() http.Handler { return s.srv.Handler }

// Addr returns the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Run serves until ctx is done, then lets in-flight requests finish (up to
// 10s) and returns.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

type readiness struct {
	Ready  bool              `json:"ready"`
	Checks map[string]string `json:"checks"`
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	out := readiness{Ready: true, Checks: map[string]string{}}
	for name, check := range s.cfg.Checks {
		if err := check(ctx); err != nil {
			out.Checks[name] = err.Error()
			if !errors.Is(err, ErrDegraded) {
				out.Ready = false
			}
		} else {
			out.Checks[name] = "ok"
		}
	}
	code := http.StatusOK
	if !out.Ready {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, out)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = jsonEncode(w, v)
}

// jsonEncode writes v as JSON; <, > and & stay as they are (the API's
// answers are not embedded in HTML).
func jsonEncode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
