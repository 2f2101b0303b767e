#!/usr/bin/env bash
# govulncheck without internet: the vulnerability database is built from the
# golang.org/x/vulndb module (served by the Go module proxy) into
# ${VULNDB_DIR:-$HOME/.cache/vetrina-vulndb}, then govulncheck scans every
# package. Exit status: 1 if a module we require has a vulnerability our code
# reaches; standard-library findings are listed but do not fail (they are
# fixed by building with a newer Go release, see README).
set -euo pipefail
cd "$(dirname "$0")/.."
VULN_VERSION=v1.9.0
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018
DB=${VULNDB_DIR:-$HOME/.cache/vetrina-vulndb}/$VULNDB_VERSION
if [ ! -f "$DB/index/db.json" ]; then
	src=$(go mod download -json golang.org/x/vulndb@$VULNDB_VERSION | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	rm -rf "$DB.tmp" && mkdir -p "$(dirname "$DB")"
	go run golang.org/x/vulndb/cmd/indexdb@$VULNDB_VERSION -vulns "$src/data/osv" -out "$DB.tmp"
	mv "$DB.tmp" "$DB"
fi
# govulncheck is built by the toolchain that runs it (GOTOOLCHAIN=go1.27.3
# scripts/vulncheck.sh checks a build with that Go).
go run golang.org/x/vuln/cmd/govulncheck@$VULN_VERSION -db "file://$DB" -format json ./... | go run ./scripts/vulnfilter
