package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vetrina/vetrina/api"
	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/matching"
)

// swapModel is a Matcher whose model a fuzz input replaces.
type swapModel struct {
	m atomic.Pointer[matching.Model]
}

func (s *swapModel) Model() *matching.Model { return s.m.Load() }

// FuzzPlanCatalog feeds odd numbers through both ends: catalog messages
// (an influencer's fee and followers, a live's fee, a product's price) go
// through the ingest's decoder, and what it accepts into the profiles; a
// plan request comes from the fuzzer. Every answer of the plan, ranking
// and profile routes must be a complete JSON document that matches the
// contract (a status it lists, its schema), whatever the numbers.
func FuzzPlanCatalog(f *testing.F) {
	dec := event.NewDecoder(event.Limits{Now: func() time.Time { return matchingAsOf }})
	sw := &swapModel{}
	srv, err := api.New(api.Config{Addr: "127.0.0.1:0", Matching: sw})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = srv.Run(ctx)
	})
	h := srv.Handler()
	var doc map[string]any
	if err := json.Unmarshal(api.OpenAPIDocument(), &doc); err != nil {
		f.Fatal(err)
	}
	for _, s := range []struct {
		infFee, liveFee, price, followers string
		plan                              string
	}{
		{"250", "300", "19.9", "50000", `{"brands":[{"brand_id":1,"budget":5000,"lives":2}]}`},
		{"1e308", "5e-324", "1e308", "18446744073709551615", `{"brands":[{"brand_id":1,"lives":1}],"influencers":[{"influencer_id":112,"capacity":1,"fee":1e308}]}`},
		{"5e-324", "1e308", "0", "0", `{"objective":"profit","brands":[{"brand_id":1,"lives":1}],"influencers":[{"influencer_id":112,"capacity":1,"fee":5e-324}]}`},
		{"0.01", "10000000", "1000000000", "10000000000", `{"objective":"profit","commission":0,"brands":[{"brand_id":1,"budget":1e12,"lives":10000},{"brand_id":2,"lives":1}],"influencers":[{"influencer_id":112,"capacity":10000,"fee":0.01},{"influencer_id":113,"capacity":1,"fee":10000000}]}`},
		{"null", "0", "1.7976931348623157e308", "1", `{"objective":"profit","brands":[{"brand_id":3,"budget":0,"lives":3}]}`},
	} {
		f.Add(s.infFee, s.liveFee, s.price, s.followers, []byte(s.plan))
	}
	f.Fuzz(func(t *testing.T, infFee, liveFee, price, followers string, plan []byte) {
		in := matchingInputs()
		// Each catalog message goes through the decoder; a dead letter
		// changes nothing.
		var inf event.Influencer
		if dec.Influencer([]byte(`{"influencer_id":112,"handle":"@inf112","followers":`+followers+`,"country":"IT","categories":["beauty"],"fee":`+infFee+`,"updated_at":"2026-02-01T00:00:00Z"}`), &inf) == nil {
			for k := range in.Influencers {
				if in.Influencers[k].InfluencerID == 112 {
					in.Influencers[k] = inf
				}
			}
		}
		var lv event.Live
		if dec.Live([]byte(`{"live_id":1,"influencer_id":101,"sponsor_brand_id":2,"fee":`+liveFee+`,"started_at":"2026-02-01T00:00:00Z","updated_at":"2026-02-01T00:00:00Z"}`), &lv) == nil {
			for k := range in.Lives {
				if in.Lives[k].LiveID == 1 {
					in.Lives[k].Fee, in.Lives[k].SponsorBrandID = lv.Fee, lv.SponsorBrandID
				}
			}
		}
		var p event.Product
		if dec.Product([]byte(`{"product_id":1,"brand_id":1,"category":"kitchenware","title":"pan","price":`+price+`,"currency":"EUR","in_stock":true,"updated_at":"2026-02-01T00:00:00Z"}`), &p) == nil {
			in.Products[0] = p
		}
		m, err := matching.Build(in)
		if err != nil {
			t.Fatal(err)
		}
		sw.m.Store(m)
		for _, r := range []struct{ method, path, url, body string }{
			{"POST", "/v1/plans", "/v1/plans", string(plan)},
			{"POST", "/v1/plans", "/v1/plans", `{"objective":"profit","brands":[{"brand_id":1,"lives":3},{"brand_id":2,"budget":400,"lives":2}]}`},
			{"GET", "/v1/brands/{id}/influencers", "/v1/brands/1/influencers?sort=roi&limit=200", ""},
			{"GET", "/v1/brands/{id}/influencers", "/v1/brands/1/influencers?sort=p10&commission=0", ""},
			{"GET", "/v1/influencers/{id}", "/v1/influencers/112", ""},
			{"GET", "/v1/influencers/{id}", "/v1/influencers/101", ""},
		} {
			req := httptest.NewRequest(r.method, r.url, bytes.NewReader([]byte(r.body)))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			body := w.Body.Bytes()
			if cl := w.Header().Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(body)) {
				t.Fatalf("%s %s: Content-Length %s, %d bytes: %q", r.method, r.url, cl, len(body), body)
			}
			if w.Code == http.StatusInternalServerError {
				t.Fatalf("%s %s → 500: %s", r.method, r.url, body)
			}
			var v any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatalf("%s %s → %d: not a complete JSON document (%v): %q", r.method, r.url, w.Code, err, body)
			}
			if err := checkSchema(doc, responseSchema(t, doc, r.method, r.path, w.Code), v, "body"); err != nil {
				t.Fatalf("%s %s → %d does not match the contract: %v\n%s", r.method, r.url, w.Code, err, body)
			}
		}
	})
}
