package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vetrina/vetrina/internal/kafkacluster"
	"github.com/vetrina/vetrina/internal/testenv"
)

// TestCLI_BenchIngestKafka: --kafka takes kfake or apache, and a missing
// Apache Kafka release fails at once with how to fetch it, before any
// ClickHouse or preloading.
func TestCLI_BenchIngestKafka(t *testing.T) {
	_, errOut, code := vetrina(t, nil, "bench", "ingest", "--kafka", "confluent")
	if code != 2 || !strings.Contains(errOut, "kfake or apache") {
		t.Errorf("--kafka confluent: exit %d, stderr %q; want 2 and the accepted values", code, errOut)
	}
	began := time.Now()
	_, errOut, code = vetrina(t, []string{"VETRINA_KAFKA_CACHE=" + t.TempDir()}, "bench", "ingest", "--kafka", "apache", "--events", "1000", "--clickhouse", "127.0.0.1:1")
	if code == 0 || !strings.Contains(errOut, "scripts/fetch-kafka.sh "+kafkacluster.DefaultVersion) {
		t.Errorf("--kafka apache without the release: exit %d, stderr %q; want a failure naming scripts/fetch-kafka.sh %s", code, errOut, kafkacluster.DefaultVersion)
	}
	if d := time.Since(began); d > 20*time.Second {
		t.Errorf("--kafka apache without the release took %v to fail", d)
	}
}

// TestBenchIngest_KafkaApache runs `vetrina bench ingest --kafka apache` as
// an operator would, on a small backlog: the broker and both ingesters are
// child processes, the report has kfake, Apache Kafka and the ceiling side
// by side, and --cpuprofile gives one profile per broker. It needs Java and
// scripts/fetch-kafka.sh's release, and fails (never skips) without them.
func TestBenchIngest_KafkaApache(t *testing.T) {
	ch := testenv.ClickHouseAddr(t)
	prof := filepath.Join(t.TempDir(), "ingest.prof")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, "bench", "ingest", "--kafka", "apache", "--events", "30000", "--partitions", "2",
		"--clickhouse", ch, "--cpuprofile", prof)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("vetrina bench ingest --kafka apache: %v\nstdout:\n%s\nstderr (tail):\n%s", err, out.String(), tail(errOut.String(), 3000))
	}
	report := out.String()
	for _, want := range []string{"end to end, kfake", "end to end, apache", "ceiling (clickhouse-go)", "/kfake", "replication factor 1"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	for _, p := range []string{prof, strings.TrimSuffix(prof, ".prof") + "-apache.prof"} {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Errorf("CPU profile %s: %v", p, err)
		}
	}
	t.Logf("report:\n%s", report)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
