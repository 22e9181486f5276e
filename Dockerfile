# syntax=docker/dockerfile:1
# berth's container image: one static binary on distroless, run as nonroot, no shell.
# Build it with `make image` (which passes VERSION and COMMIT from git), or:
#   docker build --build-arg VERSION=v0.1.0 --build-arg COMMIT=abc1234 -t berth:v0.1.0 .
# The builder stage runs `make build`, the same build definition the README documents, and
# deploy/dockerfile_test.go keeps it so.

# Builder: the official Go image (its Debian variants include make). It runs on the build host's
# platform and cross-compiles for the target one, which a static CGO_ENABLED=0 build allows.
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
ARG COMMIT=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH make build BIN=/out/berth VERSION=$VERSION COMMIT=$COMMIT

# Final: distroless static (CA certificates, /etc/passwd with nonroot, tzdata; no shell, no libc).
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="berth" \
      org.opencontainers.image.description="A lean drop-in replacement for kube-scheduler v1.37" \
      org.opencontainers.image.source="https://github.com/berth-scheduler/berth" \
      org.opencontainers.image.version="$VERSION" \
      org.opencontainers.image.revision="$COMMIT"
COPY --from=build /out/berth /berth
USER nonroot
ENTRYPOINT ["/berth"]
