package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vetrina/vetrina/api"
	"github.com/vetrina/vetrina/api/token"
)

func consoleServer(t *testing.T, auth *api.Auth) http.Handler {
	t.Helper()
	srv, err := api.New(api.Config{Addr: "127.0.0.1:0", Matching: readyService(t), Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Run(canceled()) })
	return srv.Handler()
}

// canceled is a done context: Run returns at once and releases the
// listener.
func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func consoleGet(h http.Handler, method, url, token string, hdr map[string]string) (*http.Response, []byte) {
	req := httptest.NewRequest(method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestConsole_ServesItsAssets: /console/ is the page with a strict CSP,
// its assets are served with their types and revalidate by ETag, nothing
// points outside the server, and an unknown file is a 404 problem.
func TestConsole_ServesItsAssets(t *testing.T) {
	h := consoleServer(t, nil)
	resp, page := consoleGet(h, "GET", "/console/", "", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/console/: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	// Every src and href of the page is the server's own.
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(string(page), -1) {
		if strings.Contains(m[1], "//") {
			t.Errorf("the page links outside the server: %s", m[0])
		}
	}
	assets := map[string]string{"console.js": "text/javascript", "console.css": "text/css", "favicon.svg": "image/svg+xml"}
	for name, ctype := range assets {
		resp, body := consoleGet(h, "GET", "/console/"+name, "", nil)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), ctype) || len(body) == 0 {
			t.Errorf("/console/%s: %d %q (%d bytes)", name, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
			continue
		}
		if !strings.Contains(string(page), `"`+name+`"`) {
			t.Errorf("the page does not load %s", name)
		}
		// No URL to elsewhere (the SVG namespace is a name, not a request).
		rest := strings.ReplaceAll(string(body), "http://www.w3.org/2000/svg", "")
		if m := regexp.MustCompile(`https?://|url\(\s*['"]?//`).FindString(rest); m != "" {
			t.Errorf("/console/%s refers to another server (%q)", name, m)
		}
		etag := resp.Header.Get("ETag")
		again, _ := consoleGet(h, "GET", "/console/"+name, "", map[string]string{"If-None-Match": etag})
		if etag == "" || again.StatusCode != http.StatusNotModified {
			t.Errorf("/console/%s with If-None-Match %s: %d, want 304", name, etag, again.StatusCode)
		}
	}
	resp, body := consoleGet(h, "GET", "/console/nope.js", "", nil)
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("/console/nope.js: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	resp, _ = consoleGet(h, "GET", "/console", "", nil)
	if (resp.StatusCode != http.StatusMovedPermanently && resp.StatusCode != http.StatusTemporaryRedirect) || resp.Header.Get("Location") != "/console/" {
		t.Errorf("/console: %d → %q, want a redirect to /console/", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestConsole_ScriptUsesOnlyElementsOfThePage: every element id the script
// looks up is in the page (a renamed id fails here, not in a browser).
func TestConsole_ScriptUsesOnlyElementsOfThePage(t *testing.T) {
	h := consoleServer(t, nil)
	_, page := consoleGet(h, "GET", "/console/", "", nil)
	_, js := consoleGet(h, "GET", "/console/console.js", "", nil)
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(`\bid="([^"]+)"`).FindAllStringSubmatch(string(page), -1) {
		ids[m[1]] = true
	}
	used := regexp.MustCompile(`\$\('([^']+)'\)`).FindAllStringSubmatch(string(js), -1)
	if len(used) < 20 {
		t.Fatalf("only %d element lookups found in console.js", len(used))
	}
	for _, m := range used {
		if !ids[m[1]] {
			t.Errorf("console.js uses #%s, which index.html lacks", m[1])
		}
	}
}

// TestMe_TellsTheTokenItsScopes: GET /v1/me answers every valid token with
// its name, scopes and brands (the console learns its brand from it), and
// conforms to the contract.
func TestMe_TellsTheTokenItsScopes(t *testing.T) {
	toks, plain := tokenDoc(t, map[string]token.Entry{
		"feed":    {Scopes: []string{"feed"}},
		"brand13": {Scopes: []string{"brand:3", "brand:1"}},
		"admin":   {Scopes: []string{"admin"}},
	})
	h := consoleServer(t, api.NewAuth(toks))
	for name, want := range map[string]api.Me{
		"feed":    {Name: "feed", Scopes: []string{"feed"}, Brands: []uint64{}},
		"brand13": {Name: "brand13", Scopes: []string{"brand:1", "brand:3"}, Brands: []uint64{1, 3}},
		"admin":   {Name: "admin", Scopes: []string{"admin"}, Admin: true, Brands: []uint64{}},
	} {
		resp, body := consoleGet(h, "GET", "/v1/me", plain[name], nil)
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", name, resp.StatusCode, body)
			continue
		}
		conforms(t, "GET", "/v1/me", resp, body)
		var got api.Me
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if got.Name != want.Name || got.Admin != want.Admin || !slices.Equal(got.Scopes, want.Scopes) || !slices.Equal(got.Brands, want.Brands) {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	for _, tok := range []string{"", "vt_nope"} {
		resp, body := consoleGet(h, "GET", "/v1/me", tok, nil)
		if resp.StatusCode != 401 {
			t.Errorf("token %q: %d, want 401", tok, resp.StatusCode)
		}
		conforms(t, "GET", "/v1/me", resp, body)
	}
	// The console's 404 is in the contract too.
	resp, body := consoleGet(h, "GET", "/console/nope", "", nil)
	conforms(t, "GET", "/console/", resp, body)

	// Without authentication (tests, local experiments) the caller sees
	// everything, as an admin would.
	resp, body = consoleGet(consoleServer(t, nil), "GET", "/v1/me", "", nil)
	var anon api.Me
	if err := json.Unmarshal(body, &anon); err != nil || resp.StatusCode != 200 || !anon.Admin {
		t.Errorf("/v1/me without auth: %d %s", resp.StatusCode, body)
	}
}
