package api

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the RED metrics of every route: rate and errors by status
// code, and duration.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vetrina_http_requests_total",
			Help: "HTTP requests served, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vetrina_http_request_duration_seconds",
			Help:    "Time from the request's arrival in the handler to its response written, by route pattern.",
			Buckets: []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10},
		}, []string{"route"}),
	}
	m.requests = register(reg, m.requests)
	m.duration = register(reg, m.duration)
	return m
}

// register registers c, or returns the collector already registered under
// its name (several servers in one process share them).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // a programming error: two metrics with one name
	}
	return c
}

// instrument wraps h with what every route gets: a request id (the
// caller's X-Request-Id if it is a sane one, else a new one, echoed in the
// response and in problem bodies), panic recovery into a 500 problem, the
// RED metrics of route, and the access log.
func (s *Server) instrument(m *metrics, route string, h http.Handler) http.Handler {
	dur := m.duration.WithLabelValues(route)
	ok := m.requests.WithLabelValues(route, "200") // most answers: no label lookup per request
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !saneRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v) // the handler meant to abort the connection
				}
				s.log.Error("api: handler panicked", "request_id", id, "route", route, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if !sw.wrote {
					problem(sw, r, http.StatusInternalServerError, "internal error", "the server failed on this request; quote request id "+id+" to its operators")
				}
				sw.code = http.StatusInternalServerError
			}
			d := time.Since(start)
			dur.Observe(d.Seconds())
			if sw.code == http.StatusOK {
				ok.Inc()
			} else {
				m.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
			}
			if s.cfg.AccessLog == AccessLogAll || s.cfg.AccessLog != AccessLogOff && (sw.code >= 400 || d >= slowRequest) {
				// No query string, address or body: ids and chat text stay
				// out of the logs.
				s.log.Info("api: request", "request_id", id, "method", r.Method, "route", route, "status", sw.code,
					"duration_ms", float64(d.Microseconds())/1000, "token", sw.holder)
			}
		}()
		h.ServeHTTP(sw, r)
	})
}

// Access log modes (Config.AccessLog).
const (
	AccessLogErrors = "errors" // the default: 4xx, 5xx and requests slower than a second
	AccessLogAll    = "all"
	AccessLogOff    = "off"
)

// slowRequest is the duration from which AccessLogErrors logs a request.
const slowRequest = time.Second

func saneRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Request ids are a random per-process prefix and a counter: unique
// without a random read per request.
var (
	requestPrefix = func() string {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		return hex.EncodeToString(b)
	}()
	requestSeq atomic.Uint64
)

func newRequestID() string {
	return requestPrefix + "-" + strconv.FormatUint(requestSeq.Add(1), 36)
}

// statusWriter remembers the status code written and, for the access log,
// the name of the token's holder.
type statusWriter struct {
	http.ResponseWriter
	code   int
	wrote  bool
	holder string
}

func (w *statusWriter) WriteHeader(code int) {
	w.code, w.wrote = code, true
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
