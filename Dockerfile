# syntax=docker/dockerfile:1
#
# kpush container images, with helm and kubectl (for charts and kustomizations):
#
#   docker build -t kpush .                           # runtime: distroless, uid 65532, no shell
#   docker build --target debug -t kpush:debug .      # plus busybox: for GitLab jobs
#   docker build --target bitbucket-pipe -t kpush-bitbucket-pipe .
#
# helm's checksums and kubectl's arm64 checksum must be passed as build
# arguments (see the tools stage); the build stops while they are empty.

ARG RUST_VERSION=1.95
ARG DISTROLESS=gcr.io/distroless/cc-debian12

# --- kpush, built by the same script as the release archives -----------------
FROM rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    set -eu; \
    archive="$(scripts/build-release --out /dist)"; \
    mkdir /out; \
    tar -xzf "$archive" -C /out kpush; \
    /out/kpush --version

# --- helm and kubectl, pinned by version and SHA-256 -------------------------
FROM debian:bookworm-slim AS tools
ARG TARGETARCH
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /tmp/tools

# Checksums as dl.k8s.io publishes them in .../bin/linux/<arch>/kubectl.sha256;
# change the version and both checksums together. The arm64 checksum is not
# filled in yet: building for arm64 stops until it is passed as a build arg.
ARG KUBECTL_VERSION=1.37.1
ARG KUBECTL_SHA256_AMD64=65691ff77eb6fa44c908b77a1082c9f092c3b9733b5cefabec0d1104890e21a8
ARG KUBECTL_SHA256_ARM64=
RUN set -eu; \
    arch="${TARGETARCH:-$(dpkg --print-architecture)}"; \
    case "$arch" in \
      amd64) sha="$KUBECTL_SHA256_AMD64" ;; \
      arm64) sha="$KUBECTL_SHA256_ARM64" ;; \
      *) echo "no kubectl checksum for architecture $arch" >&2; exit 1 ;; \
    esac; \
    if [ -z "$sha" ]; then \
      echo "KUBECTL_SHA256_$(echo "$arch" | tr a-z A-Z) is empty: pass --build-arg with the value from https://dl.k8s.io/release/v$KUBECTL_VERSION/bin/linux/$arch/kubectl.sha256" >&2; \
      exit 1; \
    fi; \
    curl -fsSLo kubectl "https://dl.k8s.io/release/v$KUBECTL_VERSION/bin/linux/$arch/kubectl"; \
    echo "$sha  kubectl" | sha256sum -c -; \
    install -D -m 0755 kubectl /out/kubectl

# helm's checksums are not filled in yet, so the build stops until they are
# passed as build args: the values of
# https://get.helm.sh/helm-v<version>-linux-<arch>.tar.gz.sha256sum (the
# archive's checksum, not the binary's).
ARG HELM_VERSION=4.3.1
ARG HELM_SHA256_AMD64=
ARG HELM_SHA256_ARM64=
RUN set -eu; \
    arch="${TARGETARCH:-$(dpkg --print-architecture)}"; \
    case "$arch" in \
      amd64) sha="$HELM_SHA256_AMD64" ;; \
      arm64) sha="$HELM_SHA256_ARM64" ;; \
      *) echo "no helm checksum for architecture $arch" >&2; exit 1 ;; \
    esac; \
    tarball="helm-v$HELM_VERSION-linux-$arch.tar.gz"; \
    if [ -z "$sha" ]; then \
      echo "HELM_SHA256_$(echo "$arch" | tr a-z A-Z) is empty: pass --build-arg with the value from https://get.helm.sh/$tarball.sha256sum" >&2; \
      exit 1; \
    fi; \
    curl -fsSLo "$tarball" "https://get.helm.sh/$tarball"; \
    echo "$sha  $tarball" | sha256sum -c -; \
    tar -xzf "$tarball" "linux-$arch/helm"; \
    install -D -m 0755 "linux-$arch/helm" /out/helm

# --- debug: the same with a busybox shell (/busybox/sh), which GitLab jobs need
FROM ${DISTROLESS}:debug-nonroot AS debug
COPY --from=tools /out/kubectl /out/helm /usr/local/bin/
COPY --from=builder /out/kpush /usr/local/bin/kpush
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/kpush"]

# --- bitbucket-pipe: runs ci-templates/bitbucket/pipe.sh -----------------------
# As root: the pipe writes its reports into the clone Bitbucket mounts, which
# the image's own user may not be allowed to write.
FROM debug AS bitbucket-pipe
USER 0:0
COPY ci-templates/bitbucket/pipe.sh /pipe.sh
ENTRYPOINT ["/busybox/sh", "/pipe.sh"]

# --- runtime (the default target): no shell, non-root ------------------------
FROM ${DISTROLESS}:nonroot AS runtime
COPY --from=tools /out/kubectl /out/helm /usr/local/bin/
COPY --from=builder /out/kpush /usr/local/bin/kpush
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/kpush"]
