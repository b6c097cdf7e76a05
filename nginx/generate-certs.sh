#!/usr/bin/env bash
# Write a self-signed TLS certificate for local/development use of the nginx edge proxy.
#
#   nginx/generate-certs.sh [--force] [DIR]
#
# DIR defaults to nginx/certs/ next to this script (git-ignored; mounted by docker-compose.yml).
# Files: server.crt (EC P-256, SAN localhost, 127.0.0.1, ::1) and server.key (mode 600).
# Existing files are never overwritten unless --force is given. For production, put a real
# certificate chain and key in DIR under the same names instead.
set -euo pipefail

usage() {
    sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

force=0
dir=""
while (($#)); do
    case "$1" in
        --force) force=1 ;;
        -h | --help)
            usage
            exit 0
            ;;
        -*)
            echo "generate-certs.sh: unknown option: $1" >&2
            usage >&2
            exit 2
            ;;
        *)
            if [[ -n "$dir" ]]; then
                echo "generate-certs.sh: only one directory argument is accepted" >&2
                exit 2
            fi
            dir="$1"
            ;;
    esac
    shift
done

if [[ -z "$dir" ]]; then
    dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/certs"
fi

if ! command -v openssl >/dev/null 2>&1; then
    echo "generate-certs.sh: openssl is required (e.g. apt-get install openssl)" >&2
    exit 1
fi

crt="$dir/server.crt"
key="$dir/server.key"

if ((!force)) && [[ -e "$crt" || -e "$key" ]]; then
    echo "generate-certs.sh: $crt or $key already exists; refusing to overwrite (use --force)" >&2
    exit 1
fi

mkdir -p "$dir"
umask 077
tmp="$(mktemp -d "$dir/.generate-certs.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

openssl req -x509 -nodes -sha256 -days 365 \
    -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout "$tmp/server.key" -out "$tmp/server.crt" \
    -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
    -addext "basicConstraints=critical,CA:FALSE" \
    -addext "keyUsage=critical,digitalSignature" \
    -addext "extendedKeyUsage=serverAuth" \
    2>"$tmp/openssl.log" || {
    cat "$tmp/openssl.log" >&2
    exit 1
}

chmod 600 "$tmp/server.key"
chmod 644 "$tmp/server.crt"
mv -f "$tmp/server.key" "$key"
mv -f "$tmp/server.crt" "$crt"

echo "Wrote $crt and $key (self-signed, valid 365 days; for development only)."
