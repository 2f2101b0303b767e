package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
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

// TestToken_ServeAsOtherUserNamesTheUidAndChmod: `vetrina serve --tokens
// FILE` run as uid 65532 (the image's user) on a root-owned 0600 file (as
// `vetrina token` writes it) stops at the start with status 1 and an error
// that names the uid it runs as and says chmod 0644 is safe. Nothing
// listens on the ClickHouse and Kafka addresses: the tokens are loaded
// before either is dialled.
func TestToken_ServeAsOtherUserNamesTheUidAndChmod(t *testing.T) {
	const uid = 65532
	if os.Geteuid() != 0 {
		t.Fatalf("this test must run as root (euid is %d): it starts vetrina as uid %d on a root-owned 0600 token file", os.Geteuid(), uid)
	}
	// t.TempDir and the directory of binPath are 0700: make a directory
	// uid 65532 can enter and put the binary and the file there.
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "vetrina")
	src, err := os.Open(binPath)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err == nil {
		_, err = io.Copy(dst, src)
		err = errors.Join(err, dst.Close(), os.Chmod(bin, 0o755))
	}
	src.Close()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "tokens.json")
	if err := token.Edit(file, func(f *token.File) error { // 0600, owned by root
		f.Tokens = append(f.Tokens, token.Entry{Name: "a", SHA256: token.HashHex(token.New()), Scopes: []string{"feed"}})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(file); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v; want mode 0600", info, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--tokens", file, "--http", "127.0.0.1:0",
		"--clickhouse", "127.0.0.1:1", "--brokers", "127.0.0.1:1", "--model-snapshot", "")
	cmd.Dir = dir
	cmd.Env = os.Environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid, Groups: []uint32{}}}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("vetrina serve as uid %d: %v\n%s", uid, err, out.String())
	}
	if ctx.Err() != nil {
		t.Fatalf("vetrina serve as uid %d did not stop at the start (killed after 15 s):\n%s", uid, out.String())
	}
	t.Logf("vetrina serve as uid %d: exit %d\n%s", uid, code, out.String())
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	for _, want := range []string{
		"permission denied",
		fmt.Sprintf("this process runs as uid %d", uid),
		"chmod 0644 is safe",
		fmt.Sprintf("chown it to uid %d", uid),
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q:\n%s", want, out.String())
		}
	}
}
