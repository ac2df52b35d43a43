#!/usr/bin/env bash
# comment.sh PLAN.md: posts the plan on the pull request as one comment per app and
# environment, found again by a hidden marker and edited in place on every push. A plan over
# GitHub's 65,536-character limit becomes numbered parts; parts no longer needed are deleted.
# Uses the gh CLI that GitHub's runners ship (GH_TOKEN authenticates it).
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
source "$here/lib.sh"

plan="$1"
repo="${GITHUB_REPOSITORY:?GITHUB_REPOSITORY is not set}"
event="${GITHUB_EVENT_PATH:?GITHUB_EVENT_PATH is not set}"
pr="$(jq -r '.pull_request.number // empty' "$event")"
[[ "$pr" =~ ^[0-9]+$ ]] || fail 1 "the event has no pull request number"

# One comment thread per app, environment and path; characters that could end the HTML
# comment or the jq string are left out.
key="app=${INPUT_APP:-*} env=${INPUT_ENV:-*} path=${INPUT_PATH:-.}"
key="$(printf '%s' "$key" | tr -cd 'A-Za-z0-9._/=*@ -')"
prefix="<!-- kpush-comment $key part="
# Room under GitHub's limit for the marker and the footer.
limit=60000

parts_dir="$(mktemp -d)"
trap 'rm -rf "$parts_dir"' EXIT
# Split at line ends; bytes are counted, which is never less than GitHub's characters.
LC_ALL=C awk -v limit="$limit" -v dir="$parts_dir" '
  function flush() { if (buf != "") { n++; printf "%s", buf > (dir "/" n); close(dir "/" n); buf = "" } }
  { line = $0 "\n"; if (length(buf) + length(line) > limit) flush()
    while (length(line) > limit) { buf = substr(line, 1, limit); flush(); line = substr(line, limit + 1) }
    buf = buf line }
  END { flush() }
' "$plan"
total="$(find "$parts_dir" -type f | wc -l)"
((total > 0)) || exit 0

sha="${GITHUB_SHA:-}"
run_url="${GITHUB_SERVER_URL:-https://github.com}/$repo/actions/runs/${GITHUB_RUN_ID:-}"

# Existing parts: "ID PART" per line.
declare -A existing=()
while read -r id first; do
  [[ "$first" =~ part=([0-9]+) ]] && existing[${BASH_REMATCH[1]}]="$id"
done < <(gh api --paginate "repos/$repo/issues/$pr/comments" \
  --jq ".[] | select(.body | startswith(\"$prefix\")) | \"\\(.id) \\(.body | split(\"\\n\")[0])\"")

for ((i = 1; i <= total; i++)); do
  body="$parts_dir/body-$i"
  {
    printf '%s%d -->\n' "$prefix" "$i"
    ((total > 1)) && printf '_Part %d of %d._\n\n' "$i" "$total"
    cat "$parts_dir/$i"
    printf '\n<sub>kpush, commit %s, [run](%s)</sub>\n' "${sha:0:7}" "$run_url"
  } >"$body"
  if [[ -n "${existing[$i]:-}" ]]; then
    gh api --method PATCH "repos/$repo/issues/comments/${existing[$i]}" -F "body=@$body" >/dev/null
    echo "updated pull-request comment ${existing[$i]} (part $i of $total)"
  else
    gh api --method POST "repos/$repo/issues/$pr/comments" -F "body=@$body" >/dev/null
    echo "commented on pull request #$pr (part $i of $total)"
  fi
done
for part in "${!existing[@]}"; do
  if ((part > total)); then
    gh api --method DELETE "repos/$repo/issues/comments/${existing[$part]}" >/dev/null
    echo "deleted pull-request comment ${existing[$part]} (part $part is no longer needed)"
  fi
done
