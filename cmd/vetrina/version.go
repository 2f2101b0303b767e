package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// Set at build time by release builds (deploy/Dockerfile, `make build`),
// which may have no .git for the Go toolchain to read:
//
//	go build -ldflags "-X main.version=v1.2.0 -X main.revision=$(git rev-parse HEAD) \
//	  -X main.commitTime=$(git log -1 --format=%cI) -X main.buildTime=$(date -u +%FT%TZ)"
//
// Empty, they come from what the toolchain stamped into the binary.
var version, revision, commitTime, buildTime string

// buildInfo returns the labels of vetrina_build_info and what --version
// prints: the version, the VCS revision and its time, whether the tree
// was modified, the Go version ("unknown" where nothing says). The
// -ldflags values win over what the toolchain stamped.
func buildInfo() prometheus.Labels {
	l := prometheus.Labels{"version": "unknown", "revision": "unknown", "vcs_time": "unknown", "modified": "unknown", "goversion": runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		if v := info.Main.Version; v != "" && v != "(devel)" {
			l["version"] = v
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				l["revision"] = s.Value
			case "vcs.time":
				l["vcs_time"] = s.Value
			case "vcs.modified":
				l["modified"] = s.Value
			}
		}
	}
	for key, v := range map[string]string{"version": version, "revision": revision, "vcs_time": commitTime} {
		if v != "" {
			l[key] = v
		}
	}
	return l
}

// printVersion writes what `vetrina --version` prints.
func printVersion(w io.Writer) {
	l := buildInfo()
	built := buildTime
	if built == "" {
		built = "unknown"
	}
	fmt.Fprintf(w, "vetrina %s\n  revision   %s\n  committed  %s (tree modified: %s)\n  built      %s\n  go         %s\n",
		l["version"], l["revision"], l["vcs_time"], l["modified"], built, l["goversion"])
}
