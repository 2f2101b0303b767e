#!/usr/bin/env bash
# Installs what Vetrina needs on a Debian machine and is missing: ClickHouse
# (Debian's clickhouse-server package), kcat (a Kafka client the tests use
# as an independent producer) and chromium (the brand console's browser test
# drives it headless; with --test) and stress (burns a core under
# scripts/stress-tests.sh; with --stress). Idempotent; safe to run every time.
set -euo pipefail

need=()
command -v clickhouse-server >/dev/null 2>&1 || [ -x /usr/sbin/clickhouse-server ] || need+=(clickhouse-server clickhouse-client)
command -v kcat >/dev/null 2>&1 || need+=(kcat)
# The console's browser test drives chromium: only the test command needs it.
for arg in "$@"; do
  case "$arg" in
    --test) command -v chromium >/dev/null 2>&1 || need+=(chromium)
      # promtool checks and unit-tests the alert rules (deploy's tests).
      command -v promtool >/dev/null 2>&1 || need+=(prometheus)
      # deploy's tests check docker-compose.yml with the Compose plugin or, without it, Debian's docker-compose.
      docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose) ;;
    --stress) command -v stress >/dev/null 2>&1 || need+=(stress) ;;
    *) echo "install-deps: unknown option $arg (options: --test, --stress)" >&2; exit 2 ;;
  esac
done
# ZooKeeper, for the replicated ClickHouse cluster test (store, internal/zkserver;
# with --test): Debian's zookeeper package, whose jar runs on the Java it brings.
case " $* " in *" --test "*) [ -f /usr/share/java/zookeeper.jar ] || need+=(zookeeper) ;; esac
# Apache Kafka's broker, for the tests that run the real one (with --test):
# Java and Maven from Debian's packages, then the broker's jars from the
# Maven registry into ~/.cache/vetrina/kafka (scripts/fetch-kafka.sh), last.
kafka=0
case " $* " in *" --test "*) kafka=1 ;; esac
if [ "$kafka" = 1 ]; then
  command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
  command -v mvn >/dev/null 2>&1 || need+=(maven)
fi
fetch_kafka() { if [ "$kafka" = 1 ]; then "$(dirname "$0")/fetch-kafka.sh"; fi; }
# schemathesis, for the contract test against a running `vetrina up`
# (cmd/vetrina/schemathesis_test.go; with --test): pinned, since its CLI
# flags change between versions, from Python's package index with pip
# (python3-pip from Debian's packages first where pip is missing).
SCHEMATHESIS_VERSION=4.32.5
st_deferred=0
install_schemathesis() {
  schemathesis --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION" && return 0
  echo "install-deps: installing schemathesis $SCHEMATHESIS_VERSION with pip" >&2
  python3 -m pip install -q "schemathesis==$SCHEMATHESIS_VERSION" >&2 ||
    python3 -m pip install -q --break-system-packages "schemathesis==$SCHEMATHESIS_VERSION" >&2
}
case " $* " in *" --test "*)
  if python3 -m pip --version >/dev/null 2>&1; then
    install_schemathesis
  elif ! schemathesis --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
    need+=(python3-pip); st_deferred=1
  fi ;;
esac
# chdb-core (ClickHouse's current engine in process), for the test that runs
# the schema and every query on it as on 18.16 (store/chdb_test.go; with
# --test): pinned, from Python's package index with pip.
CHDB_VERSION=26.9.0
chdb_deferred=0
install_chdb() {
  python3 -c "import chdb, sys; sys.exit(chdb.__version__ != '$CHDB_VERSION')" 2>/dev/null && return 0
  echo "install-deps: installing chdb-core $CHDB_VERSION with pip" >&2
  python3 -m pip install -q "chdb-core==$CHDB_VERSION" >&2 ||
    python3 -m pip install -q --break-system-packages "chdb-core==$CHDB_VERSION" >&2
}
case " $* " in *" --test "*)
  if python3 -m pip --version >/dev/null 2>&1; then
    install_chdb
  else
    case " ${need[*]} " in *" python3-pip "*) ;; *) need+=(python3-pip) ;; esac
    chdb_deferred=1
  fi ;;
esac
[ ${#need[@]} -eq 0 ] && fetch_kafka
[ ${#need[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root (or sudo) to apt-get install ${need[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "install-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fetch_kafka
[ "$st_deferred" = 1 ] && install_schemathesis
[ "$chdb_deferred" = 1 ] && install_chdb
exit 0
