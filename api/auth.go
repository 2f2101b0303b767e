package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Scopes a token may hold:
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
const (
	ScopeFeed  = "feed"
	ScopeAdmin = "admin"
	// ScopeBrandPrefix starts a brand scope, e.g. "brand:42".
	ScopeBrandPrefix = "brand:"
)

// DefaultTokenRate is the request rate a token gets when its entry names
// none: requests per second, with a burst of twice as many.
const DefaultTokenRate = 100

// TokenEntry is one token in a token file: its SHA-256 (hex), never the
// token itself.
type TokenEntry struct {
	// Name identifies the holder in logs and errors (not secret).
	Name   string   `json:"name"`
	SHA256 string   `json:"sha256"`
	Scopes []string `json:"scopes"`
	// Rate is the token's limit in requests per second (burst: twice as
	// many); 0 means DefaultTokenRate.
	Rate float64 `json:"rate,omitempty"`
}

// TokenFile is the document a token file or VETRINA_TOKENS holds.
type TokenFile struct {
	Tokens []TokenEntry `json:"tokens"`
}

// Principal is the holder of a valid token.
type Principal struct {
	Name   string
	Admin  bool
	Feed   bool
	Brands []uint64 // sorted
	limit  *bucket
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

func (p *Principal) scopes() string {
	var s []string
	if p.Admin {
		s = append(s, ScopeAdmin)
	}
	if p.Feed {
		s = append(s, ScopeFeed)
	}
	for _, b := range p.Brands {
		s = append(s, ScopeBrandPrefix+strconv.FormatUint(b, 10))
	}
	return strings.Join(s, ", ")
}

// Tokens is a set of valid tokens, by hash.
type Tokens struct {
	byHash map[[sha256.Size]byte]*Principal
}

// Len returns the number of tokens.
func (t *Tokens) Len() int { return len(t.byHash) }

// ParseTokens reads a token file: JSON {"tokens": [{"name", "sha256",
// "scopes", "rate"}]}. Every problem is reported with the entry it is in.
func ParseTokens(data []byte) (*Tokens, error) {
	var f TokenFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	t := &Tokens{byHash: make(map[[sha256.Size]byte]*Principal, len(f.Tokens))}
	names := map[string]bool{}
	for i, e := range f.Tokens {
		where := fmt.Sprintf("tokens[%d] (%q)", i, e.Name)
		if e.Name == "" {
			return nil, fmt.Errorf("tokens[%d]: a name is required", i)
		}
		if names[e.Name] {
			return nil, fmt.Errorf("%s: the name is used twice", where)
		}
		names[e.Name] = true
		var h [sha256.Size]byte
		if b, err := hex.DecodeString(e.SHA256); err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("%s: sha256 must be 64 hex digits (the hash of the token, from `vetrina token`)", where)
		} else {
			copy(h[:], b)
		}
		if _, dup := t.byHash[h]; dup {
			return nil, fmt.Errorf("%s: the same token hash appears twice", where)
		}
		if !(e.Rate >= 0) || math.IsInf(e.Rate, 0) {
			return nil, fmt.Errorf("%s: rate must be a non-negative number of requests per second", where)
		}
		p := &Principal{Name: e.Name}
		if len(e.Scopes) == 0 {
			return nil, fmt.Errorf("%s: at least one scope is required (feed, admin or brand:<id>)", where)
		}
		for _, s := range e.Scopes {
			switch {
			case s == ScopeFeed:
				p.Feed = true
			case s == ScopeAdmin:
				p.Admin = true
			case strings.HasPrefix(s, ScopeBrandPrefix):
				id, err := strconv.ParseUint(strings.TrimPrefix(s, ScopeBrandPrefix), 10, 64)
				if err != nil || id == 0 {
					return nil, fmt.Errorf("%s: scope %q: a brand id must be a positive integer", where, s)
				}
				p.Brands = append(p.Brands, id)
			default:
				return nil, fmt.Errorf("%s: unknown scope %q (feed, admin or brand:<id>)", where, s)
			}
		}
		slices.Sort(p.Brands)
		p.Brands = slices.Compact(p.Brands)
		rate := e.Rate
		if rate == 0 {
			rate = DefaultTokenRate
		}
		p.limit = newBucket(rate, 2*rate)
		t.byHash[h] = p
	}
	return t, nil
}

// HashToken returns the hex SHA-256 of a token, as token files hold it.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// NewToken returns a new random token: "vt_" and 43 base64url characters
// (256 bits).
func NewToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return "vt_" + base64.RawURLEncoding.EncodeToString(b)
}

// Auth holds the current tokens; Set swaps them atomically, so tokens
// rotate without a restart and without dropping a request.
type Auth struct {
	tokens atomic.Pointer[Tokens]
}

// NewAuth returns an Auth with the given tokens.
func NewAuth(t *Tokens) *Auth {
	a := &Auth{}
	a.Set(t)
	return a
}

// Set replaces the tokens.
func (a *Auth) Set(t *Tokens) { a.tokens.Store(t) }

// Lookup returns the holder of a token, or nil if the token is not valid.
func (a *Auth) Lookup(token string) *Principal {
	t := a.tokens.Load()
	if t == nil {
		return nil
	}
	return t.byHash[sha256.Sum256([]byte(token))]
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
		if wait := p.limit.take(time.Now()); wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			problem(w, r, http.StatusTooManyRequests, "rate limit exceeded",
				fmt.Sprintf("token %q is limited to %g requests per second", p.Name, p.limit.rate))
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

// bucket is a token bucket: rate tokens per second, up to burst.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate, burst float64) *bucket {
	return &bucket{rate: rate, burst: burst, tokens: burst}
}

// take takes one token at now, or returns how long until one is there.
func (b *bucket) take(now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}
