package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vetrina/vetrina/api"
	"github.com/vetrina/vetrina/api/token"
	"github.com/vetrina/vetrina/matching"
	"github.com/vetrina/vetrina/ranking"
)

// nanFeeder answers similar products with a score no JSON can hold.
type nanFeeder struct{}

func (nanFeeder) Feed(context.Context, ranking.FeedRequest) (*ranking.Feed, error) {
	return &ranking.Feed{Items: []ranking.FeedItem{}}, nil
}
func (nanFeeder) Similar(_ context.Context, id uint64, _ int) (*ranking.Similar, error) {
	return &ranking.Similar{ProductID: id, Items: []ranking.FeedItem{{ProductID: 2, Score: math.Inf(1), Reason: "x"}}}, nil
}

// TestWriteJSON_UnencodableAnswerIs500Problem: an answer that does not
// encode is a complete 500 problem document, counted as a 500, never a
// 200 with an empty body.
func TestWriteJSON_UnencodableAnswerIs500Problem(t *testing.T) {
	reg := prometheus.NewRegistry()
	base := runServer(t, api.Config{Addr: "127.0.0.1:0", Feed: nanFeeder{}, Registerer: reg, Gatherer: reg})
	resp, b := authGet(t, base+"/v1/products/1/similar", "")
	if resp.StatusCode != 500 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status %d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	conforms(t, "GET", "/v1/products/{id}/similar", resp, b)
	_, metrics := get(t, base+"/metrics")
	if !strings.Contains(metrics, `vetrina_http_requests_total{code="500",route="GET /v1/products/{id}/similar"} 1`) ||
		regexp.MustCompile(`code="200",route="GET /v1/products/\{id\}/similar"\} [1-9]`).MatchString(metrics) {
		t.Errorf("the failed answer is not counted as a 500:\n%s", metrics)
	}
}

// complete checks that an answer is whole: its Content-Length is its body's
// length, and the body is JSON.
func complete(t *testing.T, resp *http.Response, b []byte) {
	t.Helper()
	if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(b)) || !json.Valid(b) {
		t.Errorf("answer %d with Content-Length %q and %d bytes: %q", resp.StatusCode, cl, len(b), b)
	}
}

// TestPlan_ExtremeNumbers: fees of 1e308 and 5e-324, budgets and lives
// beyond the maxima are 400s naming the field; a fee of a cent still plans,
// with finite numbers.
func TestPlan_ExtremeNumbers(t *testing.T) {
	base, _ := matchingServer(t, true)
	for _, tc := range []struct {
		body string
		code int
		word string
	}{
		{`{"brands":[{"brand_id":1,"lives":1}],"influencers":[{"influencer_id":112,"capacity":1,"fee":1e308}]}`, 400, "influencers[0].fee"},
		{`{"objective":"profit","brands":[{"brand_id":1,"lives":1}],"influencers":[{"influencer_id":112,"capacity":1,"fee":5e-324}]}`, 400, "influencers[0].fee"},
		{`{"brands":[{"brand_id":1,"lives":1}],"influencers":[{"influencer_id":112,"capacity":1,"fee":0.001}]}`, 400, "influencers[0].fee"},
		{`{"brands":[{"brand_id":1,"budget":1e308,"lives":2}]}`, 400, "brands[0].budget"},
		{`{"brands":[{"brand_id":1,"lives":2147483647}]}`, 400, "brands[0].lives"},
		{`{"brands":[{"brand_id":1,"lives":1}],"influencers":[{"influencer_id":112,"capacity":1000000}]}`, 400, "influencers[0].capacity"},
		{`{"objective":"profit","brands":[{"brand_id":1,"lives":1}],"influencers":[{"influencer_id":112,"capacity":1,"fee":0.01}]}`, 200, ""},
		{`{"objective":"profit","brands":[{"brand_id":1,"budget":1e12,"lives":10000}],"influencers":[{"influencer_id":112,"capacity":10000,"fee":10000000}]}`, 200, ""},
	} {
		resp, b := mtDo(t, "POST", base+"/v1/plans", strings.NewReader(tc.body))
		complete(t, resp, b)
		if tc.code != 200 {
			mtWantProblem(t, resp, b, tc.code, tc.word)
			continue
		}
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", tc.body, resp.StatusCode, b)
			continue
		}
		conforms(t, "POST", "/v1/plans", resp, b)
	}
}

// TestCatalog_OutOfBoundsFeesBreakNoRanking: fees stored before ingest
// checked them (1e308, 5e-324) count as unknown: rankings by ROI and plans
// of every brand stay complete documents.
func TestCatalog_OutOfBoundsFeesBreakNoRanking(t *testing.T) {
	in := matchingInputs()
	in.Influencers[12].Fee = 1e308
	in.Influencers[13].Fee = 5e-324
	for k := range in.Lives {
		if in.Lives[k].InfluencerID == in.Influencers[14].InfluencerID {
			in.Lives[k].Fee = 5e-324
		}
	}
	m, err := matching.Build(in)
	if err != nil {
		t.Fatal(err)
	}
	base := runServer(t, api.Config{Addr: "127.0.0.1:0", Matching: staticModel{m}})
	for _, url := range []string{"/v1/brands/1/influencers?sort=roi&limit=200", "/v1/brands/2/influencers?sort=p10&limit=200", "/v1/influencers/112", "/v1/influencers/113"} {
		resp, b := authGet(t, base+url, "")
		complete(t, resp, b)
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", url, resp.StatusCode, b)
			continue
		}
		path := "/v1/influencers/{id}"
		if strings.HasPrefix(url, "/v1/brands/") {
			path = "/v1/brands/{id}/influencers"
		}
		conforms(t, "GET", path, resp, b)
	}
	for _, body := range []string{`{"objective":"profit","brands":[{"brand_id":1,"lives":3},{"brand_id":2,"lives":3}]}`,
		`{"brands":[{"brand_id":3,"budget":500,"lives":3}]}`} {
		resp, b := mtDo(t, "POST", base+"/v1/plans", strings.NewReader(body))
		complete(t, resp, b)
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", body, resp.StatusCode, b)
			continue
		}
		conforms(t, "POST", "/v1/plans", resp, b)
	}
}

// goNames are words of Go, not of the contract, that no problem may show.
var goNames = []string{"Go struct", "Go value", "matching.", "PlanBrand", "PlanRequest", "PlanInfluencer", "uint64", "float64", "json:", "127.0.0.1", "tcp"}

// TestPlan_ErrorsSpeakTheContract: malformed plan requests are 400s that
// name the field by its path in the request and the JSON type wanted.
func TestPlan_ErrorsSpeakTheContract(t *testing.T) {
	base, _ := matchingServer(t, true)
	for _, tc := range []struct{ body, want string }{
		{`{"brands":[{"brand_id":"x","lives":1}]}`, "brands[0].brand_id: want an unsigned integer, got string"},
		{`{"brands":[{"brand_id":1,"lives":1},{"brand_id":2,"lives":"3"}]}`, "brands[1].lives: want an integer, got string"},
		{`{"brands":[{"brand_id":-1,"lives":1}]}`, "brands[0].brand_id: want an unsigned integer, got number -1"},
		{`{"brands":[{"brand_id":1,"lives":1}],"influencers":[{"influencer_id":101,"capacity":1},{"influencer_id":102,"capacity":1,"fee":"a"}]}`, "influencers[1].fee: want a number, got string"},
		{`{"brands":{}}`, "brands: want an array, got object"},
		{`{"commission":"a","brands":[{"brand_id":1,"lives":1}]}`, "commission: want a number, got string"},
		{`[]`, "the request: want a JSON object, got array"},
		{`{"brands":[{"brand_id":1,"lives":1,"x":1}]}`, `brands[0]: unknown field "x"`},
		{`{"x":1,"brands":[]}`, `unknown field "x"`},
		{`{"brands":[{"brand_id":1,"lives":1},{"brand_id":1,"lives":1}]}`, "brands[1].brand_id: brand 1 is a duplicate of brands[0]"},
		{`{"brands":[{"brand_id":1,"lives":1}],"influencers":[{"influencer_id":101,"capacity":0}]}`, "influencers[0].capacity"},
		{`{"brands":[{"brand_id":1,"lives":1}] x`, "malformed JSON at byte"},
		{`{"brands":[{"brand_id":424242,"lives":1}]}`, "brands[0].brand_id: unknown brand 424242"},
	} {
		resp, b := mtDo(t, "POST", base+"/v1/plans", strings.NewReader(tc.body))
		var p mtProblem
		_ = json.Unmarshal(b, &p)
		if resp.StatusCode/100 != 4 || !strings.Contains(p.Detail, tc.want) {
			t.Errorf("%s: %d %q, want it to say %q", tc.body, resp.StatusCode, p.Detail, tc.want)
		}
		for _, g := range goNames {
			if strings.Contains(p.Detail, g) {
				t.Errorf("%s: detail %q shows %q", tc.body, p.Detail, g)
			}
		}
	}
}

// TestPlan_SlowBodyIs408: a body that does not arrive within the read
// timeout is a 408 problem that shows no address.
func TestPlan_SlowBodyIs408(t *testing.T) {
	srvBase := runServer(t, api.Config{Addr: "127.0.0.1:0", Matching: readyService(t), ReadTimeout: 300 * time.Millisecond})
	c, err := net.Dial("tcp", strings.TrimPrefix(srvBase, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "POST /v1/plans HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"brands\":")
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	raw, _ := io.ReadAll(c)
	head, body, _ := strings.Cut(string(raw), "\r\n\r\n")
	if !strings.HasPrefix(head, "HTTP/1.1 408 ") || !strings.Contains(head, "application/problem+json") {
		t.Fatalf("a slow body: %s", raw)
	}
	var p mtProblem
	if err := json.Unmarshal([]byte(body), &p); err != nil || p.Status != 408 || !strings.Contains(p.Detail, "did not arrive within 300ms") {
		t.Errorf("problem %s (%v)", body, err)
	}
	for _, g := range goNames {
		if strings.Contains(body, g) {
			t.Errorf("408 detail shows %q: %s", g, body)
		}
	}
}

// TestRouting_UnroutedAreProblems: the router's 404 and 405 are problem
// documents, with Allow on a 405.
func TestRouting_UnroutedAreProblems(t *testing.T) {
	toks, plain := tokenDoc(t, map[string]token.Entry{"admin": {Scopes: []string{"admin"}}})
	reg := prometheus.NewRegistry()
	base := runServer(t, api.Config{Addr: "127.0.0.1:0", Feed: trainedRanker(t), Matching: readyService(t), Auth: api.NewAuth(toks), Registerer: reg, Gatherer: reg})
	for _, tc := range []struct {
		method, path string
		code         int
		allow        string
	}{
		{"GET", "/v1/nope", 404, ""},
		{"GET", "/", 404, ""},
		{"GET", "/v1/influencers/1/x", 404, ""},
		{"DELETE", "/v1/plans", 405, "POST"},
		{"GET", "/v1/plans", 405, "POST"},
		{"PUT", "/v1/feed", 405, "GET, HEAD"},
		{"POST", "/v1/influencers/7", 405, "GET, HEAD"},
		{"POST", "/healthz", 405, "GET, HEAD"},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, nil)
		req.Header.Set("Authorization", "Bearer "+plain["admin"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		mtWantProblem(t, resp, b, tc.code, tc.path)
		if got := resp.Header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}
	_, metrics := get(t, base+"/metrics")
	if !strings.Contains(metrics, `vetrina_http_requests_total{code="404",route="unrouted"} 3`) {
		t.Errorf("unrouted requests are not counted:\n%s", metrics)
	}
}

// TestQueryLimit_EveryRoute: a 30 KB query string is a 400 problem on
// every route, before the token is looked at.
func TestQueryLimit_EveryRoute(t *testing.T) {
	toks, _ := tokenDoc(t, map[string]token.Entry{"admin": {Scopes: []string{"admin"}}})
	srv, err := api.New(api.Config{Addr: "127.0.0.1:0", Feed: trainedRanker(t), Matching: readyService(t), Auth: api.NewAuth(toks)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = srv.Run(ctx)
	long := strings.Repeat("a", 30<<10)
	for _, r := range append(srv.Routes(), api.Route{Pattern: "GET /v1/nope"}) {
		method, path, _ := strings.Cut(r.Pattern, " ")
		path = strings.ReplaceAll(path, "{id}", "1")
		resp, b := consoleGet(srv.Handler(), method, path+"?x="+long, "", nil)
		var p mtProblem
		if err := json.Unmarshal(b, &p); err != nil || resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/problem+json" ||
			p.Status != 400 || !strings.Contains(p.Detail, "longer than 1024") {
			t.Errorf("%s with a 30 KB query: %d %s", r.Pattern, resp.StatusCode, b)
		}
		// Just under the limit passes this check.
		if resp, _ := consoleGet(srv.Handler(), method, path+"?x="+long[:1000], "", nil); resp.StatusCode == 400 && method == "GET" && r.Scope() == "public" {
			t.Errorf("%s with a 1002-byte query: 400", r.Pattern)
		}
	}
}

// TestRateLimit_SlowAndTinyRates: a token under 0.5 requests per second
// gets a request through (burst 1), and one of 1e-12 per second is limited
// (not unlimited), with a Retry-After of at most a day.
func TestRateLimit_SlowAndTinyRates(t *testing.T) {
	toks, plain := tokenDoc(t, map[string]token.Entry{"slow": {Scopes: []string{"feed"}, Rate: 0.4}, "tiny": {Scopes: []string{"feed"}, Rate: 1e-12}})
	base := serveAuthFeed(t, api.NewAuth(toks))
	for name, wantRetry := range map[string]string{"slow": "3", "tiny": "86400"} {
		var codes []int
		var last *http.Response
		for range 3 {
			last, _ = authDo(t, "GET", base+"/v1/feed?user_id=1", plain[name], "")
			codes = append(codes, last.StatusCode)
		}
		if codes[0] != 200 || codes[1] != 429 || codes[2] != 429 || last.Header.Get("Retry-After") != wantRetry {
			t.Errorf("%s: codes %v, Retry-After %q; want 200 429 429 and %s", name, codes, last.Header.Get("Retry-After"), wantRetry)
		}
	}
}

// TestQuery_RepeatedParameterIs400 (found by schemathesis): a parameter
// given twice is a 400, not the first value silently.
func TestQuery_RepeatedParameterIs400(t *testing.T) {
	base := runServer(t, api.Config{Addr: "127.0.0.1:0", Feed: trainedRanker(t), Matching: readyService(t)})
	for _, url := range []string{"/v1/feed?user_id=1&limit=3&limit=4", "/v1/feed?user_id=1&user_id=2", "/v1/products/100/similar?limit=&limit=%5B%5D",
		"/v1/brands/1/influencers?sort=p10&sort=p50", "/v1/brands/1/influencers?cursor=bzI&limit=2&cursor=bzM"} {
		resp, b := mtDo(t, "GET", base+url, nil)
		mtWantProblem(t, resp, b, 400, "more than once")
	}
	if resp, b := mtDo(t, "GET", base+"/v1/feed?user_id=1&limit=3&other=1&other=2", nil); resp.StatusCode != 200 {
		t.Errorf("a parameter the route does not read, twice: %d %s", resp.StatusCode, b)
	}
}
