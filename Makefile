# The two commands a newcomer needs: `make demo` and `make test`. See README.md.
GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS     := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# BIN is where `make build` writes the binary; IMAGE is what `make image` tags.
BIN         ?= bin/berth
IMAGE       ?= berth:$(VERSION)
# Integration packages each start a control plane; two at once is what 2 cores carry.
TEST_PARALLEL ?= 2

.PHONY: build demo image test upstream vet

# build: the one build definition: a static, stripped berth binary with the version stamped in.
# The Dockerfile runs this target too; deploy/build_test.go checks the result.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) .

# image: the distroless container image; its builder stage runs `make build` (needs a Docker engine).
image:
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t $(IMAGE) .

# upstream: build etcd, kube-apiserver, kube-scheduler and kube-controller-manager from the Go module
# proxy into the cache.
upstream:
	$(GO) run ./testenv/cmd/upstream-binaries

# demo: a local control plane, a few nodes and pods, berth scheduling them; Ctrl-C stops it all.
demo: upstream
	$(GO) run ./demo

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }

# test: vet, then every unit, integration and end-to-end test with the race detector. -count=1:
# the integration tests run real binaries, which go test's result cache cannot see. The last lines
# run modules of their own, which need libraries berth does not: upstream/celoracle (cel-go), the
# differential test of devicecel against upstream's CEL; upstream/promlint (the Prometheus
# reference parser and promlint), which parses and lints berth's /metrics, /metrics/resources and
# /metrics/slis against a real control plane.
test: upstream vet
	$(GO) test -race -count=1 -p $(TEST_PARALLEL) -timeout 40m ./...
	cd upstream/celoracle && $(GO) test -race -count=1 ./...
	cd upstream/promlint && $(GO) test -race -count=1 ./...

# chaos: the long variants of the chaos tests (chaos/): kube-apiserver SIGKILLed and restarted
# under 2000 pods on 200 nodes (also across an etcd compaction), five leader kills among three
# replicas, a minute of injected API errors. Their short variants run in `make test`.
.PHONY: chaos
chaos: upstream
	BERTH_CHAOS_LONG=1 $(GO) test -race -count=1 -v -timeout 60m ./chaos/

# bench: berth side by side with upstream kube-scheduler and the API-write ceiling, each run on a
# fresh etcd + kube-apiserver, with both schedulers at client QPS/burst 5000 and again at their
# default flags (QPS 50, burst 100); writes BENCHMARKS.md and bench/results.json (~35 min on 2 cores).
# BENCH_FLAGS passes options (sizes, workloads, rounds, client limits: `go run ./bench -h`).
# bench-large: 5000 nodes / 10000 pods, one round per workload, QPS/burst 5000 only (a default-flags
# run takes ~200 s per scheduler at that size); writes BENCHMARKS-large.md and
# bench/results-large.json (~35 min on 2 cores).
# bench-large-basic: basic alone at 5000 nodes, three rounds, QPS/burst 5000 only, for a steadier
# median on a noisy machine; writes BENCHMARKS-large-basic.md and bench/results-large-basic.json (~9 min).
# bench-defaults: every workload at the schedulers' default flags alone, 200 nodes / 2000 pods,
# three rounds; writes BENCHMARKS-defaults.md and bench/results-defaults.json (~40 min).
# bench-firstpass: the schedulers' first pass over 20000 pods that fit nowhere, at their default
# flags (each pod one status patch at QPS 50: ~7 min per scheduler run); writes
# BENCHMARKS-firstpass.md and bench/results-firstpass.json (~15 min).
# bench-preemption: 1000 nodes each full of 10 low-priority pods (created bound, not measured), then
# 1000 high-priority pods that each fit only once one of them is preempted; both client limits;
# writes BENCHMARKS-preemption.md and bench/results-preemption.json (~8 min).
# bench-volumes: 500 nodes, 1000 pods each mounting its own WaitForFirstConsumer claim (claims created
# before the run, kube-controller-manager's PV binder and a test provisioner running, none of it
# measured); both client limits; writes BENCHMARKS-volumes.md and bench/results-volumes.json (~5 min).
# bench-latency: open-loop arrival, 100 pods/s for 60 s on 5000 nodes, basic and mixed, the ceiling,
# berth and upstream once each: create-to-bind p50/p99/p99.9 and each scheduler's SLI p99; writes
# BENCHMARKS-latency.md and bench/results-latency.json (~15 min).
# bench-xl: 15000 nodes, 30000 pods, basic and spread, once each, every run cut off after 20 min
# (-timebox) and then reported with how far it came; writes BENCHMARKS-xl.md and
# bench/results-xl.json (up to ~2 h).
# bench-startup: 5000 nodes and 50000 pods created bound (not measured), then each scheduler's cold
# start (exec -> /readyz -> first bind, peak RSS) and a leader failover between two berth replicas
# (4 s lease); writes BENCHMARKS-startup.md and bench/results-startup.json (~10 min).
# bench-devices: 500 nodes each publishing 8 devices (one ResourceSlice), 1000 pods each with its own
# pre-created one-device ResourceClaim (DeviceClass selecting the driver by CEL; none of the setup
# measured, no controller running); both client limits; writes BENCHMARKS-devices.md and
# bench/results-devices.json (~8 min).
BENCH_FLAGS ?=
.PHONY: bench bench-large bench-large-basic bench-defaults bench-firstpass bench-preemption bench-volumes bench-devices bench-latency bench-xl bench-startup bench-smoke
bench: upstream
	$(GO) run ./bench -md BENCHMARKS.md -json bench/results.json $(BENCH_FLAGS)

bench-large: upstream
	$(GO) run ./bench -large -pairs 1 -client-limits 5000 -md BENCHMARKS-large.md -json bench/results-large.json $(BENCH_FLAGS)

bench-large-basic: upstream
	$(GO) run ./bench -large -workloads basic -pairs 3 -client-limits 5000 -md BENCHMARKS-large-basic.md -json bench/results-large-basic.json $(BENCH_FLAGS)

bench-defaults: upstream
	$(GO) run ./bench -nodes 200 -pods 2000 -client-limits default -pairs 3 -md BENCHMARKS-defaults.md -json bench/results-defaults.json $(BENCH_FLAGS)

bench-firstpass: upstream
	$(GO) run ./bench -nodes 100 -pods 20000 -workloads firstpass -client-limits default -pairs 1 -md BENCHMARKS-firstpass.md -json bench/results-firstpass.json $(BENCH_FLAGS)

bench-preemption: upstream
	$(GO) run ./bench -nodes 1000 -pods 1000 -workloads preemption -client-limits 5000,default -pairs 1 -md BENCHMARKS-preemption.md -json bench/results-preemption.json $(BENCH_FLAGS)

bench-volumes: upstream
	$(GO) run ./bench -nodes 500 -pods 1000 -workloads volumes -client-limits 5000,default -pairs 1 -md BENCHMARKS-volumes.md -json bench/results-volumes.json $(BENCH_FLAGS)

bench-devices: upstream
	$(GO) run ./bench -nodes 500 -pods 1000 -workloads devices -client-limits 5000,default -pairs 1 -md BENCHMARKS-devices.md -json bench/results-devices.json $(BENCH_FLAGS)

bench-latency: upstream
	$(GO) run ./bench -mode latency -md BENCHMARKS-latency.md -json bench/results-latency.json $(BENCH_FLAGS)

bench-xl: upstream
	$(GO) run ./bench -mode xl -md BENCHMARKS-xl.md -json bench/results-xl.json $(BENCH_FLAGS)

bench-startup: upstream
	$(GO) run ./bench -mode startup -md BENCHMARKS-startup.md -json bench/results-startup.json $(BENCH_FLAGS)

# bench-smoke: the benchmark end to end at a tiny size (20 nodes, 60 pods, 2 workloads, 1 round at
# both client limits; preemption on 8 full nodes, volumes with 16 claims and devices with 16 claims
# on 8 nodes of 8 devices, at QPS/burst 5000; the latency, xl and startup modes on 20 to 100 nodes);
# it also runs within `make test`.
bench-smoke: upstream
	$(GO) test -count=1 -run TestSmoke -v ./bench
