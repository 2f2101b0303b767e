package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/vetrina/vetrina/ranking"
)

// Feeder answers the feed service: the ranking's Ranker.
type Feeder interface {
	Feed(ctx context.Context, req ranking.FeedRequest) (*ranking.Feed, error)
	Similar(ctx context.Context, productID uint64, limit int) (*ranking.Similar, error)
}

// feed serves GET /v1/feed?user_id=&limit=&cursor=.
func (s *Server) feed(w http.ResponseWriter, r *http.Request) {
	var q [3]string // user_id, limit, cursor
	if dup := queryValues(r.URL.RawQuery, feedParams[:], q[:]); dup >= 0 {
		repeated(w, r, feedParams[dup])
		return
	}
	uid := q[0]
	if uid == "" {
		problem(w, r, http.StatusBadRequest, "missing user_id", "user_id is required: an unsigned 64-bit integer")
		return
	}
	user, err := strconv.ParseUint(uid, 10, 64)
	if err != nil {
		problem(w, r, http.StatusBadRequest, "malformed user_id", "user_id must be an unsigned 64-bit integer")
		return
	}
	limit, ok := parseLimit(w, r, q[1])
	if !ok {
		return
	}
	f, err := s.cfg.Feed.Feed(r.Context(), ranking.FeedRequest{UserID: user, Limit: limit, Cursor: q[2]})
	if err != nil {
		rankingError(w, r, err)
		return
	}
	buf := feedBuffers.Get().(*[]byte)
	*buf = f.AppendJSON((*buf)[:0])
	f.Release() // encoded: its memory serves the next feed
	*buf = append(*buf, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(*buf)
	if cap(*buf) <= 64<<10 {
		feedBuffers.Put(buf)
	}
}

// feedBuffers hold encoded feeds between requests: the feed is the
// hottest response, encoded without reflection into reused memory.
var feedBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// similar serves GET /v1/products/{id}/similar?limit=.
func (s *Server) similar(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		problem(w, r, http.StatusBadRequest, "malformed product id", "the product id must be an unsigned 64-bit integer")
		return
	}
	limit, ok := limitParam(w, r)
	if !ok {
		return
	}
	sim, err := s.cfg.Feed.Similar(r.Context(), id, limit)
	if err != nil {
		rankingError(w, r, err)
		return
	}
	if sim.Items == nil {
		sim.Items = []ranking.FeedItem{} // the contract's items are an array, never null
	}
	s.writeJSON(w, r, http.StatusOK, sim)
}

// feedParams are the parameters the feed reads, in queryValues' order.
var feedParams = [...]string{"user_id", "limit", "cursor"}

// queryValues sets vals[i] to the first value of the parameter names[i] in
// the raw query, as url.ParseQuery followed by Get would, without building
// the map: the feed is the hottest route. Malformed pairs are skipped, as
// URL.Query skips them. names holds at most 64 parameters. It returns the
// index of the first parameter given more than once, else -1.
func queryValues(raw string, names, vals []string) (dup int) {
	dup = -1
	var found uint64 // bit i: names[i] has its first value
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			continue
		}
		i := slices.Index(names, key)
		if i < 0 {
			continue
		}
		// A pair whose value does not unescape is dropped whole, as
		// net/url drops it: it neither gives a value nor repeats one.
		val, err := url.QueryUnescape(v)
		if err != nil {
			continue
		}
		if found&(1<<i) != 0 {
			if dup < 0 {
				dup = i
			}
			continue
		}
		vals[i] = val
		found |= 1 << i
	}
	return dup
}

// repeated answers 400 to a query that gives a parameter twice: which
// value was meant is not for the server to guess.
func repeated(w http.ResponseWriter, r *http.Request, name string) {
	problem(w, r, http.StatusBadRequest, "bad query", name+" is given more than once")
}

// onceEach returns the first parameter of names that qs holds more than
// once, or "".
func onceEach(qs url.Values, names ...string) string {
	for _, n := range names {
		if len(qs[n]) > 1 {
			return n
		}
	}
	return ""
}

func limitParam(w http.ResponseWriter, r *http.Request) (int, bool) {
	qs := r.URL.Query()
	if d := onceEach(qs, "limit"); d != "" {
		repeated(w, r, d)
		return 0, false
	}
	return parseLimit(w, r, qs.Get("limit"))
}

func parseLimit(w http.ResponseWriter, r *http.Request, l string) (int, bool) {
	if l == "" {
		return 0, true
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 {
		problem(w, r, http.StatusBadRequest, "malformed limit", "limit must be a positive integer")
		return 0, false
	}
	return n, true
}

func rankingError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ranking.ErrBadRequest):
		problem(w, r, http.StatusBadRequest, "bad request", err.Error())
	case errors.Is(err, ranking.ErrUnknownProduct):
		problem(w, r, http.StatusNotFound, "unknown product", err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		problem(w, r, http.StatusServiceUnavailable, "request cancelled", "the request was cancelled or timed out")
	default:
		problem(w, r, http.StatusInternalServerError, "internal error", "the feed could not be computed")
	}
}

// problemDoc is an RFC 9457 problem document.
type problemDoc struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// RequestID (an extension member) is the request's X-Request-Id, for
	// finding it in the server's log.
	RequestID string `json:"request_id,omitempty"`
}

func problem(w http.ResponseWriter, r *http.Request, code int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(code)
	_ = jsonEncode(w, problemDoc{Type: "about:blank", Title: title, Status: code, Detail: detail, Instance: r.URL.Path, RequestID: w.Header().Get("X-Request-Id")})
}
