#!/usr/bin/env bash
# integ-runner for test/integ (the projen tasks integ:snapshot, integ:snapshot:update, integ:deploy;
# docs/integration-testing.md). The app is transpiled only: `npx projen typecheck` checks test/.
#   snapshot  compare the synthesized stacks with the committed snapshot; offline, no AWS account
#   update    rewrite the snapshot without deploying (review the diff before committing it)
#   deploy    deploy to $AWS_REGION (default us-east-1), run the assertions, destroy; needs credentials
set -euo pipefail
cd "$(dirname "$0")/../.."
mode="${1:-}"
shift || true
runner=(npx integ-runner --directory test/integ --language typescript --app 'node -r ts-node/register/transpile-only {filePath}')
case "$mode" in
  snapshot)
    if ! "${runner[@]}" --parallel-regions us-east-1 "$@"; then
      echo "the integration test's snapshot differs from the synthesized stacks (or the app failed to synthesize):" >&2
      echo "  npx projen integ:snapshot:update rewrites it offline; npx projen integ:deploy proves the change in AWS" >&2
      exit 1
    fi
    ;;
  update) "${runner[@]}" --parallel-regions us-east-1 --update-on-failed --dry-run "$@" ;;
  deploy) "${runner[@]}" --parallel-regions "${AWS_REGION:-us-east-1}" --force --no-update-workflow "$@" ;;
  *) echo "usage: test/integ/run.sh snapshot|update|deploy [integ-runner options]" >&2; exit 2 ;;
esac
