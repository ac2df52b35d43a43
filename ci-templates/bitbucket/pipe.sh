#!/bin/sh
# Entrypoint of the kpush Bitbucket pipe (the Dockerfile's bitbucket-pipe
# target): turns the pipe's variables (pipe.yml) into one kpush run and exits
# with kpush's exit code. Each variable becomes one argument; only EXTRA_ARGS
# is split, on whitespace and without globbing. Nothing is eval'd.
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

if [ -n "${EXTRA_ARGS:-}" ]; then
  unset IFS
  set -f
  # shellcheck disable=SC2086 # split on whitespace, as documented
  set -- "$@" $EXTRA_ARGS
  set +f
fi

printf 'kpush'
printf ' %s' "$@"
printf '\n'
status=0
kpush "$@" || status=$?
exit "$status"
