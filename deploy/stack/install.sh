# shellcheck shell=bash
# Idempotent installation of the Debian packages the stack needs. Sourced by stack.sh.
#
# System services are never used: packages only provide binaries, and the stack starts its own
# private instances. While installing, a temporary policy-rc.d keeps package scripts from
# starting system services when the machine has none in place.

# Packages the stack cannot run without.
REQUIRED_DEBS=(
  clickhouse-server clickhouse-client
  postgresql-15 postgresql-client-15
  openssh-server openssh-client
  pgbouncer sshpass
  haproxy # the local cluster's load balancer (deploy/cluster), run as a private process, never the system service
  curl ca-certificates
  nginx-light # benchmarks/http.ts runs its own instance (temp prefix, 127.0.0.1); the system service stays off
)
# Packages that later tests want but whose absence must not break the stack.
OPTIONAL_DEBS=(chromium)
CHROMIUM_MARKER="$STACK_DIR/chromium-unavailable"

deb_installed() { # deb_installed <package>
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

APT_UPDATED=0
apt_install() { # apt_install <package>...
  require_cmd apt-get "installing Debian packages ($*)"
  if ((APT_UPDATED == 0)); then
    log "apt-get update"
    apt-get update -qq >>"$LOG_DIR/apt.log" 2>&1 || {
      tail -n 20 "$LOG_DIR/apt.log" >&2
      return 1
    }
    APT_UPDATED=1
  fi
  log "apt-get install $* (output in $LOG_DIR/apt.log)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
    </dev/null >>"$LOG_DIR/apt.log" 2>&1 || {
    tail -n 20 "$LOG_DIR/apt.log" >&2
    return 1
  }
}

# Keeps package maintainer scripts from starting system services (sshd on 22, ClickHouse on
# 8123/9000, a PostgreSQL cluster on 5432) on machines without a policy-rc.d of their own.
with_service_starts_denied() { # with_service_starts_denied <command>...
  local policy=/usr/sbin/policy-rc.d created=0 rc=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created=1
  fi
  "$@" || rc=$?
  ((created == 0)) || rm -f "$policy"
  return "$rc"
}

install_debs() {
  local missing=() pkg
  for pkg in "${REQUIRED_DEBS[@]}"; do
    deb_installed "$pkg" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    command -v apt-get >/dev/null 2>&1 ||
      die "missing Debian packages (${missing[*]}) and apt-get is not available to install them"
    with_service_starts_denied apt_install "${missing[@]}" ||
      die "apt-get could not install: ${missing[*]}"
  fi

  local optional=()
  if [[ ! -e $CHROMIUM_MARKER ]]; then
    for pkg in "${OPTIONAL_DEBS[@]}"; do
      deb_installed "$pkg" || optional+=("$pkg")
    done
  fi
  if ((${#optional[@]})); then
    if command -v apt-get >/dev/null 2>&1 && with_service_starts_denied apt_install "${optional[@]}"; then
      :
    else
      warn "could not install optional packages (${optional[*]}); browser tests will be skipped." \
        "Delete $CHROMIUM_MARKER to retry."
      date -u +%FT%TZ >"$CHROMIUM_MARKER"
    fi
  fi

  [[ -x $PG_BIN/postgres ]] || die "PostgreSQL 15 binaries not found in $PG_BIN"
  clickhouse_binary >/dev/null || die "no clickhouse-server binary found after installation"
  [[ -x /usr/sbin/sshd ]] || die "/usr/sbin/sshd not found after installing openssh-server"
  [[ -x /usr/sbin/haproxy ]] || die "/usr/sbin/haproxy not found after installing haproxy"
}

chromium_bin() {
  local c
  for c in chromium chromium-browser google-chrome; do
    if command -v "$c" >/dev/null 2>&1; then
      command -v "$c"
      return 0
    fi
  done
  return 0
}
