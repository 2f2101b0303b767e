package api

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/vetrina/vetrina/api/token"
	"github.com/vetrina/vetrina/matching"
)

// Who may call what is set by the tokens' scopes (package token):
//
//	feed        GET /v1/feed and GET /v1/products/{id}/similar
//	brand:<id>  that brand's ranked influencers, influencer profiles (with
//	            no other brand's sponsored lives) and plans for that brand
//	admin       every route
//
// GET /v1/me answers any valid token with its name and scopes.
//
// /healthz, /readyz and /metrics need no token: they are for load
// balancers and Prometheus on the operators' network.

// Principal is the holder of a valid token.
type Principal struct {
	Name   string
	Admin  bool
	Feed   bool
	Brands []uint64 // sorted
	limit  *rate.Limiter
}

// Brand reports whether p may see brand id's data. A nil principal (no
// authentication configured) may see everything.
func (p *Principal) Brand(id uint64) bool {
	if p == nil || p.Admin {
		return true
	}
	_, ok := slices.BinarySearch(p.Brands, id)
	return ok
}

// Unrestricted reports whether p sees every brand.
func (p *Principal) Unrestricted() bool { return p == nil || p.Admin }

// visible returns what p may see of brands' sponsored lives, as matching
// takes it: nil for every brand's, else p's brands'.
func (p *Principal) visible() matching.Visible {
	if p.Unrestricted() {
		return nil
	}
	return p.Brand
}

func (p *Principal) scopes() string {
	var s []string
	if p.Admin {
		s = append(s, token.ScopeAdmin)
	}
	if p.Feed {
		s = append(s, token.ScopeFeed)
	}
	for _, b := range p.Brands {
		s = append(s, token.ScopeBrandPrefix+strconv.FormatUint(b, 10))
	}
	return strings.Join(s, ", ")
}

// Auth holds the current tokens; Set swaps them atomically, so tokens
// rotate without a restart and without dropping a request.
type Auth struct {
	principals atomic.Pointer[map[token.Hash]*Principal]
}

// NewAuth returns an Auth with the given tokens.
func NewAuth(s *token.Set) *Auth {
	a := &Auth{}
	a.Set(s)
	return a
}

// Set replaces the tokens. Each token's rate limit starts afresh.
func (a *Auth) Set(s *token.Set) {
	m := make(map[token.Hash]*Principal, s.Len())
	for h, g := range s.All() {
		m[h] = &Principal{Name: g.Name, Admin: g.Admin, Feed: g.Feed, Brands: g.Brands, limit: rate.NewLimiter(rate.Limit(g.Rate), g.Burst)}
	}
	a.principals.Store(&m)
}

// Lookup returns the holder of a token, or nil if the token is not valid.
func (a *Auth) Lookup(tok string) *Principal {
	m := a.principals.Load()
	if m == nil {
		return nil
	}
	return (*m)[token.HashOf(tok)]
}

// access is what a route requires of the caller's token.
type access int

const (
	public      access = iota // no token
	feedAccess                // feed or admin
	brandAccess               // brand:<id> or admin; the handler checks which brand
	adminAccess               // admin
	tokenAccess               // any valid token (GET /v1/me)
)

type principalKey struct{}

// principal returns the caller of r: nil when authentication is off.
func principal(r *http.Request) *Principal {
	p, _ := r.Context().Value(principalKey{}).(*Principal)
	return p
}

// guard authenticates and authorises requests to a route needing a, and
// applies the token's rate limit. With no Auth configured it passes every
// request (development and tests only; the commands always configure it).
func (s *Server) guard(a access, h http.Handler) http.Handler {
	if a == public || s.cfg.Auth == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vetrina"`)
			problem(w, r, http.StatusUnauthorized, "missing token", "send the API token as Authorization: Bearer <token>")
			return
		}
		p := s.cfg.Auth.Lookup(token)
		if p == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vetrina", error="invalid_token"`)
			problem(w, r, http.StatusUnauthorized, "invalid token", "the token is not valid (unknown, revoked or mistyped)")
			return
		}
		allowed := p.Admin
		switch a {
		case feedAccess:
			allowed = allowed || p.Feed
		case brandAccess:
			allowed = allowed || len(p.Brands) > 0
		case tokenAccess:
			allowed = true
		}
		if !allowed {
			need := map[access]string{feedAccess: "feed or admin", brandAccess: "brand:<id> or admin", adminAccess: "admin"}[a]
			problem(w, r, http.StatusForbidden, "outside the token's scope",
				fmt.Sprintf("token %q has scopes [%s]; this route needs %s", p.Name, p.scopes(), need))
			return
		}
		if now := time.Now(); !p.limit.AllowN(now, 1) {
			w.Header().Set("Retry-After", strconv.FormatInt(retryAfter(p.limit, now), 10))
			problem(w, r, http.StatusTooManyRequests, "rate limit exceeded",
				fmt.Sprintf("token %q is limited to %g requests per second (burst %d)", p.Name, float64(p.limit.Limit()), p.limit.Burst()))
			return
		}
		if sw, ok := w.(*statusWriter); ok {
			sw.holder = p.Name
		}
		if a == feedAccess {
			// The feed answers the same whoever asks: no copy of the
			// request to carry the principal on the hottest route.
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// forbidBrand writes the 403 of a brand token asking for another brand.
func forbidBrand(w http.ResponseWriter, r *http.Request, p *Principal, id uint64) {
	problem(w, r, http.StatusForbidden, "outside the token's scope",
		fmt.Sprintf("token %q has scopes [%s]; brand %d is not one of them", p.Name, p.scopes(), id))
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// maxRetryAfter bounds Retry-After (a day): a token slower than that is
// told to come back tomorrow, not in centuries.
const maxRetryAfter = 24 * 60 * 60

// retryAfter returns the whole seconds until lim has a request's token
// again, at least 1 and at most maxRetryAfter.
func retryAfter(lim *rate.Limiter, now time.Time) int64 {
	need := 1 - lim.TokensAt(now)
	secs := math.Ceil(need / float64(lim.Limit()))
	if !(secs >= 1) { // NaN too
		return 1
	}
	return int64(min(secs, maxRetryAfter))
}
