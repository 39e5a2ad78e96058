#!/usr/bin/env bash
# Builds winnow/winnow:$TAG and winnow/nats:$TAG from binaries made here:
# static (CGO off), stripped, with the host's CA bundle. No registry is used.
set -euo pipefail
cd "$(dirname "$0")/.."
TAG=${TAG:-dev}
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
export CGO_ENABLED=0
flags=(-trimpath -ldflags "-s -w -X main.version=$TAG")
go build -buildvcs=auto "${flags[@]}" -o "$ctx/winnow" ./cmd/winnow
go build "${flags[@]}" -o "$ctx/natsprobe" ./cmd/natsprobe
go build -trimpath -ldflags "-s -w" -o "$ctx/nats-server" github.com/nats-io/nats-server/v2
cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
mkdir "$ctx/data" # an empty, non-root-owned /data in the images
# OCI labels say which build an image holds (docker inspect), as
# `winnow version` and winnow_build_info do for the binary.
labels=(--label "org.opencontainers.image.version=$TAG" --label "org.opencontainers.image.created=$(date -u +%Y-%m-%dT%H:%M:%SZ)")
if rev=$(git rev-parse HEAD 2>/dev/null); then
	labels+=(--label "org.opencontainers.image.revision=$rev")
fi
docker build -q "${labels[@]}" --label org.opencontainers.image.title=winnow -f deploy/Dockerfile -t "winnow/winnow:$TAG" "$ctx" >/dev/null
docker build -q "${labels[@]}" --label org.opencontainers.image.title=winnow-nats -f deploy/nats.Dockerfile -t "winnow/nats:$TAG" "$ctx" >/dev/null
docker images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "^winnow/(winnow|nats):$TAG "
