# The appliance's everyday commands. `make run` opens the shell on ./data (created
# with the factory defaults on first use); `make test` is what CI runs.

GO       ?= go
DATA     ?= ./data
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
# Each fuzz target runs this long in `make fuzz`.
FUZZTIME ?= 10s
# Benchmarks: a fixed iteration budget keeps `make bench` to a few minutes.
BENCHTIME ?= 1s

.PHONY: all run build test bench fuzz lint

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/esa ./cmd/esa

run: build
	./bin/esa --data $(DATA)

test:
	$(GO) vet ./...
	$(GO) test -race -timeout 15m ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -timeout 9m ./...

# Discover every Fuzz target per package and run each for FUZZTIME.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for target in $$($(GO) test -list 'Fuzz.*' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$target"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

# staticcheck, pinned so that every machine reports the same findings
# (2026.2.2 is module version v0.8.2). `make lint` builds it once into bin/;
# that needs the network the first time only. Its checks: staticcheck.conf.
STATICCHECK_VERSION := v0.8.2
STATICCHECK := bin/staticcheck-$(STATICCHECK_VERSION)

$(STATICCHECK):
	GOBIN=$(CURDIR)/bin/.staticcheck $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv bin/.staticcheck/staticcheck $@
	rmdir bin/.staticcheck

# gofmt, vet, a tidy go.mod (direct requirements not marked indirect, none
# unused) and staticcheck.
lint: $(STATICCHECK)
	@out=$$(gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff
	$(STATICCHECK) ./...
