#!/usr/bin/env bash
# Peak RSS of workbenchd across one large inline dataset import (POST /v1/datasets with "jsonl").
#   bench/import_rss.sh [workbenchd] [megabytes]     defaults: build/bin/workbenchd, 100
# Prints the body size, the daemon's VmHWM before and after the import, and the import's time.
# Needs python3 and curl. Uses a fresh temp data dir; no plugins are loaded.
set -euo pipefail
bin=${1:-build/bin/workbenchd}
mb=${2:-100}
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
python3 - "$tmp/body.json" "$mb" <<'PY'
import json, sys
path, mb = sys.argv[1], int(sys.argv[2])
lines, size, i = [], 0, 0
while size < mb * 1000 * 1000:
    row = {"messages": [{"role": "system", "content": "be brief"},
                        {"role": "user", "content": f"what is {i} + 1? " + "pad " * 20},
                        {"role": "assistant", "content": f"Answer: {i + 1}"}]}
    line = json.dumps(row, separators=(",", ":"))
    lines.append(line)
    size += len(line) + 1
    i += 1
with open(path, "w") as f:
    json.dump({"name": "big", "kind": "sft", "jsonl": "\n".join(lines) + "\n"}, f)
PY
mkdir -p "$tmp/plugins"
printf '[limits]\nmax_body_bytes = %d\n' $((mb * 3 * 1000 * 1000)) > "$tmp/wb.toml"
"$bin" --config "$tmp/wb.toml" --data-dir "$tmp/data" --socket "$tmp/wb.sock" --plugin-dir "$tmp/plugins" \
  --log-level warn 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do [ -S "$tmp/wb.sock" ] && break; sleep 0.1; done
hwm() { awk '/VmHWM/ {print $2 " " $3}' "/proc/$pid/status"; }
echo "body: $(du -m "$tmp/body.json" | cut -f1) MB"
echo "VmHWM before: $(hwm)"
start=$(date +%s.%N)
code=$(curl -s -o "$tmp/out" -w '%{http_code}' --unix-socket "$tmp/wb.sock" -H 'Content-Type: application/json' \
  --data-binary "@$tmp/body.json" http://localhost/v1/datasets)
end=$(date +%s.%N)
echo "import: HTTP $code in $(echo "$end - $start" | bc) s ($(head -c 200 "$tmp/out"))"
echo "VmHWM after:  $(hwm)"
