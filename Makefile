# Vetrina: the two set-up commands are `make run` and `make test`.
GO      ?= go
BIN     := ./vetrina
export PATH := $(PATH):/usr/local/go/bin

.PHONY: run test deps deps-test build vet bench bench-go fuzz fuzz-ci vulncheck clean

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

build:
	$(GO) build -o $(BIN) ./cmd/vetrina

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)

## bench: Go micro-benchmarks and the end-to-end ingest benchmark
bench: deps build
	$(GO) test -run '^$$' -bench . -benchmem ./event ./ingest ./sim
	$(BIN) bench ingest --events 2000000

FUZZTIME ?= 30s
## fuzz: each fuzz target for FUZZTIME: the event decoder and the API's parsers
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./event
	for t in FuzzFeedQuery FuzzQueryValues FuzzBrandQuery FuzzPlanBody FuzzParseTokens; do \
		$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) ./api || exit 1; \
	done

## fuzz-ci: each fuzz target for a fixed number of runs, about 8 s each on a 2-core machine. A run bounded
## by time can fail in Go 1.26 with a bare "context deadline exceeded" when its time is up (go.dev/issue/75804)
fuzz-ci:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime 150000x ./event
	for tc in FuzzFeedQuery:40000 FuzzQueryValues:60000 FuzzBrandQuery:12000 FuzzPlanBody:12000 FuzzParseTokens:30000; do \
		$(GO) test -run '^$$' -fuzz "^$${tc%%:*}\$$" -fuzztime "$${tc#*:}x" ./api || exit 1; \
	done

## vulncheck: govulncheck with a vulnerability database built offline (scripts/vulncheck.sh)
vulncheck:
	scripts/vulncheck.sh

clean:
	rm -rf $(BIN) .vetrina
