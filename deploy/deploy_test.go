// Package deploy holds the deployment files (Dockerfile, Prometheus
// configuration and alert rules, Grafana dashboard, ClickHouse users); its
// test checks them against the code.
package deploy

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v2"
)

var metricRE = regexp.MustCompile(`\bvetrina_[a-z_]+`)

// definedMetrics returns the vetrina_* names that appear as string
// literals in the project's Go code.
func definedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != ".." || d.Name() == "deploy") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range regexp.MustCompile(`"(vetrina_[a-z_]+)"`).FindAllStringSubmatch(string(src), -1) {
			out[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkNames fails for every vetrina_* metric in text the code does not
// define (histogram series count as their family).
func checkNames(t *testing.T, file, text string, defined map[string]bool) int {
	t.Helper()
	n := 0
	for _, name := range metricRE.FindAllString(text, -1) {
		n++
		family := name
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if f, ok := strings.CutSuffix(name, suf); ok && defined[f] {
				family = f
			}
		}
		if !defined[family] {
			t.Errorf("%s uses %s, which no Go code defines", file, name)
		}
	}
	return n
}

func TestAlertRules_ParseAndNameRealMetrics(t *testing.T) {
	defined := definedMetrics(t)
	if len(defined) < 20 {
		t.Fatalf("found only %d metric names in the code: %v", len(defined), defined)
	}
	src, err := os.ReadFile("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.UnmarshalStrict(src, &doc); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	alerts := map[string]bool{}
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" || r.Annotations["summary"] == "" || r.Labels["severity"] == "" {
				t.Errorf("rule %+v lacks alert, expr, severity or summary", r)
			}
			if alerts[r.Alert] {
				t.Errorf("alert %s defined twice", r.Alert)
			}
			alerts[r.Alert] = true
			if strings.Count(r.Expr, "(") != strings.Count(r.Expr, ")") {
				t.Errorf("%s: unbalanced parentheses in %q", r.Alert, r.Expr)
			}
			checkNames(t, "alerts.yml "+r.Alert, r.Expr, defined)
		}
	}
	// What the issue asks the rules to watch.
	for _, want := range []string{"VetrinaIngestLagGrowing", "VetrinaAPIErrorRate", "VetrinaRankingModelStale"} {
		if !alerts[want] {
			t.Errorf("no alert %s", want)
		}
	}
	conf, err := os.ReadFile("prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(conf), "/etc/prometheus/alerts.yml") {
		t.Error("prometheus.yml does not load the alert rules")
	}
}

func TestGrafanaDashboard_ParsesAndNamesRealMetrics(t *testing.T) {
	defined := definedMetrics(t)
	src, err := os.ReadFile("grafana/vetrina.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(src, &dash); err != nil {
		t.Fatalf("vetrina.json: %v", err)
	}
	if dash.UID == "" || dash.Title == "" {
		t.Error("dashboard without uid or title")
	}
	n := 0
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			n += checkNames(t, "vetrina.json "+p.Title, tg.Expr, defined)
		}
	}
	// Every metric family the code defines is on the dashboard.
	for name := range defined {
		series := strings.HasSuffix(name, "_bucket") || strings.HasSuffix(name, "_sum") || strings.HasSuffix(name, "_count")
		if !series && !strings.Contains(string(src), name) && name != "vetrina_ranking_trainings_total" && name != "vetrina_ranking_model_trained_timestamp_seconds" {
			t.Errorf("the dashboard does not show %s", name)
		}
	}
	if n < 20 {
		t.Errorf("the dashboard queries only %d metric series", n)
	}
}

// promtool finds Prometheus's rule checker (Debian's prometheus package;
// `make test` installs it).
func promtool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("promtool"); err == nil {
		return p
	}
	t.Fatal("the alert rules' tests need promtool: run scripts/install-deps.sh --test (or `apt-get install -y prometheus`; `make test` installs it)")
	return ""
}

// TestAlertRules_PromtoolChecksAndUnitTests: Prometheus itself accepts the
// rules, and prometheus/alerts_test.yml, which promtool runs, has for every
// alert a case where it fires on a failing series (next to a healthy
// series or a healthy case that must stay silent).
func TestAlertRules_PromtoolChecksAndUnitTests(t *testing.T) {
	bin := promtool(t)
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = "prometheus"
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	rules, err := os.ReadFile("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile("prometheus/alerts_test.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests []struct {
			InputSeries []struct {
				Series string `yaml:"series"`
			} `yaml:"input_series"`
			AlertRuleTest []struct {
				AlertName string `yaml:"alertname"`
				ExpAlerts []struct {
					ExpLabels map[string]any `yaml:"exp_labels"`
				} `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(tests, &doc); err != nil {
		t.Fatalf("alerts_test.yml: %v", err)
	}
	// An alert stays silent on a healthy series where a case expects no
	// alert at all, or where a case's input has a series whose label (one
	// the expected alerts carry, such as instance or topic) has a value no
	// expected alert has: promtool fails on any alert not expected.
	labelRE := regexp.MustCompile(`(\w+)="([^"]*)"`)
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, tc := range doc.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) == 0 {
				silent[a.AlertName] = true
				continue
			}
			fires[a.AlertName] = true
			fired := map[string]bool{} // label=value of the expected alerts
			for _, e := range a.ExpAlerts {
				for k, v := range e.ExpLabels {
					fired[k+"="+fmt.Sprint(v)] = true
				}
			}
			for _, s := range tc.InputSeries {
				for _, m := range labelRE.FindAllStringSubmatch(s.Series, -1) {
					if k := m[1]; k != "severity" && k != "alertname" && !fired[k+"="+m[2]] {
						for _, e := range a.ExpAlerts {
							if _, ok := e.ExpLabels[k]; ok {
								silent[a.AlertName] = true
							}
						}
					}
				}
			}
		}
	}
	for _, m := range regexp.MustCompile(`(?m)^\s+- alert: (\w+)`).FindAllStringSubmatch(string(rules), -1) {
		if !fires[m[1]] {
			t.Errorf("alerts_test.yml has no case where %s fires", m[1])
		}
		if !silent[m[1]] {
			t.Errorf("alerts_test.yml has no case where %s stays silent on a healthy series", m[1])
		}
	}
}

// TestCompose_ValidAndTokensMountedAsADirectory: docker-compose.yml is a
// valid Compose file (for the Compose plugin, or Debian's docker-compose
// 1.29 where the plugin is absent), and the API reads its tokens from a
// mounted directory: a single-file mount never sees the rename of an edit.
func TestCompose_ValidAndTokensMountedAsADirectory(t *testing.T) {
	var cmd *exec.Cmd
	if err := exec.Command("docker", "compose", "version").Run(); err == nil {
		cmd = exec.Command("docker", "compose", "-f", "../docker-compose.yml", "config", "-q")
	} else if p, err := exec.LookPath("docker-compose"); err == nil {
		cmd = exec.Command(p, "-f", "../docker-compose.yml", "config", "-q")
	} else {
		t.Fatal("checking docker-compose.yml needs the Compose plugin or docker-compose: run scripts/install-deps.sh --test (or `apt-get install -y docker-compose`; `make test` installs it)")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	src, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
			Volumes     []string          `yaml:"volumes"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	serve := doc.Services["serve"]
	tokens := serve.Environment["VETRINA_TOKENS"]
	mounted := false
	for _, v := range serve.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && strings.HasPrefix(parts[0], "./") && tokens != "" && filepath.Dir(tokens) == parts[1] {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("serve reads its tokens from %q, which is not in a directory mounted from the host (volumes %v)", tokens, serve.Volumes)
	}
}
