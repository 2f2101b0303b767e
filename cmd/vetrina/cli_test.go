package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// vetrina runs the binary with args and the extra environment, and returns
// its stdout, stderr and exit status.
func vetrina(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), errOut.String(), 0
	case errors.As(err, &exit):
		return out.String(), errOut.String(), exit.ExitCode()
	}
	t.Fatalf("vetrina %v: %v", args, err)
	return "", "", 0
}

// TestCLI_HelpAndVersionOnStdout: --help of the binary, of every command
// and of every subcommand prints on stdout and exits 0, as --version
// does; mistakes on the command line exit 2 with a pointer to --help.
func TestCLI_HelpAndVersionOnStdout(t *testing.T) {
	helps := [][]string{{"--help"}, {"-h"}, {"help"}, {"help", "token"}}
	for _, c := range commands {
		helps = append(helps, []string{c.name, "--help"})
	}
	helps = append(helps, []string{"bench", "ingest", "--help"}, []string{"bench", "ranking", "--help"}, []string{"bench", "stand-in", "--help"}, []string{"bench", "load", "--help"},
		[]string{"eval", "ranking", "--help"}, []string{"eval", "matching", "--help"})
	for _, args := range helps {
		out, errOut, code := vetrina(t, nil, args...)
		if code != 0 || !strings.HasPrefix(out, "Usage: vetrina") || errOut != "" {
			t.Errorf("vetrina %s: exit %d, stdout %.80q, stderr %.200q; want 0, the usage on stdout, nothing on stderr", strings.Join(args, " "), code, out, errOut)
		}
	}
	out, _, code := vetrina(t, nil, "--version")
	if code != 0 || !regexp.MustCompile(`(?m)^vetrina \S+\n  revision +\S+\n  committed .*\n  built +\S+\n  go +go1\.`).MatchString(out) {
		t.Errorf("vetrina --version: exit %d:\n%s", code, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "Usage: vetrina COMMAND"},
		{[]string{"nope"}, `unknown command "nope"`},
		{[]string{"bench"}, "subcommands: ingest, ranking, load, stand-in"},
		{[]string{"eval", "rankings"}, `unknown subcommand "rankings"`},
		{[]string{"token", "--bogus"}, "see vetrina token --help"},
		{[]string{"migrate", "extra"}, `unexpected argument "extra"`},
	} {
		out, errOut, code := vetrina(t, nil, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) || out != "" {
			t.Errorf("vetrina %v: exit %d, stdout %q, stderr %q; want 2 and %q on stderr", tc.args, code, out, errOut, tc.want)
		}
	}
	// up's help shows up's own default.
	out, _, _ = vetrina(t, nil, "up", "--help")
	if !regexp.MustCompile(`--profiles-every .*\n.*\(default 1m0s\)`).MatchString(out) {
		t.Errorf("up --help does not show --profiles-every's default of 1m:\n%s", out)
	}
	// train lists only what a training uses.
	out, _, _ = vetrina(t, nil, "train", "--help")
	for _, serving := range []string{"--train-every", "--profiles-every", "--follow-lookback", "--tokens", "--gc-headroom-mib", "--http"} {
		if strings.Contains(out, serving+" ") {
			t.Errorf("train --help lists %s, which train does not use", serving)
		}
	}
}

// TestCLI_EnvTwinsNeverCollide: an environment variable that several
// commands read means the same flag in each (the shared groups); a
// command's own flags have the command in their variable's name. The
// variables of before keep working for one release, with a warning.
func TestCLI_EnvTwinsNeverCollide(t *testing.T) {
	flagLine := regexp.MustCompile(`(?m)^  --(\S+)  \[\$(\S+)\]\n      (.*)$`)
	type use struct{ cmd, flag, usage string }
	seen := map[string]use{}
	cmds := []string{"up", "broker", "ingest", "simulate", "serve", "train", "migrate", "token", "bench ingest", "bench ranking", "bench stand-in", "bench load", "eval ranking", "eval matching"}
	for _, cmd := range cmds {
		out, _, code := vetrina(t, nil, append(strings.Fields(cmd), "--help")...)
		if code != 0 {
			t.Fatalf("vetrina %s --help: exit %d", cmd, code)
		}
		ms := flagLine.FindAllStringSubmatch(out, -1)
		if len(ms) == 0 {
			t.Fatalf("vetrina %s --help lists no flags:\n%s", cmd, out)
		}
		for _, m := range ms {
			u := use{cmd, m[1], regexp.MustCompile(` \(default .*\)$`).ReplaceAllString(m[3], "")}
			if prev, ok := seen[m[2]]; ok && (prev.flag != u.flag || prev.usage != u.usage) {
				t.Errorf("$%s is --%s of %s (%q) and --%s of %s (%q)", m[2], prev.flag, prev.cmd, prev.usage, u.flag, u.cmd, u.usage)
			}
			seen[m[2]] = u
		}
	}
	for env, want := range map[string]use{
		"VETRINA_SIMULATE_RATE":      {cmd: "simulate", flag: "rate"},
		"VETRINA_TOKEN_RATE":         {cmd: "token", flag: "rate"},
		"VETRINA_BENCH_RANKING_RATE": {cmd: "bench ranking", flag: "rate"},
		"VETRINA_MIGRATE_PRINT":      {cmd: "migrate", flag: "print"},
		"VETRINA_TOKEN_FILE":         {cmd: "token", flag: "file"},
		"VETRINA_TOKEN_NAME":         {cmd: "token", flag: "name"},
		"VETRINA_BATCH_ROWS":         {flag: "batch-rows"},
		"VETRINA_HTTP":               {flag: "http"},
	} {
		got, ok := seen[env]
		if !ok || got.flag != want.flag || want.cmd != "" && got.cmd != want.cmd {
			t.Errorf("$%s: %+v, want --%s of %q", env, got, want.flag, want.cmd)
		}
	}
	for _, old := range []string{"VETRINA_RATE", "VETRINA_PRINT", "VETRINA_FILE", "VETRINA_NAME", "VETRINA_SCOPE"} {
		if u, ok := seen[old]; ok {
			t.Errorf("$%s is still a twin (--%s of %s)", old, u.flag, u.cmd)
		}
	}

	// The variable of before still works, and says what replaces it.
	out, errOut, code := vetrina(t, []string{"VETRINA_SCOPE=feed", "VETRINA_TOKEN_NAME=ci"}, "token")
	if code != 0 || !strings.Contains(out, "token: vt_") || !strings.Contains(errOut, "deprecated") || !strings.Contains(errOut, "VETRINA_TOKEN_SCOPE") {
		t.Errorf("token with $VETRINA_SCOPE: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// The new one wins over the old, and neither reaches another command.
	_, errOut, code = vetrina(t, []string{"VETRINA_TOKEN_RATE=nonsense", "VETRINA_SIMULATE_RATE=also-nonsense"}, "token", "--name", "x", "--scope", "feed")
	if code == 0 || !strings.Contains(errOut, "$VETRINA_TOKEN_RATE") {
		t.Errorf("token with a bad $VETRINA_TOKEN_RATE: exit %d, stderr %q", code, errOut)
	}
}

// TestCLI_SharedTwinNeverReachesOwnFlag: VETRINA_CLICKHOUSE and
// VETRINA_HTTP are today's twins of shared flags (docker-compose sets them
// for ingest and serve). A command's own flag of the same name (eval
// matching's --clickhouse, bench stand-in's --http) does not fall back on
// them as on an old name, while old names no shared flag has still work.
func TestCLI_SharedTwinNeverReachesOwnFlag(t *testing.T) {
	t.Setenv("VETRINA_CLICKHOUSE", "clickhouse:9000")
	t.Setenv("VETRINA_HTTP", "0.0.0.0:8080")
	t.Setenv("VETRINA_RATE", "7")

	own := newFlags("eval matching", "")
	addr := own.String("clickhouse", "", "")
	httpAddr := own.String("http", "", "")
	rate := own.Float64("rate", 0, "")
	if err := own.parse(nil); err != nil {
		t.Fatal(err)
	}
	if *addr != "" || *httpAddr != "" {
		t.Errorf("own --clickhouse %q, --http %q: read the shared flags' variables", *addr, *httpAddr)
	}
	if *rate != 7 {
		t.Errorf("own --rate = %v: the old $VETRINA_RATE no longer works", *rate)
	}

	shared := newFlags("serve", "")
	ch := shared.clickhouse("127.0.0.1:9000")
	sharedHTTP := shared.http("127.0.0.1:8080")
	if err := shared.parse(nil); err != nil {
		t.Fatal(err)
	}
	if *ch.addr != "clickhouse:9000" || *sharedHTTP != "0.0.0.0:8080" {
		t.Errorf("shared --clickhouse %q, --http %q: want the environment's", *ch.addr, *sharedHTTP)
	}
}
