# shellcheck shell=bash
# Shared helpers for the local stack scripts. Sourced by stack.sh; not executable on its own.
#
# Every service runs as a plain local process bound to 127.0.0.1. State (data, logs, pid files,
# secrets, downloaded jars, the opa binary) lives under $STACK_DIR, which defaults to <project>/.stack.

STACK_SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJECT_ROOT="$(cd "$STACK_SCRIPT_DIR/../.." && pwd)"
STACK_SCRIPT="$STACK_SCRIPT_DIR/stack.sh"
STACK_DIR="${GATEHOUSE_STACK_DIR:-$PROJECT_ROOT/.stack}"
RUN_DIR="$STACK_DIR/run"
LOG_DIR="$STACK_DIR/logs"
SECRETS_DIR="$STACK_DIR/secrets"
BIN_DIR="$STACK_DIR/bin"
ENV_FILE="$STACK_DIR/env"

BIND_HOST=127.0.0.1
# Seconds to wait for one service to become ready, and for one to stop before SIGKILL.
START_TIMEOUT="${GATEHOUSE_STACK_TIMEOUT:-120}"
STOP_TIMEOUT="${GATEHOUSE_STACK_STOP_TIMEOUT:-30}"

log() { printf '[stack %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
warn() { printf '[stack %(%H:%M:%S)T] WARNING: %s\n' -1 "$*" >&2; }
die() {
  printf '[stack %(%H:%M:%S)T] ERROR: %s\n' -1 "$*" >&2
  exit 1
}

require_root() {
  [[ $EUID -eq 0 ]] || die "the stack script must run as root (it installs packages and starts services as their own users)"
}

require_cmd() { # require_cmd <command> <what it is needed for>
  command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed but is required for $2"
}

# Prints the last lines of each log file, then exits with an error.
fail_with_logs() { # fail_with_logs <message> <log file>...
  local msg=$1 f
  shift
  printf '[stack] ERROR: %s\n' "$msg" >&2
  for f in "$@"; do
    [[ -f $f ]] || continue
    printf -- '----- last lines of %s -----\n' "$f" >&2
    tail -n 40 "$f" >&2 || true
  done
  printf -- '-----\n' >&2
  exit 1
}

ensure_dirs() {
  mkdir -p "$STACK_DIR" "$RUN_DIR" "$LOG_DIR" "$BIN_DIR" "$SECRETS_DIR"
  # Service users (postgres, clickhouse, the ssh demo user) must be able to traverse the state dir.
  chmod 755 "$STACK_DIR" "$RUN_DIR" "$LOG_DIR" "$BIN_DIR"
  chmod 700 "$SECRETS_DIR"
}

# Serialises mutating commands (up, down, kafka-*) so concurrent callers do not race.
take_lock() {
  mkdir -p "$STACK_DIR"
  exec 9>"$STACK_DIR/.lock"
  flock -w 900 9 || die "another stack command holds $STACK_DIR/.lock for more than 900 s"
}

# ---------------------------------------------------------------- processes

read_pid() { # read_pid <pid file>; prints the pid or nothing
  local f=$1 pid=''
  [[ -f $f ]] && read -r pid <"$f" 2>/dev/null || true
  [[ $pid =~ ^[0-9]+$ ]] && printf '%s' "$pid"
  return 0
}

# True when the process exists and is not a zombie. A multi-threaded process (a JVM) whose main
# thread is already a zombie still counts while other threads exit, as they hold its sockets.
pid_alive() { # pid_alive <pid>
  local pid=$1 stat tasks
  [[ -n $pid && -r /proc/$pid/stat ]] || return 1
  { stat=$(<"/proc/$pid/stat"); } 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]] && return 0
  tasks=(/proc/"$pid"/task/*)
  ((${#tasks[@]} > 1))
}

# True when the process' command line contains <needle> (guards against pid reuse).
pid_matches() { # pid_matches <pid> <needle>
  local pid=$1 needle=$2 cmd
  pid_alive "$pid" || return 1
  { cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline"); } 2>/dev/null || return 1
  [[ $cmd == *"$needle"* ]]
}

# Prints all descendants of a pid (children, grandchildren, ...), one per line.
descendants() { # descendants <pid>
  local root=$1 f stat pid ppid
  local -A children=()
  for f in /proc/[0-9]*/stat; do
    { stat=$(<"$f"); } 2>/dev/null || continue
    pid=${stat%% *}
    stat=${stat##*) }
    ppid=${stat#* }
    ppid=${ppid%% *}
    children[$ppid]+="$pid "
  done
  local queue=("$root") next c
  while ((${#queue[@]})); do
    next=${queue[0]}
    queue=("${queue[@]:1}")
    for c in ${children[$next]:-}; do
      printf '%s\n' "$c"
      queue+=("$c")
    done
  done
}

# Sends SIGTERM to the given pids, waits up to <timeout> s, then SIGKILLs them and every
# descendant seen before the stop. Returns once none of them is alive.
stop_pids() { # stop_pids <timeout> <pid>...
  local timeout=$1 pid
  shift
  local -a all=("$@")
  for pid in "$@"; do
    mapfile -t -O "${#all[@]}" all < <(descendants "$pid")
  done
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  local deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    any_alive "$@" || break
    sleep 0.2
  done
  for pid in "${all[@]}"; do
    pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
  done
  deadline=$((SECONDS + 10))
  while any_alive "${all[@]}"; do
    ((SECONDS < deadline)) || die "processes ${all[*]} survive SIGKILL"
    sleep 0.1
  done
}

any_alive() {
  local pid
  for pid in "$@"; do pid_alive "$pid" && return 0; done
  return 1
}

# Starts a command detached in its own session, with stdin closed and output appended to
# <log>; writes the pid of the final process (after exec) to <pid file>. fd 9 (the stack lock)
# is closed so that a service never holds the lock.
start_detached() { # start_detached <pid file> <log file> <command>...
  local pidfile=$1 logfile=$2
  shift 2
  rm -f "$pidfile"
  # shellcheck disable=SC2016 # expanded by the inner bash
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" >>"$logfile" 2>&1 </dev/null 9>&- &
  local waited=0
  while [[ ! -s $pidfile ]]; do
    ((waited++ < 50)) || die "could not start $1 (no pid file after 5 s)"
    sleep 0.1
  done
}

# ---------------------------------------------------------------- network

tcp_open() { # tcp_open <port> [host]; true when something accepts TCP connections there
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "${2:-$BIND_HOST}" "$1" 2>/dev/null
}

# Fails when <port> is already taken by something that is not ours.
ensure_port_free() { # ensure_port_free <port> <env var that sets it> <service>
  local tries=0
  while tcp_open "$1"; do # a process that just exited may hold the port for a moment
    ((tries++ < 10)) ||
      die "port $1 (for $3) is already in use by another process; stop it or choose another port with $2=<port>"
    sleep 0.5
  done
}

# Waits until <check command> succeeds, the process is alive, or the timeout passes.
wait_until() { # wait_until <timeout> <pid> <command>...; returns 1 on timeout, 2 when the pid dies
  local timeout=$1 pid=$2
  shift 2
  local deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    if [[ -n $pid ]] && ! pid_alive "$pid"; then return 2; fi
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  return 1
}

validate_port() { # validate_port <name> <value>
  [[ $2 =~ ^[0-9]+$ ]] && (($2 > 0 && $2 < 65536)) || die "$1 must be a TCP port number, got '$2'"
}

random_hex() { # random_hex <bytes>
  od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}
