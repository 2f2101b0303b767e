package api

import (
	_ "embed"
	"maps"
	"math"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vetrina/vetrina/event"
	"github.com/vetrina/vetrina/matching"
	"github.com/vetrina/vetrina/ranking"
)

// openAPIDoc is the published contract, api/openapi.json. It is generated
// by OpenAPI (`go test ./api -run TestOpenAPI -update` rewrites it) and a
// test fails when the file, the generator and the registered routes
// disagree.
//
//go:embed openapi.json
var openAPIDoc []byte

// OpenAPIDocument returns the published contract, as /openapi.json serves it.
func OpenAPIDocument() []byte { return openAPIDoc }

func (s *Server) openapi(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDoc)
}

// param is one query or path parameter of an operation.
type param struct {
	name, in, typ, desc string
	required            bool
	enum                []string
	// bounds are schema keywords (minimum, maximum, …) besides the type's.
	bounds map[string]any
}

// Bounds of parameters and bodies, as the handlers check them.
var (
	idBounds       = map[string]any{"minimum": 0, "maximum": uint64(math.MaxUint64)}
	feedLimit      = map[string]any{"minimum": 1, "maximum": 100}
	rankLimit      = map[string]any{"minimum": 1, "maximum": matching.MaxLimit}
	nonNegative    = map[string]any{"minimum": 0}
	commissionSpan = map[string]any{"minimum": 0, "exclusiveMaximum": 1}
	// feeBounds: a fee is 0 (none or unknown) or a cent to event.MaxFee.
	feeBounds = map[string]any{"anyOf": []any{map[string]any{"const": 0}, map[string]any{"minimum": event.MinFee, "maximum": event.MaxFee}}}
)

// bodyBounds are schema keywords added to properties of the named
// components: the request's bounds that Go types do not say.
var bodyBounds = map[string]map[string]map[string]any{
	"PlanRequest": {
		"objective":   {"enum": []string{matching.ObjectiveGMV, matching.ObjectiveProfit}},
		"commission":  commissionSpan,
		"brands":      {"minItems": 1, "maxItems": matching.DefaultMaxBrands},
		"influencers": {"maxItems": matching.DefaultMaxInfluencers},
	},
	"PlanBrand": {
		"budget": {"minimum": 0, "maximum": matching.MaxBudget},
		"lives":  {"minimum": 1, "maximum": matching.MaxPlanLives},
	},
	"PlanInfluencer": {
		"capacity": {"minimum": 1, "maximum": matching.MaxPlanLives},
		"fee":      feeBounds,
	},
}

// operation describes one route for the contract.
type operation struct {
	pattern  string // as registered: "GET /v1/feed"
	summary  string
	scope    access
	params   []param
	body     any // request body type (nil: none)
	response any // 200 body type (nil: see raw)
	raw      map[string]any
	html     bool  // the 200 body is an HTML page
	errors   []int // problem statuses besides 401/403/429 (added for guarded routes)
}

// operations is the contract's list of routes; TestOpenAPI checks it is
// exactly the set the server registers.
var operations = []operation{
	{pattern: "GET /healthz", summary: "Liveness: the process answers.", scope: public,
		raw: obj(map[string]any{"status": map[string]any{"type": "string", "const": "ok"}}, "status")},
	{pattern: "GET /readyz", summary: "Readiness: ClickHouse reachable, consumers assigned, models loaded; details per check (a degraded check does not make the server unready).", scope: public,
		response: readiness{}, errors: []int{503}},
	{pattern: "GET /metrics", summary: "Prometheus metrics (text exposition format).", scope: public},
	{pattern: "GET /openapi.json", summary: "This document.", scope: public, raw: map[string]any{"type": "object"}},
	{pattern: "GET /console/", summary: "The brand console: a web page (and its script, style sheet and icon under /console/) where a brand manager finds influencers and builds plans; it holds no data and calls this API with the token it is given.", scope: public,
		html: true, errors: []int{404}},
	{pattern: "GET /v1/me", summary: "The caller's token: its name, its scopes and the brands it may see (any valid token).", scope: tokenAccess,
		response: Me{}},
	{pattern: "GET /v1/feed", summary: "A page of the user's feed: products with a score and a reason each. Unknown users get a non-personal feed.", scope: feedAccess,
		params: []param{
			{name: "user_id", in: "query", typ: "integer", required: true, desc: "the user (unsigned 64-bit)", bounds: idBounds},
			{name: "limit", in: "query", typ: "integer", desc: "products per page (default 20, at most 100)", bounds: feedLimit},
			{name: "cursor", in: "query", typ: "string", desc: "next_cursor of the previous page"},
		}, response: ranking.Feed{}, errors: []int{400, 503}},
	{pattern: "GET /v1/products/{id}/similar", summary: "Products similar to a product: its item neighbours, then trending in its category.", scope: feedAccess,
		params: []param{
			{name: "id", in: "path", typ: "integer", required: true, desc: "the product", bounds: idBounds},
			{name: "limit", in: "query", typ: "integer", desc: "products (default 20, at most 100)", bounds: feedLimit},
		}, response: ranking.Similar{}, errors: []int{400, 404, 503}},
	{pattern: "GET /v1/brands/{id}/influencers", summary: "Influencers ranked for a sponsored live of the brand, with predicted GMV (P10/P50/P90), its factors and reasons.", scope: brandAccess,
		params: []param{
			{name: "id", in: "path", typ: "integer", required: true, desc: "the brand (a brand token sees only its own)", bounds: idBounds},
			{name: "limit", in: "query", typ: "integer", desc: "influencers (default 20, at most 200)", bounds: rankLimit},
			{name: "sort", in: "query", typ: "string", enum: []string{"p50", "p10", "gmv", "roi"}, desc: "ranking criterion (default p50; p10 for the cautious)"},
			{name: "category", in: "query", typ: "string", desc: "only influencers in this category"},
			{name: "country", in: "query", typ: "string", desc: "only influencers of this country (ISO 3166 alpha-2)"},
			{name: "min_followers", in: "query", typ: "integer", desc: "at least this many followers", bounds: idBounds},
			{name: "max_fee", in: "query", typ: "number", desc: "a fee of at most this much (EUR)", bounds: nonNegative},
			{name: "commission", in: "query", typ: "number", desc: "the app's commission on GMV used for ROI (default 0.25)", bounds: commissionSpan},
			{name: "cursor", in: "query", typ: "string", desc: "next_cursor of the previous page (pages end at the 200 best)"},
		}, response: matching.Ranking{}, errors: []int{400, 404, 503}},
	{pattern: "GET /v1/influencers/{id}", summary: "An influencer's profile: reach, engagement, conversion, audience, authenticity and past lives (a brand token sees no other brand's sponsorships).", scope: brandAccess,
		params:   []param{{name: "id", in: "path", typ: "integer", required: true, desc: "the influencer", bounds: idBounds}},
		response: InfluencerProfile{}, errors: []int{400, 404, 503}},
	{pattern: "POST /v1/plans", summary: "The assignment of influencers to brands that maximises expected GMV (or profit) within budgets and capacities, with its gap to the LP bound.", scope: brandAccess,
		body: matching.PlanRequest{}, response: matching.PlanResult{}, errors: []int{400, 404, 408, 413, 503}},
	{pattern: "POST /v1/admin/profiles/refresh", summary: "Recomputes the influencer and brand profiles now (they are also recomputed every --profiles-every); answers once the new ones are in use.", scope: adminAccess,
		response: ProfilesRefreshed{}, errors: []int{503}},
}

// OpenAPI returns the contract as generated from operations and the Go
// types of the bodies.
func OpenAPI() map[string]any {
	g := &schemaGen{defs: map[string]any{}}
	paths := map[string]any{}
	for _, op := range operations {
		method, path, _ := strings.Cut(op.pattern, " ")
		o := map[string]any{"summary": op.summary, "operationId": operationID(op.pattern), "x-access": Route{access: op.scope}.Scope()}
		var params []any
		for _, p := range op.params {
			sch := map[string]any{"type": p.typ}
			if p.typ == "integer" {
				sch["minimum"] = 0
			}
			maps.Copy(sch, p.bounds)
			if len(p.enum) > 0 {
				sch["enum"] = p.enum
			}
			params = append(params, map[string]any{"name": p.name, "in": p.in, "required": p.required, "description": p.desc, "schema": sch})
		}
		if len(params) > 0 {
			o["parameters"] = params
		}
		if op.body != nil {
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(op.body))}}}
		}
		responses := map[string]any{}
		switch {
		case op.response != nil:
			responses["200"] = jsonResponse("OK", g.schema(reflect.TypeOf(op.response)))
		case op.raw != nil:
			responses["200"] = jsonResponse("OK", op.raw)
		case op.html:
			responses["200"] = map[string]any{"description": "OK", "content": map[string]any{"text/html": map[string]any{"schema": map[string]any{"type": "string"}}}}
		default:
			responses["200"] = map[string]any{"description": "OK", "content": map[string]any{"text/plain": map[string]any{"schema": map[string]any{"type": "string"}}}}
		}
		// Every route answers 400 to a query string over 1 KiB and 500
		// when it fails.
		codes := append([]int{400, 500}, op.errors...)
		switch op.scope {
		case public:
		default:
			o["security"] = []any{map[string]any{"bearer": []any{}}}
			o["x-scopes"] = map[access][]string{feedAccess: {"feed", "admin"}, brandAccess: {"brand:<id>", "admin"}, adminAccess: {"admin"}, tokenAccess: {"feed", "brand:<id>", "admin"}}[op.scope]
			codes = append(codes, 401, 429)
			if op.scope != tokenAccess { // every valid token may call a tokenAccess route
				codes = append(codes, 403)
			}
		}
		sort.Ints(codes)
		codes = slices.Compact(codes)
		problemRef := map[string]any{"$ref": "#/components/schemas/Problem"}
		for _, c := range codes {
			if c == 503 && op.pattern == "GET /readyz" {
				responses["503"] = jsonResponse("not ready", g.schema(reflect.TypeOf(readiness{})))
				continue
			}
			responses[strconv.Itoa(c)] = map[string]any{"description": http.StatusText(c), "content": map[string]any{"application/problem+json": map[string]any{"schema": problemRef}}}
		}
		o["responses"] = responses
		item, _ := paths[path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[path] = item
		}
		item[strings.ToLower(method)] = o
	}
	g.defs["Problem"] = g.schema(reflect.TypeOf(problemDoc{}))
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "Vetrina API",
			"version": "1",
			"description": "The feed service's and brand managers' API of Vetrina. Errors are RFC 9457 problem documents " +
				"(application/problem+json) with the request's id. Feed and brand routes need an API token " +
				"(Authorization: Bearer <token>) with a scope: feed, brand:<id> (that brand only) or admin.",
		},
		"paths": paths,
		"components": map[string]any{
			"schemas":         g.defs,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer", "description": "an API token from `vetrina token`"}},
		},
	}
}

func jsonResponse(desc string, schema any) map[string]any {
	return map[string]any{"description": desc, "content": map[string]any{"application/json": map[string]any{"schema": schema}}}
}

func obj(props map[string]any, required ...string) map[string]any {
	return map[string]any{"type": "object", "properties": props, "required": required}
}

func operationID(pattern string) string {
	var b strings.Builder
	up := false
	for _, r := range pattern {
		switch {
		case r == ' ' || r == '/' || r == '{' || r == '}' || r == '.' || r == '_':
			up = b.Len() > 0
		case up:
			b.WriteString(strings.ToUpper(string(r)))
			up = false
		default:
			b.WriteString(strings.ToLower(string(r)))
		}
	}
	return b.String()
}

// InfluencerProfile is the body of GET /v1/influencers/{id}.
type InfluencerProfile struct {
	*matching.Influencer
	// AsOf is when the profiles were computed.
	AsOf time.Time `json:"as_of"`
}

// schemaGen turns Go types into JSON Schemas (2020-12, as OpenAPI 3.1
// takes them), named struct types into components.
type schemaGen struct {
	defs map[string]any
}

var timeType = reflect.TypeOf(time.Time{})

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.Pointer:
		s := g.schema(t.Elem())
		if ty, ok := s["type"].(string); ok {
			s["type"] = []any{ty, "null"}
			return s
		}
		return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer", "minimum": 0, "maximum": uint64(1)<<(t.Bits()-1) - 1 + uint64(1)<<(t.Bits()-1)}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Struct:
		name := schemaName(t)
		if name == "" {
			return g.object(t)
		}
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = nil // a placeholder against recursion
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	panic("openapi: no schema for " + t.String())
}

// schemaName names a struct type's component: its Go name with the
// package's as a prefix where two packages share a name.
func schemaName(t reflect.Type) string {
	if t.Name() == "" {
		return ""
	}
	n := t.Name()
	if !isExported(n) {
		n = strings.ToUpper(n[:1]) + n[1:]
	}
	if strings.HasSuffix(t.PkgPath(), "/matching") && (n == "Influencer" || n == "Brand") {
		return "Matching" + n
	}
	return n
}

func isExported(n string) bool { return n != "" && strings.ToUpper(n[:1]) == n[:1] }

// object is the schema of a struct's JSON encoding: embedded structs'
// fields inline, omitempty fields optional, every other field required;
// no other properties.
func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				walk(ft)
				continue
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			props[name] = g.schema(f.Type)
			if b := bodyBounds[schemaName(t)][name]; b != nil {
				sch := maps.Clone(props[name].(map[string]any))
				maps.Copy(sch, b)
				props[name] = sch
			}
			if !strings.Contains(opts, "omitempty") {
				required = append(required, name)
			}
		}
	}
	walk(t)
	sort.Strings(required)
	out := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}
