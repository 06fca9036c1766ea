#!/usr/bin/env bash
# serve-cluster.sh — N workbenchd replicas serving one base model behind HAProxy (docs/SCALING.md).
#
#   scripts/serve-cluster.sh --model DIR [--name NAME] [--replicas N] [--port P] [--shared DIR]
#                            [--bind ADDR] [--work DIR] [--token-file F] [--replica-ports P1,P2,..]
#                            [--device cpu|cuda|auto] [--max-adapters N] [--threads N]
#                            [--balance-factor PCT]
#
# Each replica is its own workbenchd (own data dir, socket and TCP port on 127.0.0.1, named r1..rN
# in its X-Workbench-Instance header), with the same bearer token, the base model DIR imported as
# NAME and served, and `serving.shared_adapters` pointing at the shared adapter directory
# (<name>@<version>/ PEFT folders, loaded by a replica on the first request that names one).
# HAProxy (Debian's haproxy 2.6) listens on ADDR:P, hashes each request's JSON "model" field onto
# the replicas (consistent hashing with bounded load), checks GET /health every second and
# retries a request on another replica when its replica is gone. Ctrl-C (or SIGTERM) stops
# HAProxy and every replica.
#
# --bind is the IPv4 address HAProxy listens on (0.0.0.0: every one; then add TLS, docs/SECURITY.md).
# Defaults: --name base, --replicas 3, --port 11500, --bind 127.0.0.1, replica ports P+1..P+N,
# --shared <work>/adapters, --work a new /tmp/wb-cluster.XXXXXX, a new random token written to
# <work>/token (or the one in --token-file), --device cpu, --max-adapters 8, --threads 0 (each
# replica uses every core: give each a share, e.g. cores / N, when they share one machine),
# --balance-factor 150 (HAProxy's hash-balance-factor: no replica takes more than PCT % of the
# average number of requests in progress; larger keeps adapters on their replica under load).
# The binaries come from $WB_BIN (default: build/bin of this checkout).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bin=${WB_BIN:-$here/build/bin}
model="" name=base replicas=3 port=11500 bind=127.0.0.1 shared="" work="" token_file=""
replica_ports="" device=cpu max_adapters=8 threads=0 balance_factor=150

die() { echo "serve-cluster: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift 2 ;;
    --name) name=$2; shift 2 ;;
    --replicas) replicas=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --bind) bind=$2; shift 2 ;;
    --shared) shared=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --token-file) token_file=$2; shift 2 ;;
    --replica-ports) replica_ports=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --max-adapters) max_adapters=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --balance-factor) balance_factor=$2; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[ -n "$model" ] || die "--model DIR is required (an HF Llama directory: config.json, safetensors, tokenizer.model)"
[ -d "$model" ] || die "--model: no directory at $model"
[[ "$replicas" =~ ^[1-9][0-9]*$ ]] || die "--replicas: expected a positive integer, got '$replicas'"
if ! [[ "$balance_factor" =~ ^[0-9]+$ ]] || { [ "$balance_factor" -ne 0 ] && [ "$balance_factor" -le 100 ]; }; then
  die "--balance-factor: expected 0 (no bound) or a percentage over 100, got '$balance_factor'"
fi
command -v haproxy >/dev/null || die "haproxy not found: install Debian's package (apt-get install haproxy)"
command -v curl >/dev/null || die "curl not found (apt-get install curl)"
for b in workbenchd wb; do [ -x "$bin/$b" ] || die "$bin/$b not found: build first (scripts/setup.sh) or set WB_BIN"; done

model=$(cd "$model" && pwd)
if [ -z "$work" ]; then work=$(mktemp -d /tmp/wb-cluster.XXXXXX); fi
mkdir -p "$work" && work=$(cd "$work" && pwd)
shared=${shared:-$work/adapters}
mkdir -p "$shared" && shared=$(cd "$shared" && pwd)
umask 077
if [ -n "$token_file" ]; then
  token=$(tr -d '[:space:]' < "$token_file")
  [ -n "$token" ] || die "--token-file $token_file is empty"
else
  token=$(head -c 24 /dev/urandom | base64 | tr -d '/+=\n')
fi
printf '%s\n' "$token" > "$work/token"

ports=()
if [ -n "$replica_ports" ]; then
  IFS=, read -r -a ports <<< "$replica_ports"
  [ "${#ports[@]}" -eq "$replicas" ] || die "--replica-ports names ${#ports[@]} ports for $replicas replicas"
else
  for i in $(seq 1 "$replicas"); do ports+=($((port + i))); done
fi

pids=() haproxy_pid=""
stop_all() {
  trap - INT TERM EXIT
  if [ -n "$haproxy_pid" ]; then kill -TERM "$haproxy_pid" 2>/dev/null || true; fi
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "serve-cluster: stopped (logs and data in $work)"
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

# The replicas: one config, data dir and log each.
for i in $(seq 1 "$replicas"); do
  r=$work/r$i
  mkdir -p "$r"
  cat > "$r/workbench.toml" <<EOF
data_dir = "$r/data"
socket   = "$r/wb.sock"
device   = "$device"
threads  = $threads
instance = "r$i"

[serving]
shared_adapters = "$shared"
max_adapters    = $max_adapters

[tcp]
enabled = true
host    = "127.0.0.1"
port    = ${ports[$((i - 1))]}
token   = "$token"
EOF
  "$bin/workbenchd" --config "$r/workbench.toml" 2> "$r/workbenchd.log" &
  pids+=($!)
  echo $! > "$r/pid"
done

wb_at() { local r=$1; shift; "$bin/wb" --socket "$work/$r/wb.sock" "$@"; }
for i in $(seq 1 "$replicas"); do
  for _ in $(seq 1 300); do
    wb_at "r$i" status >/dev/null 2>&1 && break
    kill -0 "${pids[$((i - 1))]}" 2>/dev/null || die "replica r$i exited at start: $(tail -n 5 "$work/r$i/workbenchd.log")"
    sleep 0.1
  done
  wb_at "r$i" status >/dev/null || die "replica r$i does not answer on $work/r$i/wb.sock"
done
# The base: imported into each replica's data dir (in parallel), then served.
imports=()
for i in $(seq 1 "$replicas"); do
  wb_at "r$i" model import "$name" "$model" > "$work/r$i/import.log" 2>&1 &
  imports+=($!)
done
for i in $(seq 1 "$replicas"); do
  wait "${imports[$((i - 1))]}" || die "importing $model into r$i failed: $(tail -n 5 "$work/r$i/import.log")"
done
for i in $(seq 1 "$replicas"); do
  wb_at "r$i" serve start --model "$name" > "$work/r$i/serve.log" 2>&1 ||
    die "serving $name on r$i failed: $(tail -n 5 "$work/r$i/serve.log")"
done

# HAProxy in front. The request body is buffered (up to tune.bufsize) so the balancer can read its
# "model"; a request without one (GET /v1/models, /health) goes round robin.
{
  cat <<EOF
global
    # One thread: each request's choice sees every earlier request's end (the bounded-load count
    # is exact); one thread forwards far more requests per second than the replicas can answer.
    nbthread 1
    maxconn 4096
    tune.bufsize 65536
    log stderr format short local0 info

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 600s
    timeout server 600s
    timeout http-request 30s
    timeout queue 30s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout

frontend workbench
    bind $bind:$port
    option http-buffer-request
    default_backend replicas

backend replicas
    option http-buffer-request
    balance hash req.body,json_query('\$.model')
    hash-type consistent
    hash-balance-factor $balance_factor
    option httpchk GET /health
    http-check expect status 200
    default-server check inter 1s fall 2 rise 2
EOF
  for i in $(seq 1 "$replicas"); do echo "    server r$i 127.0.0.1:${ports[$((i - 1))]}"; done
} > "$work/haproxy.cfg"
haproxy -c -q -f "$work/haproxy.cfg" || die "haproxy refused $work/haproxy.cfg"
haproxy -db -f "$work/haproxy.cfg" 2> "$work/haproxy.log" &
haproxy_pid=$!
echo "$haproxy_pid" > "$work/haproxy.pid"
host=$bind
[ "$host" = 0.0.0.0 ] && host=127.0.0.1
for _ in $(seq 1 100); do
  curl -fsS "http://$host:$port/health" >/dev/null 2>&1 && break
  kill -0 "$haproxy_pid" 2>/dev/null || die "haproxy exited: $(tail -n 5 "$work/haproxy.log")"
  sleep 0.1
done

echo "serve-cluster: $replicas replicas of '$name' behind HAProxy"
echo "  base URL:  http://$host:$port/v1   (OpenAI clients: API key = the token in $work/token)"
echo "  adapters:  put PEFT folders in $shared as <name>@<version>/ and send \"model\": \"<name>@<version>\""
for i in $(seq 1 "$replicas"); do
  echo "  replica r$i: 127.0.0.1:${ports[$((i - 1))]}, pid ${pids[$((i - 1))]}, socket $work/r$i/wb.sock, log $work/r$i/workbenchd.log"
done
echo "  haproxy:   pid $haproxy_pid, config $work/haproxy.cfg, log $work/haproxy.log"
echo "serve-cluster: ready (Ctrl-C stops everything)"

# Until Ctrl-C, or until HAProxy exits on its own.
wait "$haproxy_pid" || true
haproxy_pid=""
echo "serve-cluster: haproxy exited: $(tail -n 3 "$work/haproxy.log")" >&2
exit 1
