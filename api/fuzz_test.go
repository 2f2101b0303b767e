package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/vetrina/vetrina/api"
	"github.com/vetrina/vetrina/matching"
)

// fuzzServer is a server with a trained feed and matching profiles, driven
// in process.
func fuzzServer(f *testing.F) http.Handler {
	f.Helper()
	m, err := matching.Build(matchingInputs())
	if err != nil {
		f.Fatal(err)
	}
	srv, err := api.New(api.Config{Addr: "127.0.0.1:0", Feed: trainedRanker(f), Matching: staticModel{m}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { // releases the listener: requests go to the handler directly
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = srv.Run(ctx)
	})
	return srv.Handler()
}

// serveFuzz answers one request and checks the invariants of every answer:
// an expected status, and a JSON body (a problem document for errors).
func serveFuzz(t *testing.T, h http.Handler, req *http.Request, codes ...int) {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if !slices.Contains(codes, w.Code) {
		t.Fatalf("%s %s: status %d, want one of %v: %s", req.Method, req.URL, w.Code, codes, w.Body)
	}
	var v map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("%s %s: body is not a JSON object: %v: %q", req.Method, req.URL, err, w.Body)
	}
	if w.Code >= 400 && (w.Header().Get("Content-Type") != "application/problem+json" || v["status"] != float64(w.Code)) {
		t.Fatalf("%s %s: %d without a problem document: %s", req.Method, req.URL, w.Code, w.Body)
	}
}

func FuzzFeedQuery(f *testing.F) {
	h := fuzzServer(f)
	for _, q := range []string{"user_id=1", "user_id=1&limit=5", "user_id=1&cursor=bzI", "user_id=-1", "user_id=1&limit=1000", "limit=3", "user_id=18446744073709551616", "user_id=1&cursor=%ff%00"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		req := httptest.NewRequest("GET", "/v1/feed", nil)
		req.URL.RawQuery = q
		serveFuzz(t, h, req, 200, 400)
	})
}

func FuzzBrandQuery(f *testing.F) {
	h := fuzzServer(f)
	for _, q := range []string{"limit=5", "sort=p10", "category=kitchenware&country=IT", "min_followers=1000&max_fee=200", "commission=0", "max_fee=NaN", "limit=201", "sort=%00"} {
		f.Add("1", q)
	}
	f.Add("99999", "")
	f.Add("-1", "")
	f.Fuzz(func(t *testing.T, id, q string) {
		req := httptest.NewRequest("GET", "/v1/brands/1/influencers", nil)
		req.URL.Path = "/v1/brands/" + id + "/influencers"
		req.URL.RawPath = ""
		req.URL.RawQuery = q
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code == http.StatusNotFound && w.Header().Get("Content-Type") != "application/problem+json" ||
			w.Code == http.StatusTemporaryRedirect || w.Code == http.StatusMovedPermanently {
			return // the path itself did not route (an id with a slash or a dot segment: the mux cleans it)
		}
		serveFuzz(t, h, req, 200, 400, 404)
	})
}

func FuzzPlanBody(f *testing.F) {
	h := fuzzServer(f)
	for _, b := range []string{
		`{"brands":[{"brand_id":1,"budget":5000,"lives":2}]}`,
		`{"objective":"profit","brands":[{"brand_id":1,"lives":1},{"brand_id":2,"budget":300,"lives":3}],"influencers":[{"influencer_id":101,"capacity":2,"fee":120}]}`,
		`{"brands":[{"brand_id":1,"budget":-1,"lives":2}]}`,
		`{"brands":[]}`, `[]`, `{"brands":[{"brand_id":1,"budget":1e308,"lives":2147483647}]}`, `{`,
	} {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/v1/plans", bytes.NewReader(body))
		serveFuzz(t, h, req, 200, 400, 404, 413)
	})
}
