package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vetrina/vetrina/api/token"
	"github.com/vetrina/vetrina/internal/testenv"
)

// TestToken_FileAddRevokeReloads: `vetrina token --file` adds an entry a
// running server accepts, --revoke removes it, and the server notices the
// change without a restart; the file never holds the token itself.
func TestToken_FileAddRevokeReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	tokenOf := func(out string) string {
		m := regexp.MustCompile(`token: (vt_\S+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no token in %q", out)
		}
		return m[1]
	}
	var out bytes.Buffer
	if err := tokenCommand([]string{"--name", "feed-service", "--scope", "feed", "--rate", "5000", "--file", path}, &out); err != nil {
		t.Fatal(err)
	}
	feedTok := tokenOf(out.String())
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), feedTok) {
		t.Fatal("the token file holds the token in clear")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tf := apiFlags{file: &path, noAuth: new(bool)}
	auth, err := tf.load(ctx, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if p := auth.Lookup(feedTok); p == nil || !p.Feed || p.Name != "feed-service" {
		t.Fatalf("feed token: %+v", p)
	}

	out.Reset()
	if err := tokenCommand([]string{"--name", "acme", "--scope", "brand:42", "--file", path}, &out); err != nil {
		t.Fatal(err)
	}
	acmeTok := tokenOf(out.String())
	if err := tokenCommand([]string{"--revoke", "feed-service", "--file", path}, &out); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 3*token.ReloadEvery, func() error {
		if auth.Lookup(feedTok) != nil {
			return fmt.Errorf("revoked token still valid")
		}
		if p := auth.Lookup(acmeTok); p == nil || !p.Brand(42) || p.Brand(43) {
			return fmt.Errorf("new brand token not loaded: %+v", p)
		}
		return nil
	})

	// A broken file is refused and the loaded tokens stay.
	if err := os.WriteFile(path, []byte("{broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(token.ReloadEvery + time.Second)
	if auth.Lookup(acmeTok) == nil {
		t.Error("a broken token file dropped the loaded tokens")
	}

	// Bad requests say what is wrong.
	for args, want := range map[string]string{
		"--name x":                       "--name and --scope are required",
		"--name x --scope brand:abc":     "brand id must be a positive integer",
		"--revoke nobody --file " + path: "token file",
		"--revoke nobody":                "needs --file",
	} {
		if err := tokenCommand(strings.Fields(args), &out); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("vetrina token %s: %v, want %q", args, err, want)
		}
	}
}

// TestToken_ServeRefusesWithoutTokens: no tokens and no --no-auth is an
// error that says what to do.
func TestToken_ServeRefusesWithoutTokens(t *testing.T) {
	t.Setenv(tokensEnv, "")
	empty := ""
	_, err := apiFlags{file: &empty, noAuth: new(bool)}.load(context.Background(), slog.New(slog.DiscardHandler))
	if err != errNoTokens || !strings.Contains(err.Error(), "vetrina token") {
		t.Fatalf("err = %v", err)
	}
	t.Setenv(tokensEnv, `{"tokens":[{"name":"x","sha256":"00","scopes":["feed"]}]}`)
	if _, err := (apiFlags{file: &empty, noAuth: new(bool)}).load(context.Background(), slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), tokensEnv) {
		t.Fatalf("bad $%s: %v", tokensEnv, err)
	}
}
