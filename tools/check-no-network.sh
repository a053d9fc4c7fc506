#!/usr/bin/env bash
# Fails if any crate that can reach a network is in honnin's dependency tree.
# honnin has no network path by design: models and runtime are loaded from
# local files only, and ONNX Runtime is loaded dynamically (no download feature).
set -euo pipefail
cd "$(dirname "$0")/.."

forbidden='^(ureq|reqwest|hyper|hyper-util|h2|tokio|async-std|rustls|native-tls|openssl|openssl-sys|curl|curl-sys|isahc|surf|attohttpc|minreq|socket2|mio)$'
status=0
for features in "" "--all-features"; do
    # Normal (non-dev, non-build) edges: what ships in the library and the CLI.
    crates=$(cargo tree -e normal --prefix none --format '{p}' $features | awk '{print $1}' | sort -u)
    hits=$(echo "$crates" | grep -E "$forbidden" || true)
    if [ -n "$hits" ]; then
        echo "networking crates in the dependency tree (${features:-default features}):" >&2
        echo "$hits" >&2
        status=1
    else
        echo "no networking crate among $(echo "$crates" | wc -l) crates (${features:-default features})"
    fi
done
exit $status
