#!/bin/sh
# guarded-install lifecycle-script shell. npm runs every lifecycle script as
#   <this file> -c '<script>'
# We record who the script belongs to (from npm's environment), then run it in
# the user's shell under the tracer. `strace -DD` makes the tracer a detached
# grandchild, so this process becomes the script's shell itself: npm gets the
# script's own exit status when it ends, while detached descendants stay traced.

user_shell=${GUARDED_INSTALL_USER_SHELL:-/bin/sh}
run_dir=$GUARDED_INSTALL_RUN_DIR

# Outside a supervised install: behave like the plain shell.
if [ -z "$run_dir" ] || [ ! -d "$run_dir" ]; then exec "$user_shell" "$@"; fi

# Already inside a traced script (a nested `npm run`): the outer tracer sees us.
if [ "$GUARDED_INSTALL_SHIM_TRACER" = strace ] && [ -r /proc/self/status ]; then
  while read -r key value; do
    if [ "$key" = "TracerPid:" ]; then
      [ "$value" != 0 ] && exec "$user_shell" "$@"
      break
    fi
  done < /proc/self/status
fi

# Reserve a unique id (a pid can be reused within one long install).
id=$$
n=0
while ! (set -C; : > "$run_dir/$id.meta") 2>/dev/null; do
  n=$((n + 1))
  id="$$-$n"
  if [ "$n" -gt 100 ]; then
    echo "guarded-install: cannot record lifecycle script in $run_dir; refusing to run it unobserved" >&2
    exit 126
  fi
done

command=
[ "$1" = "-c" ] && command=$2

# Evidence: copy package.json and the files the command names (install.js,
# scripts/postinstall, ...) before the script can erase them.
if [ "$GUARDED_INSTALL_EVIDENCE" = 1 ] && mkdir -p "$run_dir/evidence/$id" 2>/dev/null; then
  files=
  [ -f package.json ] && files=package.json
  set -f
  for t in $(printf '%s\n' "$command" | tr -cs 'A-Za-z0-9_./@-' ' '); do
    case "$t" in -* | /* | *..* | .) continue ;; esac
    for f in "$t" "$t.js" "$t.cjs" "$t.mjs" "$t/index.js"; do
      [ -f "$f" ] && files="$files $f"
    done
  done
  # shellcheck disable=SC2086
  [ -n "$files" ] && tar cf - $files 2>/dev/null | (cd "$run_dir/evidence/$id" && tar xf - 2>/dev/null)
  set +f
fi

# Our identity record, written only now: the proc tracer starts following this
# process's tree when it appears, and the evidence copy above is our own work.
printf '%s\0' "pid=$$" "name=$npm_package_name" "version=$npm_package_version" \
  "event=$npm_lifecycle_event" "json=$npm_package_json" "cwd=$PWD" \
  "shell=$user_shell" "command=$command" > "$run_dir/$id.meta"

# Who we are, for the proc tracer (it reads /proc/<pid>/environ of processes
# that left the script's tree) and for the Node preload (it names its records).
export GUARDED_INSTALL_SCRIPT_ID="$id"
# The Node preload reports child_process, net, dns and fs calls of the script's
# node processes; NODE_OPTIONS is set here, after npm applied its node-options,
# so it reaches lifecycle scripts only and keeps the user's options.
case "$GUARDED_INSTALL_PRELOAD" in
  '' | *'"'* | *'\'*) ;;
  *)
    if [ -r "$GUARDED_INSTALL_PRELOAD" ]; then
      NODE_OPTIONS="--require \"$GUARDED_INSTALL_PRELOAD\"${NODE_OPTIONS:+ $NODE_OPTIONS}"
      export NODE_OPTIONS
    fi
    ;;
esac

case "$GUARDED_INSTALL_SHIM_TRACER" in
  strace)
    set -f # the syscall list holds '?', which must not glob
    # shellcheck disable=SC2086
    exec "$GUARDED_INSTALL_STRACE" $GUARDED_INSTALL_STRACE_ARGS -o "$run_dir/$id.trace" -- "$user_shell" "$@"
    ;;
  *)
    # proc tracer (it polls this process's tree) or none: record start and end,
    # so the report names every script and its exit code.
    exec 3<&0
    "$user_shell" "$@" <&3 3<&- &
    child=$!
    trap 'kill -TERM $child 2>/dev/null' TERM
    trap 'kill -INT $child 2>/dev/null' INT
    trap 'kill -HUP $child 2>/dev/null' HUP
    wait $child
    code=$?
    while kill -0 $child 2>/dev/null; do
      wait $child
      code=$?
    done
    printf '%s\0' "code=$code" > "$run_dir/$id.end"
    exit $code
    ;;
esac
