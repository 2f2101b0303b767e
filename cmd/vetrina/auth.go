package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/vetrina/vetrina/api"
	"github.com/vetrina/vetrina/api/token"
)

// tokensEnv holds a token document itself, for deployments that pass
// secrets through the environment rather than files.
const tokensEnv = "VETRINA_TOKENS_JSON"

// errNoTokens is returned when neither a token file nor $VETRINA_TOKENS_JSON
// is given and --no-auth is not set.
var errNoTokens = errors.New("no API tokens: give --tokens FILE or $" + tokensEnv + " (create tokens with `vetrina token`), or --no-auth for local experiments")

// load returns the API's Auth (nil with --no-auth), keeping a token file
// current until ctx ends. A file that stops parsing is logged and the
// tokens it held stay in force.
func (t apiFlags) load(ctx context.Context, log *slog.Logger) (*api.Auth, error) {
	if t.accessLog != nil {
		if m := *t.accessLog; m != api.AccessLogErrors && m != api.AccessLogAll && m != api.AccessLogOff {
			return nil, fmt.Errorf("--access-log %q: want errors, all or off", m)
		}
	}
	switch {
	case *t.file != "":
		toks, info, err := token.Read(*t.file)
		if err != nil {
			return nil, err
		}
		a := api.NewAuth(toks)
		log.Info("api: tokens loaded", "file", *t.file, "tokens", toks.Len())
		go token.Watch(ctx, log, *t.file, info, a.Set)
		return a, nil
	case os.Getenv(tokensEnv) != "":
		toks, err := token.Parse([]byte(os.Getenv(tokensEnv)))
		if err != nil {
			return nil, fmt.Errorf("$%s: %w", tokensEnv, err)
		}
		log.Info("api: tokens loaded", "from", "$"+tokensEnv, "tokens", toks.Len())
		return api.NewAuth(toks), nil
	case *t.noAuth:
		log.Warn("api: --no-auth: the feed and brand routes answer anyone")
		return nil, nil
	}
	return nil, errNoTokens
}

// devRate is the development tokens' rate limit (requests per second):
// high, so that the demo, the console and load tests are not slowed; the
// banner says so, since a token file's default is token.DefaultRate.
const devRate = 10000

// devTokens makes the development tokens `vetrina up` prints when it is
// given none: one admin, one feed and one for brand 1. The lines are the
// banner's: one per token, then their rate limits.
func devTokens() (*api.Auth, []string, error) {
	var f token.File
	var lines []string
	devs := []struct{ name, scope string }{{"dev-admin", "admin"}, {"dev-feed", "feed"}, {"dev-brand-1", "brand:1"}}
	for _, d := range devs {
		tok := token.New()
		f.Tokens = append(f.Tokens, token.Entry{Name: d.name, SHA256: token.HashHex(tok), Scopes: []string{d.scope}, Rate: devRate})
		lines = append(lines, fmt.Sprintf("%-8s %s", d.scope, tok))
	}
	data, _ := json.Marshal(f)
	toks, err := token.Parse(data)
	if err != nil {
		return nil, nil, fmt.Errorf("development tokens: %w", err)
	}
	grants := map[string]token.Grant{}
	for _, g := range toks.All() {
		grants[g.Name] = g
	}
	var limits []string
	for _, d := range devs {
		g := grants[d.name]
		limits = append(limits, fmt.Sprintf("%s %g/s (burst %d)", d.scope, g.Rate, g.Burst))
	}
	lines = append(lines, fmt.Sprintf("(rate limits: %s; a token file's default is %d/s, burst %d, then 429)",
		strings.Join(limits, ", "), token.DefaultRate, token.Burst(token.DefaultRate)))
	return api.NewAuth(toks), lines, nil
}
