# Shared by the action's steps.

# Escapes text for a workflow command, where a newline would start another command.
escape_data() {
  local s="$1"
  s="${s//'%'/%25}"
  s="${s//$'\r'/%0D}"
  s="${s//$'\n'/%0A}"
  printf '%s' "$s"
}

# fail CODE MESSAGE: an error annotation, then exit CODE.
fail() {
  echo "::error title=kpush::$(escape_data "$2")"
  exit "$1"
}

# Registers a value GitHub must hide in every later log line.
mask() {
  local line
  while IFS= read -r line; do
    [[ -n "$line" ]] && echo "::add-mask::$(escape_data "$line")"
  done <<<"$1"
}
