#!/bin/sh
# Entrypoint of the kpush Bitbucket pipe (the Dockerfile's bitbucket-pipe
# target): turns the pipe's variables (pipe.yml) into one kpush run and exits
# with kpush's exit code. Each variable becomes one argument; only EXTRA_ARGS
# is split, on whitespace and without globbing. Nothing is eval'd. The
# variables kpush reads itself (KPUSH_CHART_USERNAME and KPUSH_CHART_PASSWORD,
# the chart credentials) reach it unchanged from the pipe's environment.
# POSIX sh: the image has busybox, not bash.
set -eu

fail() {
  printf 'kpush pipe: %s\n' "$*" >&2
  exit 3 # kpush's "invalid input, nothing written"
}
is_true() { case "$1" in true | True | TRUE | yes | 1) return 0 ;; *) return 1 ;; esac; }

# Bitbucket passes a list variable as NAME_COUNT and NAME_0...; these two are strings.
[ -z "${EXTRA_ARGS_COUNT:-}" ] || fail "EXTRA_ARGS must be one string of arguments separated by spaces, not a list"
[ -z "${IMAGES_COUNT:-}" ] || fail "IMAGES must be one string of REPO:TAG separated by commas or newlines, not a list"

command=${COMMAND:-diff}
case $command in
  diff | apply | rollback | delete) ;;
  *) fail "COMMAND must be diff, apply, rollback or delete, not '$command'" ;;
esac

# Relative paths (APP_PATH, CONFIG, a KUBECONFIG file, REPORT_DIR) are in the clone.
cd "${BITBUCKET_CLONE_DIR:-.}"

# The clone may belong to another user than the pipe's.
set -- "$command" --trust-repo-owner
if [ -n "${APP_PATH:-}" ]; then
  case $APP_PATH in -*) fail "APP_PATH must not start with '-': $APP_PATH" ;; esac
  set -- "$@" "$APP_PATH"
fi
# --flag=VALUE keeps a value that starts with '-' a value.
[ -z "${APP:-}" ] || set -- "$@" "--app=$APP"
[ -z "${ENV:-}" ] || set -- "$@" "--env=$ENV"
[ -z "${CONFIG:-}" ] || set -- "$@" "--config=$CONFIG"
[ -z "${CONTEXT:-}" ] || set -- "$@" "--context=$CONTEXT"
[ -z "${NAMESPACE:-}" ] || set -- "$@" "--namespace=$NAMESPACE"
[ -z "${OUTPUT:-}" ] || set -- "$@" "--output=$OUTPUT"
if is_true "${PRUNE:-false}"; then
  # delete removes every object of the app anyway.
  [ "$command" != delete ] || fail "PRUNE applies to diff, apply and rollback only"
  set -- "$@" --prune
fi
! is_true "${DEBUG:-false}" || set -- "$@" -v

if [ "$command" = diff ]; then
  ! is_true "${DRY_RUN:-false}" || fail "DRY_RUN applies to apply, rollback and delete only"
  ! is_true "${ATOMIC:-false}" || fail "ATOMIC applies to apply and rollback only"
  [ -z "${TIMEOUT:-}" ] || fail "TIMEOUT applies to apply, rollback and delete only"
else
  ! is_true "${DRY_RUN:-false}" || set -- "$@" --dry-run
  if is_true "${ATOMIC:-false}"; then
    # delete has no earlier revision to go back to.
    [ "$command" != delete ] || fail "ATOMIC applies to apply and rollback only"
    set -- "$@" --atomic
  fi
  [ -z "${TIMEOUT:-}" ] || set -- "$@" "--timeout=$TIMEOUT"
fi

# The plan a diff saves for approval, and its application in a later step.
if [ -n "${SAVE_PLAN:-}" ]; then
  [ "$command" = diff ] || fail "SAVE_PLAN applies to diff only"
  set -- "$@" "--save-plan=$SAVE_PLAN"
fi
if [ -n "${PLAN:-}" ]; then
  [ "$command" = apply ] || fail "PLAN applies to apply only"
  set -- "$@" "--plan=$PLAN"
fi

# kpush splits KPUSH_IMAGES on commas and newlines itself.
if [ -n "${IMAGES:-}" ]; then
  KPUSH_IMAGES=$IMAGES
  export KPUSH_IMAGES
fi

report_dir=${REPORT_DIR-kpush-reports}
if [ -n "$report_dir" ]; then
  mkdir -p "$report_dir"
  set -- "$@" \
    "--report-to=json:$report_dir/kpush.json" \
    "--report-to=markdown:$report_dir/kpush.md" \
    "--report-to=dotenv:$report_dir/kpush.env"
fi

# KUBECONFIG: a file in the clone, a kubeconfig, or a kubeconfig in base64
# (secured variables are easiest to paste as one line).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -n "${KUBECONFIG:-}" ]; then
  if [ -f "$KUBECONFIG" ]; then
    kubeconfig=$KUBECONFIG
  else
    kubeconfig=$tmp/kubeconfig
    (umask 077 && : >"$kubeconfig")
    case $KUBECONFIG in
      *apiVersion* | *clusters:*) printf '%s\n' "$KUBECONFIG" >"$kubeconfig" ;;
      *) printf '%s' "$KUBECONFIG" | base64 -d >"$kubeconfig" 2>/dev/null ||
        fail "KUBECONFIG is neither a file, a kubeconfig, nor a base64-encoded kubeconfig" ;;
    esac
  fi
  set -- "$@" "--kubeconfig=$kubeconfig"
fi

# A pull-request pipeline's diff without a kubeconfig compares the destination
# branch's commit with the commit checked out (the destination merged into the
# source), from git alone, instead of failing for want of credentials. A plan
# to save is the cluster's: kpush says what it lacks.
if [ "$command" = diff ] && [ -z "${KUBECONFIG:-}" ] && [ -z "${SAVE_PLAN:-}" ] &&
  [ -n "${BITBUCKET_PR_DESTINATION_COMMIT:-}" ]; then
  case " ${EXTRA_ARGS:-} " in
    *" --from"* | *" --kubeconfig"*) ;;
    *) set -- "$@" "--from=$BITBUCKET_PR_DESTINATION_COMMIT" --to=HEAD ;;
  esac
fi

if [ -n "${EXTRA_ARGS:-}" ]; then
  unset IFS
  set -f
  # shellcheck disable=SC2086 # split on whitespace, as documented
  set -- "$@" $EXTRA_ARGS
  set +f
fi

# A clone of Bitbucket's default depth (50 commits) may lack a commit the run
# reads: diff's --from and --to, rollback's --to. Each one given as a full SHA
# that is not in the clone is fetched first, when the image has git. Other
# revisions and a failed fetch are left to kpush, whose error names the
# revision and how to get it. The clone may belong to another user.
fetch_missing() {
  case $1 in *[!0-9a-f]*) return 0 ;; esac
  [ ${#1} -eq 40 ] || [ ${#1} -eq 64 ] || return 0
  if ! command -v git >/dev/null 2>&1; then
    printf 'kpush pipe: no git in the image to fetch commit %s if the clone lacks it\n' "$1" >&2
    return 0
  fi
  git -c safe.directory='*' cat-file -e "$1^{commit}" 2>/dev/null && return 0
  printf 'kpush pipe: commit %s is not in the clone: git fetch --depth=1 origin %s\n' "$1" "$1" >&2
  git -c safe.directory='*' fetch --quiet --no-tags --depth=1 origin "$1" >&2 ||
    printf 'kpush pipe: warning: could not fetch commit %s\n' "$1" >&2
}
value_of=
for arg in "$@"; do
  if [ -n "$value_of" ]; then
    fetch_missing "$arg"
    value_of=
    continue
  fi
  case $command:$arg in
    diff:--from | diff:--to | rollback:--to) value_of=1 ;;
    diff:--from=* | diff:--to=* | rollback:--to=*) fetch_missing "${arg#*=}" ;;
  esac
done

printf 'kpush'
printf ' %s' "$@"
printf '\n'
status=0
kpush "$@" || status=$?
# Names the plan saved or applied by digest, to match the one approved.
plan=${SAVE_PLAN:-${PLAN:-}}
if [ -n "$plan" ] && [ -f "$plan" ] && command -v sha256sum >/dev/null 2>&1; then
  printf 'kpush pipe: plan %s, sha256 %s (%s exit code %s)\n' "$plan" \
    "$(sha256sum "$plan" | cut -d' ' -f1)" "$command" "$status"
fi
exit "$status"
