# Shared helpers for the kpush test control-plane scripts; sourced, not run.
# shellcheck shell=bash

CP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KPUSH_CACHE_DIR="${KPUSH_CACHE_DIR:-$HOME/.cache/kpush}"
KPUSH_STATE_DIR="${KPUSH_STATE_DIR:-$HOME/.cache/kpush/run}"

# The oldest-supported lane comes from Debian bookworm's source package.
OLD_VERSION=1.20.2
# shellcheck disable=SC2034  # used by build
OLD_DEB_VERSION=1.20.5+really1.20.2-1.1+deb12u1
CURRENT_VERSION="$(tr -d '[:space:]' < "$CP_DIR/k8s/VERSION")"

log() { printf '[kpush-cp] %s\n' "$*" >&2; }
die() { printf '[kpush-cp] error: %s\n' "$*" >&2; exit 1; }

# resolve_version ARG -> prints x.y.z; accepts current, 1.20, 1.20.2 and the
# current release as x.y or x.y.z.
resolve_version() {
  local v="${1:-current}"
  v="${v#v}"
  case "$v" in
    current|"$CURRENT_VERSION"|"${CURRENT_VERSION%.*}") echo "$CURRENT_VERSION" ;;
    1.20|"$OLD_VERSION") echo "$OLD_VERSION" ;;
    *) die "unsupported version '$1' (use current, ${CURRENT_VERSION%.*}, $CURRENT_VERSION, 1.20 or $OLD_VERSION)" ;;
  esac
}

bin_dir() { echo "$KPUSH_CACHE_DIR/k8s-$1"; }
state_dir() { echo "$KPUSH_STATE_DIR/$1"; }

# etcd binary for a version: Debian's 3.4 for 1.20, the etcd that the
# current release's own go.mod pins otherwise.
etcd_bin() {
  if [[ "$1" == "$OLD_VERSION" ]]; then echo /usr/bin/etcd; else echo "$(bin_dir "$1")/etcd"; fi
}

# Built binaries only; the 1.20 lane's etcd is an apt package.
binaries_present() {
  local d; d="$(bin_dir "$1")"
  [[ -x "$d/kube-apiserver" && -x "$d/kube-controller-manager" ]] || return 1
  [[ "$1" == "$OLD_VERSION" || -x "$d/etcd" ]]
}

# Apt is only touched when something is missing, so cached runs stay offline.
ensure_apt() {
  local missing=() cmd pkg
  for pair in "$@"; do
    cmd="${pair%%:*}"; pkg="${pair#*:}"
    if [[ "$cmd" == /* ]]; then [[ -e "$cmd" ]] || missing+=("$pkg")
    else command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg"); fi
  done
  ((${#missing[@]})) || return 0
  log "installing apt packages: ${missing[*]}"
  local sudo=(); ((EUID == 0)) || sudo=(sudo)
  "${sudo[@]}" apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

# Start time of a process in clock ticks since boot (field 22 of stat).
proc_start() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  awk '{print $20}' <<<"$stat"
}

# owned_pid STATE NAME: prints NAME's recorded pid if that very process still
# runs (pid and start time match), so a pid reused later is never signalled.
owned_pid() {
  local pid start now
  [[ -f "$1/$2.pid" ]] && read -r pid start <"$1/$2.pid" || return 1
  pid_alive "$pid" || return 1
  now="$(proc_start "$pid")" || return 1
  [[ "$now" == "$start" ]] || return 1
  echo "$pid"
}

# https GET against the apiserver with the admin token; prints the body.
api_get() {
  local st="$1" path="$2"
  curl -fsS --max-time 5 --cacert "$st/ca.crt" \
    -H "Authorization: Bearer $(cat "$st/admin.token")" \
    "https://127.0.0.1:$(cat "$st/apiserver.port")$path"
}

# Stops one version's processes (whole process groups) and waits for them.
stop_processes() {
  local st="$1" name pid pgid target i
  for name in kube-controller-manager kube-apiserver etcd; do
    if pid="$(owned_pid "$st" "$name")"; then
      # launch makes each process its own group leader; signal the group
      # only if that holds, never a group someone else leads.
      target="$pid"
      pgid="$(ps -o pgid= -p "$pid" | tr -d ' ')"
      [[ "$pgid" == "$pid" ]] && target="-$pid"
      log "stopping $name (pid $pid)"
      kill -TERM -- "$target" 2>/dev/null || true
      for ((i = 0; i < 100; i++)); do
        kill -0 -- "$target" 2>/dev/null || break
        sleep 0.2
      done
      if kill -0 -- "$target" 2>/dev/null; then
        log "$name did not exit after 20s, sending SIGKILL"
        kill -KILL -- "$target" 2>/dev/null || true
        sleep 0.5
      fi
    fi
    rm -f "$st/$name.pid"
  done
}

# One lock per version so parallel test binaries can all call up/down.
take_lock() {
  mkdir -p "$KPUSH_STATE_DIR"
  exec 9>"$KPUSH_STATE_DIR/.$1.lock"
  if ! flock -w 1800 9; then die "timed out waiting for the lock on $1"; fi
}
