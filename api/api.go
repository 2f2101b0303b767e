// Package api serves Vetrina's HTTP API: the feed service's routes (the
// feed, similar products), the brand managers' routes (ranked influencers,
// influencer profiles, plans) and the brand console, each behind tokens of
// a scope (package token), with rate limits; health, readiness and
// Prometheus metrics for operators; and its own contract, api/openapi.json.
// Handlers speak JSON; errors are RFC 9457 problem documents.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	// ReadTimeout bounds reading a request, headers and body (default 15
	// s): a plan body that has not arrived by then is answered 408.
	ReadTimeout time.Duration
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
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = readTimeout
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	mux := http.NewServeMux()
	m := newMetrics(cfg.Registerer)
	handle := func(route string, a access, h http.HandlerFunc) {
		s.routes = append(s.routes, Route{Pattern: route, access: a})
		mux.Handle(route, s.instrument(m, route, limitQuery(s.guard(a, h))))
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
	// What no route takes: a 404 or 405 problem document, not the mux's
	// text (not a Route: it is no part of the contract's paths).
	mux.Handle("/", s.instrument(m, unroutedLabel, limitQuery(s.unrouted(mux))))
	s.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: min(5*time.Second, cfg.ReadTimeout),
		ReadTimeout:       cfg.ReadTimeout,
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

// readTimeout is Config.ReadTimeout's default.
const readTimeout = 15 * time.Second

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

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, map[string]string{"status": "ok"})
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
	s.writeJSON(w, r, code, out)
}

// writeJSON answers v as JSON with code. The body is encoded before
// anything is sent: a value that does not encode (a NaN or an infinity
// that escaped the maths) is logged and answered as a 500 problem, which
// the metrics count as one, never as a 200 with an empty body.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, code int, v any) {
	buf := jsonBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<20 {
			jsonBuffers.Put(buf)
		}
	}()
	if err := jsonEncode(buf, v); err != nil {
		id := w.Header().Get("X-Request-Id")
		s.log.Error("api: encoding the answer failed", "request_id", id, "path", r.URL.Path, "err", err)
		problem(w, r, http.StatusInternalServerError, "internal error", "the answer could not be encoded; quote request id "+id+" to the server's operators")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// jsonBuffers hold encoded answers between requests.
var jsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// jsonEncode writes v as JSON; <, > and & stay as they are (the API's
// answers are not embedded in HTML).
func jsonEncode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// maxQuery bounds the raw query string of every route.
const maxQuery = 1024

// limitQuery answers 400 to a request whose query string is longer than
// maxQuery, on every route, before its token is checked.
func limitQuery(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.RawQuery) > maxQuery {
			problem(w, r, http.StatusBadRequest, "query too long", "the query string is longer than 1024 bytes")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// unroutedLabel is the route label of the metrics and the access log for
// requests no route takes.
const unroutedLabel = "unrouted"

// routeMethods are the methods a path is probed with for a 405's Allow.
var routeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// unrouted answers what no route takes, as a problem document: 405 with
// Allow when the path has routes for other methods, a redirect to a
// subtree's slash (/console → /console/), else 404. Only requests that
// miss every route get here: the routes themselves pay nothing for it.
func (s *Server) unrouted(mux *http.ServeMux) http.HandlerFunc {
	routed := func(r *http.Request, method, path string) bool {
		probe := *r
		u := *r.URL
		u.Path, u.RawPath = path, ""
		probe.URL, probe.Method = &u, method
		_, pattern := mux.Handler(&probe)
		return pattern != "" && pattern != "/"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range routeMethods {
			if routed(r, m, r.URL.Path) {
				allow = append(allow, m)
			}
		}
		switch {
		case len(allow) > 0:
			w.Header().Set("Allow", strings.Join(allow, ", "))
			problem(w, r, http.StatusMethodNotAllowed, "method not allowed",
				fmt.Sprintf("%s %s is not a route; this path takes %s", r.Method, r.URL.Path, strings.Join(allow, ", ")))
		case !strings.HasSuffix(r.URL.Path, "/") && routed(r, r.Method, r.URL.Path+"/"):
			u := *r.URL
			u.Path, u.RawPath = r.URL.Path+"/", ""
			http.Redirect(w, r, u.RequestURI(), http.StatusMovedPermanently)
		default:
			problem(w, r, http.StatusNotFound, "not found", "no route has the path "+strconv.Quote(r.URL.Path)+"; the routes are in /openapi.json")
		}
	}
}
