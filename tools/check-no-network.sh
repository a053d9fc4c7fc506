#!/usr/bin/env bash
# Fails if any crate that can reach a network is in honnin's dependency tree.
# honnin has no network path by design: models and runtime are loaded from
# local files only, and ONNX Runtime is loaded dynamically (no download feature).
set -euo pipefail
cd "$(dirname "$0")/.."

forbidden='^(ureq|reqwest|hyper|hyper-util|hyper-tls|hyper-rustls|h2|h3|quinn|tokio|async-std|smol|async-io|rustls|native-tls|openssl|openssl-sys|curl|curl-sys|isahc|surf|attohttpc|minreq|socket2|mio|tungstenite|tokio-tungstenite|tonic|axum|actix-web|warp|lettre|ssh2|libssh2-sys|redis|postgres|mysql|rumqttc|paho-mqtt|zmq|nng|trust-dns-resolver|hickory-resolver)$'
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
# And no networking from the standard library in honnin's own sources.
if grep -rnE 'std::net|TcpStream|TcpListener|UdpSocket|std::os::unix::net' src/; then
    echo "networking API used in src/ (above)" >&2
    status=1
else
    echo "no networking API in src/"
fi
exit $status
