package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/vetrina/vetrina/api/token"
)

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
	rate := f.Float64("rate", 0, fmt.Sprintf("requests per second allowed (burst: twice as many); 0 = %d", token.DefaultRate))
	file := f.String("file", "", "add the entry to this token file")
	revoke := f.String("revoke", "", "remove the entry of this name from --file")
	if err := f.parse(args); err != nil {
		return err
	}
	if *revoke != "" {
		if *file == "" {
			return errors.New("vetrina token --revoke needs --file")
		}
		return token.Edit(*file, func(tf *token.File) error {
			n := len(tf.Tokens)
			tf.Tokens = slices.DeleteFunc(tf.Tokens, func(e token.Entry) bool { return e.Name == *revoke })
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
	tok := token.New()
	e := token.Entry{Name: *name, SHA256: token.HashHex(tok), Scopes: strings.Split(*scope, ","), Rate: *rate}
	// Validate the entry as a server would.
	probe, _ := json.Marshal(token.File{Tokens: []token.Entry{e}})
	if _, err := token.Parse(probe); err != nil {
		return err
	}
	if *file == "" {
		entry, _ := json.Marshal(e)
		fmt.Fprintf(out, "token: %s\nentry: %s\n", tok, entry)
		return nil
	}
	err := token.Edit(*file, func(tf *token.File) error {
		tf.Tokens = append(tf.Tokens, e)
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "token: %s\nadded %q [%s] to %s; running servers accept it within 5 s (or at once on SIGHUP)\n", tok, *name, *scope, *file)
	return nil
}
