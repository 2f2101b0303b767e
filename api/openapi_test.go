package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vetrina/vetrina/api"
	"github.com/vetrina/vetrina/matching"
	"github.com/vetrina/vetrina/ranking"
)

var update = flag.Bool("update", false, "rewrite api/openapi.json from the generator")

func generated(t *testing.T) []byte {
	t.Helper()
	b, err := json.MarshalIndent(api.OpenAPI(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestOpenAPI_FileMatchesRoutesAndTypes: api/openapi.json is what the
// generator makes of operations and the Go types, and operations are
// exactly the routes a fully configured server registers, with the scope
// each one enforces.
func TestOpenAPI_FileMatchesRoutesAndTypes(t *testing.T) {
	want := generated(t)
	if *update {
		if err := os.WriteFile("openapi.json", want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(api.OpenAPIDocument(), want) {
		t.Fatal("api/openapi.json is stale: run `go test ./api -run TestOpenAPI -update` and commit it")
	}
	srv, err := api.New(api.Config{Addr: "127.0.0.1:0", Feed: ranking.New(ranking.Config{}), Matching: readyService(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = srv.Run(ctx) // releases the listener
	var doc map[string]any
	if err := json.Unmarshal(api.OpenAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["openapi"] != "3.1.0" || doc["paths"] == nil {
		t.Fatalf("not an OpenAPI 3.1 document: %v", doc["openapi"])
	}
	var registered, documented []string
	for _, r := range srv.Routes() {
		registered = append(registered, r.Pattern+" "+r.Scope())
	}
	for path, item := range doc["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			documented = append(documented, strings.ToUpper(method)+" "+path+" "+op.(map[string]any)["x-access"].(string))
		}
	}
	sort.Strings(registered)
	sort.Strings(documented)
	if !slices.Equal(registered, documented) {
		t.Errorf("routes and the contract differ:\nregistered %q\ndocumented %q", registered, documented)
	}
}

// checkSchema validates v (decoded JSON) against the subset of JSON Schema
// the generator emits; it returns the first mismatch.
func checkSchema(doc map[string]any, sch map[string]any, v any, at string) error {
	if ref, ok := sch["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		def, _ := doc["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
		if def == nil {
			return fmt.Errorf("%s: no schema %s", at, name)
		}
		return checkSchema(doc, def, v, at)
	}
	if alts, ok := sch["anyOf"].([]any); ok {
		for _, s := range alts {
			if checkSchema(doc, s.(map[string]any), v, at) == nil {
				return nil
			}
		}
		return fmt.Errorf("%s: %v matches none of anyOf", at, v)
	}
	types := []string{}
	switch ty := sch["type"].(type) {
	case string:
		types = append(types, ty)
	case []any:
		for _, x := range ty {
			types = append(types, x.(string))
		}
	case nil:
		return nil // any value
	}
	kind := "object"
	switch x := v.(type) {
	case nil:
		kind = "null"
	case bool:
		kind = "boolean"
	case float64:
		kind = "number"
		if x == float64(int64(x)) && slices.Contains(types, "integer") {
			kind = "integer"
		}
	case string:
		kind = "string"
	case []any:
		kind = "array"
	}
	if !slices.Contains(types, kind) && !(kind == "integer" && slices.Contains(types, "number")) {
		return fmt.Errorf("%s: %s value %v, schema says %v", at, kind, v, types)
	}
	if c, ok := sch["const"]; ok && v != c {
		return fmt.Errorf("%s: %v, schema says const %v", at, v, c)
	}
	if enum, ok := sch["enum"].([]any); ok && !slices.Contains(enum, v) {
		return fmt.Errorf("%s: %v is not one of %v", at, v, enum)
	}
	if x, ok := v.(float64); ok {
		if lo, ok := sch["minimum"].(float64); ok && x < lo {
			return fmt.Errorf("%s: %v below the minimum %v", at, x, lo)
		}
		if hi, ok := sch["maximum"].(float64); ok && x > hi {
			return fmt.Errorf("%s: %v above the maximum %v", at, x, hi)
		}
	}
	switch x := v.(type) {
	case []any:
		items, _ := sch["items"].(map[string]any)
		for i, e := range x {
			if err := checkSchema(doc, items, e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case map[string]any:
		props, _ := sch["properties"].(map[string]any)
		for k, e := range x {
			p, ok := props[k].(map[string]any)
			if !ok {
				if ap, ok := sch["additionalProperties"].(map[string]any); ok {
					p = ap
				} else if props != nil || sch["additionalProperties"] == false {
					return fmt.Errorf("%s: field %q is not in the contract", at, k)
				} else {
					continue
				}
			}
			if err := checkSchema(doc, p, e, at+"."+k); err != nil {
				return err
			}
		}
		req, _ := sch["required"].([]any)
		for _, r := range req {
			if _, ok := x[r.(string)]; !ok {
				return fmt.Errorf("%s: required field %q missing", at, r)
			}
		}
	}
	return nil
}

// responseSchema returns the contract's schema of a route's answer.
func responseSchema(t *testing.T, doc map[string]any, method, path string, code int) map[string]any {
	t.Helper()
	op, _ := doc["paths"].(map[string]any)[path].(map[string]any)[strings.ToLower(method)].(map[string]any)
	if op == nil {
		t.Fatalf("no %s %s in the contract", method, path)
	}
	resp, _ := op["responses"].(map[string]any)[fmt.Sprint(code)].(map[string]any)
	if resp == nil {
		t.Fatalf("%s %s: status %d is not in the contract", method, path, code)
	}
	for _, c := range resp["content"].(map[string]any) {
		return c.(map[string]any)["schema"].(map[string]any)
	}
	t.Fatalf("%s %s %d: no content", method, path, code)
	return nil
}

// conforms checks a real answer against the contract: its status
// is documented and its body matches the schema. Tests of every route call
// it on what they receive.
func conforms(t *testing.T, method, path string, resp *http.Response, body []byte) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(api.OpenAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	sch := responseSchema(t, doc, method, path, resp.StatusCode)
	if resp.StatusCode == 200 && path == "/metrics" {
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v", method, path, err)
	}
	if err := checkSchema(doc, sch, v, "body"); err != nil {
		t.Errorf("%s %s → %d does not match the contract: %v\n%s", method, path, resp.StatusCode, err, body)
	}
}

// TestOpenAPI_RealAnswersConform drives a server with a trained model and
// real matching profiles through every route and checks each answer —
// success and problem — against the contract.
func TestOpenAPI_RealAnswersConform(t *testing.T) {
	base := runServer(t, api.Config{Addr: "127.0.0.1:0", Feed: trainedRanker(t), Matching: readyService(t)})
	for _, tc := range []struct {
		method, path, url, body string
		code                    int
	}{
		{"GET", "/healthz", "/healthz", "", 200},
		{"GET", "/readyz", "/readyz", "", 200},
		{"GET", "/openapi.json", "/openapi.json", "", 200},
		{"GET", "/v1/feed", "/v1/feed?user_id=1&limit=5", "", 200},
		{"GET", "/v1/feed", "/v1/feed?user_id=999999&limit=5", "", 200},
		{"GET", "/v1/feed", "/v1/feed?user_id=abc", "", 400},
		{"GET", "/v1/products/{id}/similar", "/v1/products/100/similar?limit=3", "", 200},
		{"GET", "/v1/products/{id}/similar", "/v1/products/424242/similar", "", 404},
		{"GET", "/v1/brands/{id}/influencers", "/v1/brands/1/influencers?limit=5", "", 200},
		{"GET", "/v1/brands/{id}/influencers", "/v1/brands/1/influencers?category=nothing", "", 200},
		{"GET", "/v1/brands/{id}/influencers", "/v1/brands/9999/influencers", "", 404},
		{"GET", "/v1/brands/{id}/influencers", "/v1/brands/1/influencers?sort=bogus", "", 400},
		{"GET", "/v1/influencers/{id}", "/v1/influencers/101", "", 200},
		{"GET", "/v1/influencers/{id}", "/v1/influencers/9999", "", 404},
		{"POST", "/v1/plans", "/v1/plans", `{"brands":[{"brand_id":1,"budget":5000,"lives":2}]}`, 200},
		{"POST", "/v1/plans", "/v1/plans", `{"brands":[{"brand_id":1,"budget":-1,"lives":2}]}`, 400},
		{"POST", "/v1/plans", "/v1/plans", `{"brands":`, 400},
		{"POST", "/v1/admin/profiles/refresh", "/v1/admin/profiles/refresh", "", 200},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.url, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s %s: %d, want %d: %s", tc.method, tc.url, resp.StatusCode, tc.code, body)
			continue
		}
		conforms(t, tc.method, tc.path, resp, body)
	}
}

type staticModel struct{ m *matching.Model }

func (s staticModel) Model() *matching.Model { return s.m }
