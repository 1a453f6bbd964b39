#!/usr/bin/env bash
# The bash trap loop a user would write instead of flagstaff, run by the
# harness as `bash bench/_trap_loop.sh MODE ...`.
#
#   signal DELAY_S            on USR2: print "S <ms>", sleep DELAY_S, print "E <ms>"
#   tick INTERVAL_S BUSY_US   every INTERVAL_S: print "T <ms>", busy-wait BUSY_US
#
# <ms> is wall-clock milliseconds from $EPOCHREALTIME (bash 5: a builtin read of
# the realtime clock, microsecond resolution; no fork, unlike `date +%s.%N`).
#
# The idiom: bash runs a trap only between commands, so a plain `sleep 1` in the
# loop would hold a signal back until the sleep ends. `sleep N & wait $!` makes
# the `wait` builtin the command bash is in; a trapped signal interrupts `wait`
# at once, the trap runs, and the script goes on. Here it waits again until the
# sleep has ended, so signals neither cut the interval short nor fork a new
# sleep each. The sleep's output goes to /dev/null so that a sleep outliving the
# script never holds the harness's pipe open.
#
# Like any trap loop, the schedule is "work, then sleep INTERVAL": each tick
# comes INTERVAL plus the work, the stamp and a fork/exec of sleep after the
# previous one. A signal that arrives while its trap runs is held by bash and
# runs the trap once more afterwards.

set -u

stamp() { # prints "$1 <ms>" without forking
  local t=${EPOCHREALTIME/./}
  printf '%s %s.%s\n' "$1" "${t:0:-3}" "${t: -3}"
}

sleeper=
# On TERM, end the sleep too (every background job of this shell), so none outlives the script.
trap 'kill $(jobs -p) 2>/dev/null; exit 0' TERM

mode=${1:-}
case "$mode" in
signal)
  delay=${2:-0}
  trap 'stamp S; [ "$delay" != 0 ] && sleep "$delay"; stamp E' USR2
  interval=60
  busy_us=0
  ;;
tick)
  interval=$2
  busy_us=$3
  trap ':' USR2
  ;;
*)
  echo "usage: _trap_loop.sh signal DELAY_S | tick INTERVAL_S BUSY_US" >&2
  exit 2
  ;;
esac

echo ready
while :; do
  if [ "$mode" = tick ]; then
    stamp T
    if [ "$busy_us" != 0 ]; then
      end=$((${EPOCHREALTIME/./} + busy_us))
      while ((${EPOCHREALTIME/./} < end)); do :; done
    fi
  fi
  sleep "$interval" >/dev/null 2>&1 &
  sleeper=$!
  while kill -0 "$sleeper" 2>/dev/null; do wait "$sleeper"; done
  sleeper=
done
