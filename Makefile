# winnow: the two commands the README promises.
#   make run   - run the worker with embedded NATS
#   make test  - run every test (race detector on)
GO ?= go
CORPUS ?= ../shared/corpus

.PHONY: run test build bench eval fmt vet
build:
	$(GO) build -buildvcs=auto -o bin/winnow ./cmd/winnow

run: build
	./bin/winnow run

test:
	$(GO) test -race -count=1 ./...

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w .

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./dedupe ./moderate ./pipeline

eval: build
	./bin/winnow clean < $(CORPUS)/gold/docs.jsonl > /tmp/winnow-gold.jsonl; \
	./bin/winnow eval --gold $(CORPUS)/gold /tmp/winnow-gold.jsonl
