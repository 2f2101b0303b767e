package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vetrina/vetrina/internal/testenv"
)

// schemathesisVersion is the schemathesis the contract test runs (its CLI
// flags change between major versions): scripts/install-deps.sh --test
// installs it with pip.
const schemathesisVersion = "4.32.5"

// TestSchemathesis_UpAnswersItsContract runs `vetrina up` as a user would
// and points schemathesis at its /openapi.json with the tokens the banner
// prints: generated requests of every operation (bounded), stateful
// sequences, unsupported methods and missing tokens. No answer may be a
// 5xx, break the schema, status codes, content types or headers the
// contract lists, or accept what the schema rejects. Schema-valid requests
// the server refuses (positive_data_acceptance) are not checked: a plan
// with the same brand twice or a cursor the API never issued is valid JSON
// Schema and rightly a 400.
func TestSchemathesis_UpAnswersItsContract(t *testing.T) {
	st, err := exec.LookPath("schemathesis")
	if err != nil {
		t.Fatal("this test needs schemathesis " + schemathesisVersion + " (scripts/install-deps.sh --test installs it; or pip install schemathesis==" + schemathesisVersion + ")")
	}
	if out, err := exec.Command(st, "--version").CombinedOutput(); err != nil || !strings.Contains(string(out), schemathesisVersion) {
		t.Fatalf("schemathesis %s is needed (its flags differ between versions): `schemathesis --version` says %q (%v); pip install schemathesis==%s",
			schemathesisVersion, strings.TrimSpace(string(out)), err, schemathesisVersion)
	}
	brokerAddr, httpAddr := freeAddr(t), freeAddr(t)
	chNative, chHTTP := freeAddr(t), freeAddr(t)
	up := start(t, "up", "--data-dir", t.TempDir(), "--http", httpAddr, "--broker-listen", brokerAddr,
		"--clickhouse-native-port", portOf(chNative), "--clickhouse-http-port", portOf(chHTTP),
		"--sim-rate", "300", "--seed", "7", "--profiles-every", "5s")
	base := "http://" + httpAddr

	toks := map[string]string{}
	testenv.Eventually(t, 90*time.Second, func() error {
		for _, m := range regexp.MustCompile(`(?m)^\s+(?:API tokens \(dev\)\s+)?(admin|feed|brand:1)\s+(vt_[A-Za-z0-9_-]{43})$`).FindAllStringSubmatch(up.output(), -1) {
			toks[m[1]] = m[2]
		}
		if len(toks) != 3 {
			return fmt.Errorf("no tokens printed yet:\n%s", up.output())
		}
		return nil
	})
	// The banner says how fast each development token may go.
	if !regexp.MustCompile(`rate limits: admin 10000/s \(burst 20000\), feed 10000/s \(burst 20000\), brand:1 10000/s \(burst 20000\); a token file's default is 100/s, burst 200`).MatchString(up.output()) {
		t.Errorf("the banner does not print the tokens' rate limits:\n%s", up.output())
	}
	// Profiles computed: the brand routes answer with data, not only 503.
	testenv.Eventually(t, 90*time.Second, func() error {
		var r struct {
			Checks map[string]string `json:"checks"`
		}
		if err := getJSON(base+"/readyz", &r); err != nil {
			return err
		}
		if r.Checks["matching"] != "ok" {
			return fmt.Errorf("matching: %s", r.Checks["matching"])
		}
		return nil
	})

	// Each printed token over the operations it may call; the admin over
	// every one.
	for _, run := range []struct {
		who      string
		examples int
		only     string // --include-path-regex ("" = every operation)
	}{
		{"admin", 25, ""},
		{"brand:1", 10, `^/v1/(brands|influencers|plans|me)`},
		{"feed", 10, `^/v1/(feed|products|me)`},
	} {
		args := []string{"run", base + "/openapi.json", "--url", base,
			"--checks", "all", "--exclude-checks", "positive_data_acceptance",
			"--max-examples", fmt.Sprint(run.examples), "--seed", "1", "--workers", "1",
			"--request-timeout", "30", "--max-failures", "20", "--no-color",
			"--header", "Authorization: Bearer " + toks[run.who]}
		if run.only != "" {
			args = append(args, "--include-path-regex", run.only)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
		cmd := exec.CommandContext(ctx, st, args...)
		cmd.Dir = t.TempDir() // its .hypothesis database stays out of the tree
		out, err := cmd.CombinedOutput()
		cancel()
		summary := string(out)
		if i := strings.Index(summary, "SUMMARY"); i >= 0 {
			summary = summary[i:]
		}
		t.Logf("schemathesis as %s: %v\n%s", run.who, err, summary)
		if err != nil {
			if len(out) > 20000 {
				out = append(out[:20000], "\n…(cut)"...)
			}
			t.Errorf("schemathesis as %s found failures (%v):\n%s", run.who, err, out)
		}
		if !regexp.MustCompile(`\d+ generated`).Match(out) {
			t.Errorf("schemathesis as %s generated no test case:\n%s", run.who, summary)
		}
	}
	up.stop(t)
}
