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

.PHONY: all run build deps test bench fuzz lint

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/esa ./cmd/esa

run: build
	./bin/esa --data $(DATA)

# The Debian packages the end-to-end tests drive: swaks (SMTP), OpenSSH's
# client and sshpass (SSH logins), xmllint, pyspf, PyYAML, OpenDKIM's tools,
# dkimpy and Mail::DKIM (interoperability), Postfix (the receiving peer of
# the delivery test, which runs its own private instance on loopback; the
# system's Postfix, if the package starts one, is stopped and disabled so
# that nothing listens on port 25). `make deps` installs the missing
# ones when it can (apt-get, as root) and never fails: offline or without
# root it says what is missing, and the tests that need a tool skip with a
# message naming it.
DEPS_PACKAGES := swaks sshpass openssh-client libxml2-utils python3-spf python3-yaml \
	opendkim-tools python3-dkim libmail-dkim-perl postfix

deps:
	@if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then \
		echo "deps: no apt-get/dpkg here; the end-to-end tests that need $(DEPS_PACKAGES) skip when a tool is absent"; \
		exit 0; \
	fi; \
	missing=""; \
	for p in $(DEPS_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "deps: missing:$$missing; run 'sudo make deps' to install them (the tests that need them skip meanwhile)"; \
		exit 0; \
	fi; \
	echo "deps: installing$$missing"; \
	log=$$(mktemp); \
	apt="apt-get -q -y -o Acquire::Retries=0 -o Acquire::http::Timeout=20 -o Dpkg::Use-Pty=0"; \
	if DEBIAN_FRONTEND=noninteractive $$apt install --no-install-recommends $$missing >$$log 2>&1 || \
	   { $$apt update >>$$log 2>&1 && DEBIAN_FRONTEND=noninteractive $$apt install --no-install-recommends $$missing >>$$log 2>&1; }; then \
		echo "deps: installed$$missing"; \
		case " $$missing " in *" postfix "*) \
			{ command -v systemctl >/dev/null 2>&1 && systemctl disable --now postfix; \
			  postfix stop; } >/dev/null 2>&1 || true;; \
		esac; \
	else \
		echo "deps: could not install$$missing (offline?); the tests that need them skip. Last lines of apt-get:"; \
		tail -n 5 $$log | sed 's/^/deps:   /'; \
	fi; \
	rm -f $$log

test: deps
	$(GO) vet ./...
	$(GO) test -race -timeout 15m ./...

bench: deps
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
# that needs the network the first time only. Its checks are its defaults
# less ST1005 (error strings start lower-case, end without punctuation):
# command errors here are the appliance's own sentences, printed verbatim
# to the administrator as ESA-CLI.md shows them ("No DNS resolvers are
# configured; add one with dnsconfig."), so that convention does not apply.
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
	$(STATICCHECK) -checks 'inherit,-ST1005' ./...
