package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/vetrina/vetrina/api"
	"github.com/vetrina/vetrina/ranking"
)

// trainedRanker serves a tiny trained model: 3 categories of 10 products,
// 60 users each browsing one.
func trainedRanker(t testing.TB) *ranking.Ranker {
	t.Helper()
	b := ranking.NewBuilder()
	for c := range 3 {
		for k := range 10 {
			b.AddItem(ranking.Item{ID: uint64(100*(c+1) + k), Category: fmt.Sprint("cat", c), Brand: uint64(k), InStock: true, Title: fmt.Sprint("p", k)})
		}
	}
	for u := range 60 {
		for k := range 5 {
			b.Add(ranking.Interaction{User: uint64(u + 1), Item: uint64(100*(u%3+1) + (u+k)%10), Kind: ranking.View, Unix: int64(1_700_000_000 + u*60 + k)})
		}
	}
	m, err := ranking.Train(context.Background(), b.Build(), ranking.TrainConfig{ALS: ranking.ALSConfig{Factors: 4, Iterations: 3}})
	if err != nil {
		t.Fatal(err)
	}
	r := ranking.New(ranking.Config{})
	r.SetModel(m)
	return r
}

func serveFeed(t *testing.T, f api.Feeder) string {
	t.Helper()
	return runServer(t, api.Config{Addr: "127.0.0.1:0", Feed: f})
}

func TestFeed_BadInputIsProblem400(t *testing.T) {
	base := serveFeed(t, trainedRanker(t))
	for name, tc := range map[string]struct {
		path string
		code int
	}{
		"missing user_id":    {"/v1/feed", 400},
		"malformed user_id":  {"/v1/feed?user_id=abc", 400},
		"negative user_id":   {"/v1/feed?user_id=-1", 400},
		"user_id overflow":   {"/v1/feed?user_id=18446744073709551616", 400},
		"limit over maximum": {"/v1/feed?user_id=1&limit=1000", 400},
		"limit zero":         {"/v1/feed?user_id=1&limit=0", 400},
		"limit not a number": {"/v1/feed?user_id=1&limit=ten", 400},
		"bad cursor":         {"/v1/feed?user_id=1&cursor=%25%25", 400},
		"forged cursor":      {"/v1/feed?user_id=1&cursor=bm9wZQ", 400},
		"huge query":         {"/v1/feed?user_id=1&x=" + strings.Repeat("a", 2000), 400},
		"similar bad id":     {"/v1/products/x/similar", 400},
		"similar unknown":    {"/v1/products/999999/similar", 404},
		"similar bad limit":  {"/v1/products/100/similar?limit=-3", 400},
		"similar over limit": {"/v1/products/100/similar?limit=101", 400},
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := http.Get(base + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.code {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.code)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q, want application/problem+json", ct)
			}
			var p struct {
				Title  string `json:"title"`
				Status int    `json:"status"`
				Detail string `json:"detail"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || p.Status != tc.code || p.Title == "" || p.Detail == "" {
				t.Errorf("problem body %+v (%v)", p, err)
			}
		})
	}
}

func TestFeed_ServesPagesAndSimilar(t *testing.T) {
	base := serveFeed(t, trainedRanker(t))
	code, body := get(t, base+"/v1/feed?user_id=1&limit=4")
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	var f ranking.Feed
	if err := json.Unmarshal([]byte(body), &f); err != nil {
		t.Fatal(err)
	}
	if f.UserID != 1 || !f.Personalized || len(f.Items) != 4 || f.NextCursor == "" {
		t.Fatalf("feed %+v", f)
	}
	code, body = get(t, base+"/v1/feed?user_id=1&limit=4&cursor="+f.NextCursor)
	var f2 ranking.Feed
	if code != 200 || json.Unmarshal([]byte(body), &f2) != nil || len(f2.Items) != 4 || f2.Items[0].ProductID == f.Items[0].ProductID {
		t.Errorf("second page %d %s", code, body)
	}
	// An unknown user gets a non-personal feed, not an error.
	code, body = get(t, base+"/v1/feed?user_id=424242")
	var f3 ranking.Feed
	if code != 200 || json.Unmarshal([]byte(body), &f3) != nil || f3.Personalized || len(f3.Items) == 0 {
		t.Errorf("unknown user: %d %s", code, body)
	}
	code, body = get(t, base+"/v1/products/100/similar?limit=3")
	var s ranking.Similar
	if code != 200 || json.Unmarshal([]byte(body), &s) != nil || len(s.Items) != 3 {
		t.Errorf("similar: %d %s", code, body)
	}
}

func TestFeed_UntrainedIsNonPersonal200(t *testing.T) {
	base := serveFeed(t, ranking.New(ranking.Config{}))
	code, body := get(t, base+"/v1/feed?user_id=1")
	if code != http.StatusOK || !strings.Contains(body, `"personalized":false`) {
		t.Errorf("untrained: %d %s", code, body)
	}
}
