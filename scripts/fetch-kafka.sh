#!/usr/bin/env bash
# Fetches Apache Kafka's broker, org.apache.kafka:kafka_2.13 and its runtime
# dependencies, from the Maven registry with mvn into a cache outside the
# clone, for the tests that run the real broker (package
# internal/kafkacluster, cmd/vetrina's crash test). No tarball and no Docker:
# the broker runs from these jars (java -cp 'DIR/libs/*' kafka.Kafka ...).
#
#   scripts/fetch-kafka.sh                # the version the tests use
#   scripts/fetch-kafka.sh 3.9.1 4.0.2    # others, e.g. for the compatibility test
#
# The jars land in $VETRINA_KAFKA_CACHE/VERSION/libs (default
# ${XDG_CACHE_HOME:-~/.cache}/vetrina/kafka); VERSION/.complete marks a
# finished fetch. Idempotent: a version already there is not fetched again.
# Needs java (17 or newer) and mvn (scripts/install-deps.sh --test installs
# both).
set -euo pipefail

# Keep in step with kafkacluster.DefaultVersion (a test checks).
DEFAULT_VERSION=4.4.0
# slf4j's simple binding: Kafka logs through slf4j 1.7 and its pom brings
# no binding (the release tarball adds one), so the broker would log nothing.
SLF4J_VERSION=1.7.36
DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

cache="${VETRINA_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vetrina/kafka}"
[ $# -eq 0 ] && set -- "$DEFAULT_VERSION"

for tool in java mvn; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "fetch-kafka: $tool not found; install Java 17 and Maven (scripts/install-deps.sh --test, or apt-get install default-jre-headless maven)" >&2
    exit 1
  }
done

for v in "$@"; do
  [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "fetch-kafka: not a Kafka version: $v" >&2; exit 2; }
  dest="$cache/$v"
  [ -f "$dest/.complete" ] && continue
  mkdir -p "$cache"
  work="$(mktemp -d "$cache/.fetch-$v.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  cat >"$work/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.vetrina</groupId>
  <artifactId>kafka-broker-jars</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$v</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>$SLF4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
  echo "fetch-kafka: fetching Apache Kafka $v (kafka_2.13 and its dependencies) with mvn into $dest" >&2
  start=$SECONDS
  if ! mvn -B -q -f "$work/pom.xml" "$DEPENDENCY_PLUGIN:copy-dependencies" \
      -DincludeScope=runtime -DoutputDirectory="$work/libs" >"$work/mvn.log" 2>&1; then
    cat "$work/mvn.log" >&2
    echo "fetch-kafka: mvn could not fetch org.apache.kafka:kafka_2.13:$v (is that version served? see the log above)" >&2
    exit 1
  fi
  ls "$work/libs"/kafka_2.13-"$v".jar >/dev/null
  echo "org.apache.kafka:kafka_2.13:$v fetched $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$work/.complete.tmp"
  rm -rf "$dest"
  mkdir "$dest"
  mv "$work/libs" "$dest/libs"
  mv "$work/.complete.tmp" "$dest/.complete"
  rm -rf "$work"
  trap - EXIT
  echo "fetch-kafka: Apache Kafka $v ready in $dest ($(ls "$dest/libs" | wc -l) jars, $((SECONDS - start))s)" >&2
done
