#!/usr/bin/env bash
# Runs `cruddur-infra COMMAND --output markdown` for one env, writes the report to the job
# summary and, on a pull request, creates or updates the one comment that starts with the
# report's marker (gh api). Exit: the command's, except that changes in a plan (2) pass unless
# FAIL_ON_CHANGES is true; drift and status fail on 2 unless it is false.
#   COMMAND          plan | drift | status
#   ENV              the spec's env (empty: its default)
#   SPEC             the spec file (default infra.yaml)
#   BIN              the cruddur-infra binary (default: on PATH)
#   COMMENT          true: comment on the pull request (default true)
#   PR_NUMBER        the pull request (empty: no comment)
#   GITHUB_REPOSITORY, GH_TOKEN   for gh
#   FAIL_ON_CHANGES  auto | true | false
set -uo pipefail
COMMAND=${COMMAND:?plan, drift or status}
SPEC=${SPEC:-infra.yaml}
BIN=${BIN:-cruddur-infra}
COMMENT=${COMMENT:-true}
PR_NUMBER=${PR_NUMBER:-}
FAIL_ON_CHANGES=${FAIL_ON_CHANGES:-auto}
OUT=${OUT:-${RUNNER_TEMP:-/tmp}/cruddur-infra-$COMMAND.md}

case "$COMMAND" in
  plan) extra=(--detailed-exitcode) ;;
  drift | status) extra=() ;;
  *) echo "cruddur-infra action: command must be plan, drift or status, not '$COMMAND'" >&2; exit 1 ;;
esac
args=(-f "$SPEC")
[ -n "${ENV:-}" ] && args+=(--env "$ENV")
# ${a[@]+"${a[@]}"}: an empty array under set -u in bash 3.2 (macOS runners).
"$BIN" "${args[@]}" "$COMMAND" --output markdown ${extra[@]+"${extra[@]}"} >"$OUT"
code=$?
echo "exit-code=$code" >>"${GITHUB_OUTPUT:-/dev/null}"
echo "markdown=$OUT" >>"${GITHUB_OUTPUT:-/dev/null}"
if [ "$code" -eq 1 ] || [ ! -s "$OUT" ]; then
  # No report: the error is on stderr already; a comment would say nothing.
  exit 1
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat "$OUT" >>"$GITHUB_STEP_SUMMARY"; fi

if [ "$COMMENT" = true ] && [ -n "$PR_NUMBER" ]; then
  marker=$(head -n 1 "$OUT")
  case "$marker" in "<!-- cruddur-infra:"*) ;; *) echo "cruddur-infra action: the report has no marker line" >&2; exit 1 ;; esac
  # Every comment's id and first line; the first whose first line is this marker is ours (awk
  # reads to the end: exiting early would break gh's pipe while it still pages).
  # A comment that cannot be written (a fork's read-only token) is a warning: the report is in
  # the job summary.
  if ! listed=$(gh api --paginate "repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments" \
         --jq '.[] | [(.id | tostring), (.body | split("\n") | .[0])] | @tsv'); then
    echo "::warning::cruddur-infra: could not list the pull request's comments; the report is in the job summary"
  else
    id=$(printf '%s\n' "$listed" | awk -F'\t' -v m="$marker" '!found && $2 == m { print $1; found = 1 }')
    if [ -n "$id" ]; then
      if gh api -X PATCH "repos/$GITHUB_REPOSITORY/issues/comments/$id" -F "body=@$OUT" >/dev/null; then
        echo "cruddur-infra action: updated comment $id" >&2
      else
        echo "::warning::cruddur-infra: could not update comment $id; the report is in the job summary"
      fi
    elif gh api -X POST "repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments" -F "body=@$OUT" >/dev/null; then
      echo "cruddur-infra action: commented on #$PR_NUMBER" >&2
    else
      echo "::warning::cruddur-infra: could not comment on #$PR_NUMBER (a fork's token is read-only); the report is in the job summary"
    fi
  fi
fi

if [ "$code" -eq 2 ]; then
  case "$FAIL_ON_CHANGES/$COMMAND" in
    true/* | auto/drift | auto/status) exit 2 ;;
    *) exit 0 ;;
  esac
fi
exit "$code"
