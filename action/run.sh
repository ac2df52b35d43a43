#!/usr/bin/env bash
# The action's main step: maps the inputs (INPUT_* variables, never spliced into shell text)
# to one kpush invocation, sets the step outputs, and optionally comments on the pull request.
# kpush itself writes the step summary, the ::group:: sections and the ::error annotations.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
source "$here/lib.sh"

is_true() { [[ "${1,,}" == true ]]; }

command="${INPUT_COMMAND:-diff}"
case "$command" in
  diff | apply | rollback | delete) ;;
  *) fail 3 "the command input must be diff, apply, rollback or delete, not '$command'" ;;
esac

work="${RUNNER_TEMP:-$(mktemp -d)}/kpush-$$"
mkdir -p "$work"
chmod 700 "$work"

args=("$command")
[[ -n "${INPUT_PATH:-}" ]] && args+=("$INPUT_PATH")
[[ -n "${INPUT_APP:-}" ]] && args+=(--app "$INPUT_APP")
[[ -n "${INPUT_ENV:-}" ]] && args+=(--env "$INPUT_ENV")
[[ -n "${INPUT_CONFIG:-}" ]] && args+=(--config "$INPUT_CONFIG")
[[ -n "${INPUT_CONTEXT:-}" ]] && args+=(--context "$INPUT_CONTEXT")
[[ -n "${INPUT_NAMESPACE:-}" ]] && args+=(-n "$INPUT_NAMESPACE")

kubeconfig="${INPUT_KUBECONFIG:-}"
if [[ -n "$kubeconfig" ]]; then
  if [[ "$kubeconfig" != *$'\n'* && -f "$kubeconfig" ]]; then
    args+=(--kubeconfig "$kubeconfig")
  else
    # Content: hide each credential in it before anything is logged. (Not every line: that
    # would hide `kind: Config` and the like everywhere in the log, diffs included.)
    if [[ "$kubeconfig" != *apiVersion* && "$kubeconfig" != *clusters* ]]; then
      mask "$kubeconfig"
      decoded="$(printf '%s' "$kubeconfig" | base64 -d 2>/dev/null)" \
        || fail 3 "the kubeconfig input is neither a file, nor kubeconfig YAML, nor base64 of it"
      kubeconfig="$decoded"
    fi
    while IFS= read -r secret; do
      mask "$secret"
    done < <(printf '%s\n' "$kubeconfig" \
      | sed -nE 's/^[[:space:]-]*(token|password|client-key-data|client-certificate-data|id-token|refresh-token|client-secret)[[:space:]]*:[[:space:]]*"?([^"]*)"?[[:space:]]*$/\2/p')
    (umask 077 && printf '%s\n' "$kubeconfig" >"$work/kubeconfig")
    args+=(--kubeconfig "$work/kubeconfig")
  fi
fi

if [[ -n "${INPUT_IMAGES:-}" ]]; then
  while IFS= read -r image; do
    image="${image#"${image%%[![:space:]]*}"}"
    image="${image%"${image##*[![:space:]]}"}"
    [[ -n "$image" ]] && args+=(--image "$image")
  done < <(printf '%s\n' "$INPUT_IMAGES" | tr ',' '\n')
fi

case "$command" in
  diff)
    if [[ -n "${INPUT_FROM:-}" ]]; then
      args+=(--from "$INPUT_FROM" --to "${INPUT_TO:-HEAD}")
    elif [[ -n "${INPUT_TO:-}" ]]; then
      fail 3 "the to input of diff needs from: the revision to compare it with"
    fi
    ;;
  rollback)
    [[ -z "${INPUT_FROM:-}" ]] || fail 3 "the from input applies to diff only"
    [[ -n "${INPUT_TO:-}" ]] && args+=(--to "$INPUT_TO")
    ;;
  *) [[ -z "${INPUT_FROM:-}${INPUT_TO:-}" ]] || fail 3 "the from and to inputs apply to diff (and to to rollback), not to $command" ;;
esac

# The plan a diff saves for approval, and its application once approved.
if [[ -n "${INPUT_SAVE_PLAN:-}" ]]; then
  [[ "$command" == diff ]] || fail 3 "the save-plan input applies to diff only, not to $command"
  args+=(--save-plan "$INPUT_SAVE_PLAN")
fi
if [[ -n "${INPUT_PLAN:-}" ]]; then
  [[ "$command" == apply ]] || fail 3 "the plan input applies to apply only, not to $command"
  args+=(--plan "$INPUT_PLAN")
fi

if [[ "$command" != diff ]]; then
  is_true "${INPUT_DRY_RUN:-false}" && args+=(--dry-run)
  # delete has no earlier revision to go back to.
  [[ "$command" != delete ]] && is_true "${INPUT_ATOMIC:-false}" && args+=(--atomic)
  [[ -n "${INPUT_TIMEOUT:-}" ]] && args+=(--timeout "$INPUT_TIMEOUT")
fi
# delete removes every object of the app anyway.
[[ "$command" != delete ]] && is_true "${INPUT_PRUNE:-false}" && args+=(--prune)

if [[ -n "${INPUT_EXTRA_ARGS:-}" ]]; then
  # Whitespace splitting only: no quotes, no globs, no expansions.
  read -r -d '' -a extra <<<"$INPUT_EXTRA_ARGS" || true
  args+=("${extra[@]}")
fi

# A shallow checkout (actions/checkout fetches one commit by default) lacks the commits a
# commit-to-commit diff compares (--from, --to) and the commit a rollback goes back to
# (--to): fetch each one given as a full SHA that is not here, with the checkout's own
# credentials. Other revisions (branches, tags, EMPTY) and a failed fetch are left to kpush,
# whose error names the revision and how to fetch it.
wanted=()
repo_dir=.
for ((i = 0; i < ${#args[@]}; i++)); do
  case "$command:${args[i]}" in
    diff:--from | diff:--to | rollback:--to) wanted+=("${args[i + 1]:-}") ;;
    diff:--from=* | diff:--to=* | rollback:--to=*) wanted+=("${args[i]#*=}") ;;
    *:--repo) repo_dir="${args[i + 1]:-.}" ;;
    *:--repo=*) repo_dir="${args[i]#*=}" ;;
  esac
done
for sha in "${wanted[@]}"; do
  [[ "$sha" =~ ^([0-9a-f]{40}|[0-9a-f]{64})$ ]] || continue
  git -C "$repo_dir" cat-file -e "$sha^{commit}" 2>/dev/null && continue
  echo "commit $sha is not in the checkout: git fetch --depth=1 origin $sha"
  git -C "$repo_dir" fetch --quiet --no-tags --depth=1 origin "$sha" \
    || echo "::warning title=kpush::could not fetch commit $sha; kpush will say what is missing (a private repository checked out with persist-credentials: false cannot fetch: fetch the commit before this step, or check out with fetch-depth: 0)"
done

# A deploy checks that its commit is not older than the one deployed last, which needs the
# history: a shallow checkout is deepened first (kpush refuses to deploy when it cannot tell).
if [[ "$command" == apply ]] \
  && [[ "$(git -C "$repo_dir" rev-parse --is-shallow-repository 2>/dev/null || true)" == true ]]; then
  echo "the checkout is shallow: git fetch --unshallow origin, so that kpush can check the deployed commit's history"
  git -C "$repo_dir" fetch --quiet --no-tags --unshallow origin \
    || echo "::warning title=kpush::could not fetch the history; kpush will refuse to deploy if it cannot tell whether this commit is older than the one deployed last (check out with fetch-depth: 0)"
fi

plan_json="$work/plan.json"
plan_md="$work/plan.md"
plan_env="$work/plan.env"
args+=(--report-to "json:$plan_json" --report-to "markdown:$plan_md" --report-to "dotenv:$plan_env")

[[ -n "${INPUT_GITHUB_TOKEN:-}" ]] && mask "$INPUT_GITHUB_TOKEN"

set +e
kpush "${args[@]}"
code=$?
set -e

outputs="${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}"
if [[ -f "$plan_env" ]]; then
  while IFS='=' read -r key value; do
    case "$key" in
      KPUSH_CHANGES) echo "changes=$value" ;;
      KPUSH_TO_CREATE) echo "to-create=$value" ;;
      KPUSH_TO_UPDATE) echo "to-update=$value" ;;
      KPUSH_TO_PRUNE) echo "to-prune=$value" ;;
      KPUSH_REVISION) echo "revision=$value" ;;
    esac
  done <"$plan_env" >>"$outputs"
fi
[[ -f "$plan_json" ]] && echo "plan-json=$plan_json" >>"$outputs"
[[ -f "$plan_md" ]] && echo "plan-markdown=$plan_md" >>"$outputs"
echo "exit-code=$code" >>"$outputs"

# Names the plan in the step summary by commit and digest, so that what was approved and
# what was applied can be matched.
plan_file="${INPUT_SAVE_PLAN:-${INPUT_PLAN:-}}"
if [[ -n "$plan_file" && -f "$plan_file" ]] && [[ -z "${INPUT_SAVE_PLAN:-}" || "$code" == 0 || "$code" == 2 ]]; then
  plan_sha256="$(sha256sum "$plan_file" | cut -d' ' -f1)"
  plan_commit="$(grep -oE '"commit" *: *"[0-9a-f]+"' "$plan_file" | head -n 1 | grep -oE '[0-9a-f]{7,}' || true)"
  echo "plan-sha256=$plan_sha256" >>"$outputs"
  named="plan \`${plan_file##*/}\` of commit \`${plan_commit:-unknown}\` (sha256 \`$plan_sha256\`)"
  if [[ -n "${INPUT_SAVE_PLAN:-}" ]]; then
    line="Saved $named: \`kpush apply --plan\` applies exactly this, or nothing."
  elif [[ "$code" == 0 ]]; then
    line="Applied $named."
  elif [[ "$code" == 3 ]]; then
    line="Did not apply $named: exit code 3, nothing was written."
  else
    line="The apply of $named ended with exit code $code."
  fi
  echo "$line"
  [[ -z "${GITHUB_STEP_SUMMARY:-}" ]] || printf '\n%s\n' "$line" >>"$GITHUB_STEP_SUMMARY"
fi

if is_true "${INPUT_COMMENT_ON_PR:-false}"; then
  case "${GITHUB_EVENT_NAME:-}" in
    pull_request | pull_request_target)
      if [[ -s "$plan_md" ]]; then
        GH_TOKEN="${INPUT_GITHUB_TOKEN:-${GH_TOKEN:-}}" "$here/comment.sh" "$plan_md" \
          || echo "::warning title=kpush::could not comment on the pull request (the plan is in the step summary)"
      fi
      ;;
    *) echo "comment-on-pr: not a pull_request event (${GITHUB_EVENT_NAME:-none}); no comment" ;;
  esac
fi

exit "$code"
