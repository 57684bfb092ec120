#!/usr/bin/env bash
# Rebuilds web/vendor/codemirror.js (and its versions and licences) from the packages pinned in
# package.json and package-lock.json. Needs Node.js and the npm registry; `cargo run` does not.
# To upgrade: change the pins in package.json, `npm install`, run this, commit all of it.
#   bash vendor/codemirror/build.sh          rebuild
#   bash vendor/codemirror/build.sh --check  fail if the committed bundle is not what the pins build
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
node build.mjs "$@"
