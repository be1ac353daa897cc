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

lint:
	@out=$$(gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
