package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/vetrina/vetrina/api"
	"github.com/vetrina/vetrina/api/token"
)

// tokenDoc builds a token file with one entry per name: scopes and rate.
func tokenDoc(t *testing.T, entries map[string]token.Entry) (*token.Set, map[string]string) {
	t.Helper()
	var f token.File
	plain := map[string]string{}
	for name, e := range entries {
		tok := token.New()
		plain[name] = tok
		e.Name, e.SHA256 = name, token.HashHex(tok)
		f.Tokens = append(f.Tokens, e)
	}
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	toks, err := token.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return toks, plain
}

func authDo(t *testing.T, method, url, token, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&doc)
	return resp, doc
}

func serveAuthFeed(t *testing.T, auth *api.Auth) string {
	t.Helper()
	return runServer(t, api.Config{Addr: "127.0.0.1:0", Feed: trainedRanker(t), Auth: auth})
}

func TestAuth_401_403_429AsProblems(t *testing.T) {
	toks, plain := tokenDoc(t, map[string]token.Entry{
		"feed-service": {Scopes: []string{"feed"}, Rate: 1000},
		"acme":         {Scopes: []string{"brand:7"}},
		"ops":          {Scopes: []string{"admin"}},
		"slow":         {Scopes: []string{"feed"}, Rate: 1}, // burst 2
	})
	base := serveAuthFeed(t, api.NewAuth(toks))
	feed := base + "/v1/feed?user_id=1&limit=3"
	for name, tc := range map[string]struct {
		token string
		code  int
		title string
	}{
		"no token":      {"", 401, "missing token"},
		"unknown token": {"vt_not-a-token", 401, "invalid token"},
		"brand token":   {plain["acme"], 403, "outside the token's scope"},
		"feed token":    {plain["feed-service"], 200, ""},
		"admin token":   {plain["ops"], 200, ""},
	} {
		t.Run(name, func(t *testing.T) {
			resp, doc := authDo(t, "GET", feed, tc.token, "")
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d (%v)", resp.StatusCode, tc.code, doc)
			}
			if tc.code == 200 {
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" || doc["title"] != tc.title || doc["status"] != float64(tc.code) {
				t.Errorf("problem %v (%s), want title %q", doc, ct, tc.title)
			}
			if tc.code == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge")
			}
			if tc.code == 403 && !strings.Contains(doc["detail"].(string), "brand:7") {
				t.Errorf("403 detail does not say what the token holds: %v", doc["detail"])
			}
		})
	}
	// Public routes need no token.
	if resp, _ := authDo(t, "GET", base+"/healthz", "", ""); resp.StatusCode != 200 {
		t.Errorf("/healthz without a token: %d", resp.StatusCode)
	}
	// Rate 1/s, burst 2: the third request at once is refused.
	codes := []int{}
	var last *http.Response
	for range 3 {
		last, _ = authDo(t, "GET", feed, plain["slow"], "")
		codes = append(codes, last.StatusCode)
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 || last.Header.Get("Retry-After") != "1" {
		t.Errorf("slow token: codes %v, Retry-After %q; want 200 200 429 and 1", codes, last.Header.Get("Retry-After"))
	}
	// Another token is not slowed by it.
	if resp, _ := authDo(t, "GET", feed, plain["feed-service"], ""); resp.StatusCode != 200 {
		t.Errorf("feed-service after slow's 429: %d", resp.StatusCode)
	}
}

func TestAuth_RotationWithoutRestart(t *testing.T) {
	old, oldPlain := tokenDoc(t, map[string]token.Entry{"feed-2025": {Scopes: []string{"feed"}}})
	auth := api.NewAuth(old)
	base := serveAuthFeed(t, auth)
	feed := base + "/v1/feed?user_id=1"
	if resp, _ := authDo(t, "GET", feed, oldPlain["feed-2025"], ""); resp.StatusCode != 200 {
		t.Fatalf("old token before rotation: %d", resp.StatusCode)
	}
	rotated, newPlain := tokenDoc(t, map[string]token.Entry{"feed-2026": {Scopes: []string{"feed"}}})
	auth.Set(rotated)
	if resp, _ := authDo(t, "GET", feed, oldPlain["feed-2025"], ""); resp.StatusCode != 401 {
		t.Errorf("revoked token after rotation: %d, want 401", resp.StatusCode)
	}
	if resp, _ := authDo(t, "GET", feed, newPlain["feed-2026"], ""); resp.StatusCode != 200 {
		t.Errorf("new token after rotation: %d, want 200", resp.StatusCode)
	}
}
