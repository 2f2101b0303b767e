package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/vetrina/vetrina/matching"
	"github.com/vetrina/vetrina/ranking"
)

// Matcher serves the influencer matching routes: the current profiles.
type Matcher interface {
	Model() *matching.Model
}

// Refresher recomputes the matching profiles on demand (POST
// /v1/admin/profiles/refresh); a Matcher that is one gets the route.
type Refresher interface {
	Refresh(ctx context.Context) error
}

// ProfilesRefreshed is the body of a successful POST
// /v1/admin/profiles/refresh.
type ProfilesRefreshed struct {
	AsOf        time.Time `json:"as_of"`
	Influencers int       `json:"influencers"`
	Seconds     float64   `json:"seconds"`
}

// refreshProfiles serves POST /v1/admin/profiles/refresh: the profiles are
// recomputed now, and the answer comes when they are in use.
func (s *Server) refreshProfiles(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	// Profiles over a large history take longer than the server's write
	// timeout: this answer may wait for them.
	_ = http.NewResponseController(w).SetWriteDeadline(start.Add(refreshTimeout))
	if err := s.cfg.Matching.(Refresher).Refresh(r.Context()); err != nil {
		s.log.Error("api: profiles refresh failed", "err", err)
		problem(w, r, http.StatusServiceUnavailable, "profiles not refreshed", "computing the profiles failed; the previous ones stay in use (see the server log)")
		return
	}
	m := s.cfg.Matching.Model()
	s.writeJSON(w, r, http.StatusOK, ProfilesRefreshed{AsOf: m.AsOf, Influencers: m.NumInfluencers(), Seconds: time.Since(start).Seconds()})
}

// refreshTimeout bounds how long POST /v1/admin/profiles/refresh may take.
const refreshTimeout = 15 * time.Minute

// maxPlanBody bounds a plan request's body.
const maxPlanBody = 4 << 20

// model returns the current matching model, or answers 503 when the
// profiles are not computed yet.
func (s *Server) model(w http.ResponseWriter, r *http.Request) (*matching.Model, bool) {
	m := s.cfg.Matching.Model()
	if m == nil {
		w.Header().Set("Retry-After", "10")
		problem(w, r, http.StatusServiceUnavailable, "profiles not ready", "the influencer and brand profiles are being computed for the first time; retry shortly")
		return nil, false
	}
	return m, true
}

// brandInfluencers serves GET /v1/brands/{id}/influencers.
func (s *Server) brandInfluencers(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		problem(w, r, http.StatusBadRequest, "malformed brand id", "the brand id must be an unsigned 64-bit integer")
		return
	}
	if p := principal(r); !p.Brand(id) {
		forbidBrand(w, r, p, id)
		return
	}
	qs := r.URL.Query()
	if d := onceEach(qs, "limit", "sort", "category", "country", "min_followers", "max_fee", "commission", "cursor"); d != "" {
		repeated(w, r, d)
		return
	}
	q := matching.Query{Category: qs.Get("category"), Country: qs.Get("country"), Sort: qs.Get("sort"), Visible: principal(r).visible()}
	var bad error
	intParam := func(name string, dst *int) {
		if v := qs.Get(name); v != "" && bad == nil {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				bad = fmt.Errorf("%s must be a positive integer", name)
			}
			*dst = n
		}
	}
	floatParam := func(name string, dst *float64) {
		if v := qs.Get(name); v != "" && bad == nil {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
				bad = fmt.Errorf("%s must be a non-negative number", name)
			}
			*dst = f
		}
	}
	intParam("limit", &q.Limit)
	floatParam("max_fee", &q.MaxFee)
	if qs.Get("commission") != "" {
		q.Commission = new(float64)
		floatParam("commission", q.Commission)
	}
	if v := qs.Get("min_followers"); v != "" && bad == nil {
		if q.MinFollowers, err = strconv.ParseUint(v, 10, 64); err != nil {
			bad = errors.New("min_followers must be a non-negative integer")
		}
	}
	if c := qs.Get("cursor"); c != "" && bad == nil {
		if q.Offset, err = ranking.DecodeCursor(c); err != nil {
			bad = err
		}
	}
	if bad != nil {
		problem(w, r, http.StatusBadRequest, "bad query", bad.Error())
		return
	}
	m, ok := s.model(w, r)
	if !ok {
		return
	}
	res, err := m.Rank(r.Context(), id, q)
	if err != nil {
		s.matchingError(w, r, err)
		return
	}
	// Pages go on while influencers match, up to the MaxLimit best.
	if end := q.Offset + len(res.Items); len(res.Items) > 0 && end < res.Matched && end < matching.MaxLimit {
		res.NextCursor = ranking.EncodeCursor(end)
	}
	s.writeJSON(w, r, http.StatusOK, res)
}

// influencer serves GET /v1/influencers/{id}.
func (s *Server) influencer(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		problem(w, r, http.StatusBadRequest, "malformed influencer id", "the influencer id must be an unsigned 64-bit integer")
		return
	}
	m, ok := s.model(w, r)
	if !ok {
		return
	}
	// A brand token sees no other brand's sponsored lives, neither listed
	// nor in totals (matching.Model.View).
	inf, ok := m.InfluencerFor(id, principal(r).visible())
	if !ok {
		problem(w, r, http.StatusNotFound, "unknown influencer", fmt.Sprintf("influencer %d is not in the catalog", id))
		return
	}
	s.writeJSON(w, r, http.StatusOK, InfluencerProfile{Influencer: inf, AsOf: m.AsOf})
}

// plan serves POST /v1/plans.
func (s *Server) plan(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPlanBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		var netErr net.Error
		switch {
		case errors.As(err, &tooBig):
			problem(w, r, http.StatusRequestEntityTooLarge, "request too large", fmt.Sprintf("a plan request is at most %d bytes", maxPlanBody))
		case errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
			w.Header().Set("Connection", "close")
			problem(w, r, http.StatusRequestTimeout, "request timeout", fmt.Sprintf("the request body did not arrive within %s", s.cfg.ReadTimeout))
		default:
			problem(w, r, http.StatusBadRequest, "request body unreadable", "the request body could not be read: the connection failed or the body was shorter than its Content-Length")
		}
		return
	}
	req, err := decodePlanRequest(data)
	if err != nil {
		problem(w, r, http.StatusBadRequest, "malformed plan request", err.Error())
		return
	}
	if p := principal(r); !p.Unrestricted() {
		for _, b := range req.Brands {
			if !p.Brand(b.BrandID) {
				forbidBrand(w, r, p, b.BrandID)
				return
			}
		}
	}
	m, ok := s.model(w, r)
	if !ok {
		return
	}
	res, err := m.Plan(r.Context(), req, matching.PlanOptions{Visible: principal(r).visible()})
	if err != nil {
		s.matchingError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, res)
}

func (s *Server) matchingError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case matching.IsInvalid(err):
		problem(w, r, http.StatusBadRequest, "bad request", err.Error())
	case errors.Is(err, matching.ErrUnknownBrand):
		problem(w, r, http.StatusNotFound, "unknown brand", err.Error())
	case errors.Is(err, matching.ErrUnknownInfluencer):
		problem(w, r, http.StatusNotFound, "unknown influencer", err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		problem(w, r, http.StatusServiceUnavailable, "request cancelled", "the request was cancelled or timed out")
	default:
		s.log.Error("matching request failed", "path", r.URL.Path, "err", err)
		problem(w, r, http.StatusInternalServerError, "internal error", "the request failed; the server logged why")
	}
}
