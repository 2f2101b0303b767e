package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/vetrina/vetrina/api"
)

// tokensEnv holds a token document itself, for deployments that pass
// secrets through the environment rather than files.
const tokensEnv = "VETRINA_TOKENS_JSON"

// tokenReloadEvery is how often a token file is checked for changes.
const tokenReloadEvery = 5 * time.Second

// apiFlags are the HTTP API's access settings.
type apiFlags struct {
	file      *string
	noAuth    *bool
	accessLog *string
	gcMiB     *int
}

// gcHeadroom is --gc-headroom-mib in bytes (see paceGC).
func (a apiFlags) gcHeadroom() uint64 { return uint64(max(0, *a.gcMiB)) << 20 }

func (f *flags) api() apiFlags {
	return apiFlags{
		file:      f.String("tokens", "", "API token file (JSON; `vetrina token` adds entries); reloaded on SIGHUP and within 5 s of a change. Or put the document itself in $"+tokensEnv),
		noAuth:    f.Bool("no-auth", false, "serve the feed and brand routes without tokens: local experiments only"),
		accessLog: f.String("access-log", api.AccessLogErrors, "which requests to log: errors (4xx, 5xx and slower than 1 s), all, off"),
		gcMiB:     f.Int("gc-headroom-mib", 64, "collect garbage once the heap grows this many MiB past the live heap (mostly the model) instead of letting it double; 0 keeps Go's default, and so does an explicit $GOGC"),
	}
}

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
		toks, info, err := readTokenFile(*t.file)
		if err != nil {
			return nil, err
		}
		a := api.NewAuth(toks)
		log.Info("api: tokens loaded", "file", *t.file, "tokens", toks.Len())
		go watchTokens(ctx, log, *t.file, a, info)
		return a, nil
	case os.Getenv(tokensEnv) != "":
		toks, err := api.ParseTokens([]byte(os.Getenv(tokensEnv)))
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

func readTokenFile(path string) (*api.Tokens, os.FileInfo, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("token file: %w", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("token file: %w", err)
	}
	toks, err := api.ParseTokens(data)
	if err != nil {
		return nil, nil, fmt.Errorf("token file %s: %w", path, err)
	}
	return toks, info, nil
}

// watchTokens reloads the token file on SIGHUP and when its size or
// modification time changes.
func watchTokens(ctx context.Context, log *slog.Logger, path string, a *api.Auth, last os.FileInfo) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	tick := time.NewTicker(tokenReloadEvery)
	defer tick.Stop()
	for {
		forced := false
		select {
		case <-ctx.Done():
			return
		case <-hup:
			forced = true
		case <-tick.C:
		}
		info, err := os.Stat(path)
		if err != nil {
			log.Error("api: token file unreadable; the loaded tokens stay in force", "file", path, "err", err)
			continue
		}
		if !forced && info.ModTime().Equal(last.ModTime()) && info.Size() == last.Size() {
			continue
		}
		toks, info, err := readTokenFile(path)
		if err != nil {
			log.Error("api: token file rejected; the loaded tokens stay in force", "err", err)
			continue
		}
		last = info
		a.Set(toks)
		log.Info("api: tokens reloaded", "file", path, "tokens", toks.Len())
	}
}

// devTokens makes the development tokens `vetrina up` prints when it is
// given none: one admin, one feed and one for brand 1.
func devTokens() (*api.Auth, []string, error) {
	var f api.TokenFile
	var lines []string
	for _, d := range []struct{ name, scope string }{{"dev-admin", "admin"}, {"dev-feed", "feed"}, {"dev-brand-1", "brand:1"}} {
		tok := api.NewToken()
		f.Tokens = append(f.Tokens, api.TokenEntry{Name: d.name, SHA256: api.HashToken(tok), Scopes: []string{d.scope}, Rate: 10000})
		lines = append(lines, fmt.Sprintf("%-8s %s", d.scope, tok))
	}
	data, _ := json.Marshal(f)
	toks, err := api.ParseTokens(data)
	if err != nil {
		return nil, nil, err
	}
	return api.NewAuth(toks), lines, nil
}

const tokenSummary = `Creates an API token. The token is printed once; servers store only its SHA-256.
With --file, the entry is added to that token file (created if missing), which running servers reload
within 5 s; without it, the JSON entry is printed to paste into one. --revoke NAME removes an entry.

Scopes: feed (the feed and similar products), brand:<id> (that brand's influencers, profiles and
plans), admin (everything). Example:
  vetrina token --name acme-manager --scope brand:42 --file tokens.json`

func runToken(_ context.Context, _ *slog.Logger, args []string) error {
	return tokenCommand(args, os.Stdout)
}

func tokenCommand(args []string, out io.Writer) error {
	f := newFlags("token", tokenSummary)
	name := f.String("name", "", "who holds the token (shown in logs and errors)")
	scope := f.String("scope", "", "comma-separated scopes: feed, admin, brand:<id>")
	rate := f.Float64("rate", 0, fmt.Sprintf("requests per second allowed (burst: twice as many); 0 = %d", api.DefaultTokenRate))
	file := f.String("file", "", "add the entry to this token file")
	revoke := f.String("revoke", "", "remove the entry of this name from --file")
	if err := f.parse(args); err != nil {
		return err
	}
	if *revoke != "" {
		if *file == "" {
			return errors.New("vetrina token --revoke needs --file")
		}
		return editTokenFile(*file, func(tf *api.TokenFile) error {
			n := len(tf.Tokens)
			tf.Tokens = slices.DeleteFunc(tf.Tokens, func(e api.TokenEntry) bool { return e.Name == *revoke })
			if len(tf.Tokens) == n {
				return fmt.Errorf("no token named %q in %s", *revoke, *file)
			}
			fmt.Fprintf(out, "revoked %q in %s; running servers drop it within 5 s (or at once on SIGHUP)\n", *revoke, *file)
			return nil
		})
	}
	if *name == "" || *scope == "" {
		return errors.New("vetrina token: --name and --scope are required (see --help)")
	}
	tok := api.NewToken()
	e := api.TokenEntry{Name: *name, SHA256: api.HashToken(tok), Scopes: strings.Split(*scope, ","), Rate: *rate}
	// Validate the entry as a server would.
	probe, _ := json.Marshal(api.TokenFile{Tokens: []api.TokenEntry{e}})
	if _, err := api.ParseTokens(probe); err != nil {
		return err
	}
	if *file == "" {
		entry, _ := json.Marshal(e)
		fmt.Fprintf(out, "token: %s\nentry: %s\n", tok, entry)
		return nil
	}
	err := editTokenFile(*file, func(tf *api.TokenFile) error {
		tf.Tokens = append(tf.Tokens, e)
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "token: %s\nadded %q [%s] to %s; running servers accept it within 5 s (or at once on SIGHUP)\n", tok, *name, *scope, *file)
	return nil
}

// editTokenFile applies edit to the token file (an empty one if missing),
// checks the result parses, and replaces the file atomically (mode 0600).
func editTokenFile(path string, edit func(*api.TokenFile) error) error {
	var tf api.TokenFile
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("token file: %w", err)
	default:
		if err := json.Unmarshal(data, &tf); err != nil {
			return fmt.Errorf("token file %s: %w", path, err)
		}
	}
	if err := edit(&tf); err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(tf); err != nil {
		return err
	}
	if _, err := api.ParseTokens(buf.Bytes()); err != nil {
		return fmt.Errorf("token file %s would not parse: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tokens-*")
	if err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("token file: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("token file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	return nil
}
