# guarded-install attack simulation: safety guard, sourced with `.` (shell
# builtins only, no process). Exits the calling shell with 0 (doing nothing)
# unless installed under node_modules and 203.0.113.45 is a local address of
# this network namespace (only the simulation runner's namespace has that).
sim_ok=no
case "$PWD" in
  */node_modules/*)
    if [ -r /proc/net/fib_trie ]; then
      prev=
      while IFS= read -r line; do
        case "$prev" in *"-- 203.0.113.45") case "$line" in *"host LOCAL"*) sim_ok=yes ;; esac ;; esac
        prev=$line
      done < /proc/net/fib_trie
    fi
    ;;
esac
if [ "$sim_ok" != yes ]; then
  echo "[sim] not installed under node_modules inside a simulation namespace: doing nothing" >&2
  exit 0
fi
