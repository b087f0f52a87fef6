# shellcheck shell=bash
# Authentication and authorization of the stack's Kafka. Sourced by stack.sh (after kafka.sh).
#
# - TLS: a private CA (.stack/secrets/kafka-tls/ca.key, never leaves the folder) signs the nodes' certificate
#   (SAN IP:127.0.0.1, DNS:localhost). Clients trust .stack/kafka/tls/ca.pem. Generated once, renewed when missing,
#   expiring within 30 days or not signed by the current CA.
# - Client listener SASL_SSL with SCRAM-SHA-512, one principal per service (gateway, recorder, approval) plus
#   admin and the nodes' own `broker` principal (inter-broker traffic uses the same listener). Passwords are random,
#   in .stack/secrets/kafka-<user>-password (mode 600). Credentials are bootstrapped when the storage is formatted
#   (`kafka-storage format --add-scram`); a cluster formatted without them (or with other passwords) is formatted
#   again, which drops its topics (the stack is disposable).
# - Controller listener: TLS with client certificates (mutual TLS), so only holders of a CA-signed key join.
# - StandardAuthorizer, allow.everyone.if.no.acl.found=false, super users admin, broker and the nodes' certificate.
#   ACLs per service (kafka_acl_spec) are applied after the cluster is ready, once per spec.

KAFKA_USERS=(admin broker gateway recorder approval)
KAFKA_TLS_SECRETS="$SECRETS_DIR/kafka-tls"
KAFKA_TLS_PUBLIC="$KAFKA_HOME/tls"
KAFKA_CA_PEM="$KAFKA_TLS_PUBLIC/ca.pem"
KAFKA_NODE_PEM="$KAFKA_TLS_SECRETS/node.pem" # key + certificate chain (Kafka's PEM keystore)
KAFKA_ADMIN_PROPS="$SECRETS_DIR/kafka-admin-client.properties"
KAFKA_BROKER_CERT_CN=gatehouse-broker
# Bump when the authentication layout changes: clusters formatted under another layout are formatted again.
KAFKA_AUTH_LAYOUT=1

kafka_password_file() { echo "$SECRETS_DIR/kafka-$1-password"; }

# Benchmarks only (GATEHOUSE_STACK_KAFKA_BENCH_PLAINTEXT_PORT, port of node 1, node i uses +i-1): an extra
# PLAINTEXT listener without authentication whose anonymous clients are super users, to measure what TLS and SASL
# cost. Off by default; never in CI.
kafka_bench_port() { # kafka_bench_port <node>; prints nothing when the bench listener is off
  [[ -n ${GATEHOUSE_STACK_KAFKA_BENCH_PLAINTEXT_PORT:-} ]] || return 0
  validate_port GATEHOUSE_STACK_KAFKA_BENCH_PLAINTEXT_PORT "$GATEHOUSE_STACK_KAFKA_BENCH_PLAINTEXT_PORT"
  echo $((GATEHOUSE_STACK_KAFKA_BENCH_PLAINTEXT_PORT + $1 - 1))
}

kafka_bench_bootstrap() {
  local i out=()
  [[ -n ${GATEHOUSE_STACK_KAFKA_BENCH_PLAINTEXT_PORT:-} ]] || return 0
  for ((i = 1; i <= KAFKA_N; i++)); do out+=("$BIND_HOST:$(kafka_bench_port "$i")"); done
  local IFS=,
  echo "${out[*]}"
}

kafka_auth_secrets() {
  local u f
  mkdir -p "$KAFKA_TLS_SECRETS" "$KAFKA_TLS_PUBLIC"
  chmod 700 "$KAFKA_TLS_SECRETS"
  for u in "${KAFKA_USERS[@]}"; do
    f=$(kafka_password_file "$u")
    [[ -s $f ]] || (umask 077 && random_hex 24 >"$f")
    chmod 600 "$f"
  done
  kafka_tls_ensure
  kafka_write_admin_props
}

kafka_tls_ensure() {
  local d=$KAFKA_TLS_SECRETS
  require_cmd openssl "the stack's Kafka TLS certificates"
  if [[ ! -s $d/ca.key || ! -s $d/ca.pem ]] || ! openssl x509 -in "$d/ca.pem" -noout -checkend 2592000 >/dev/null 2>&1; then
    log "Kafka: creating the stack's certificate authority"
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/ca.key" 2>/dev/null)
    openssl req -x509 -new -key "$d/ca.key" -sha256 -days 3650 -subj "/CN=gatehouse-stack-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out "$d/ca.pem" 2>/dev/null || die "openssl could not create the Kafka CA"
    rm -f "$d/node.crt"
  fi
  if [[ ! -s $d/node.crt || ! -s $d/node.key ]] ||
    ! openssl verify -CAfile "$d/ca.pem" "$d/node.crt" >/dev/null 2>&1 ||
    ! openssl x509 -in "$d/node.crt" -noout -checkend 2592000 >/dev/null 2>&1; then
    log "Kafka: issuing the nodes' certificate (CN=$KAFKA_BROKER_CERT_CN)"
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/node.key" 2>/dev/null)
    openssl req -new -key "$d/node.key" -subj "/CN=$KAFKA_BROKER_CERT_CN" -out "$d/node.csr" 2>/dev/null
    printf '%s\n' "subjectAltName=IP:$BIND_HOST,DNS:localhost" "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth,clientAuth" >"$d/node.ext"
    openssl x509 -req -in "$d/node.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 825 -sha256 \
      -extfile "$d/node.ext" -out "$d/node.crt" 2>/dev/null || die "openssl could not sign the Kafka node certificate"
    rm -f "$d/node.csr" "$d/node.ext"
  fi
  (umask 077 && cat "$d/node.key" "$d/node.crt" "$d/ca.pem" >"$KAFKA_NODE_PEM.tmp" && mv "$KAFKA_NODE_PEM.tmp" "$KAFKA_NODE_PEM")
  cp "$d/ca.pem" "$KAFKA_CA_PEM.tmp" && chmod 644 "$KAFKA_CA_PEM.tmp" && mv "$KAFKA_CA_PEM.tmp" "$KAFKA_CA_PEM"
}

# Java client settings of the admin principal, for the stack's own tools and `stack.sh kafka-tool ... --command-config`.
kafka_write_admin_props() {
  (
    umask 077
    cat >"$KAFKA_ADMIN_PROPS.tmp" <<EOF
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(<"$(kafka_password_file admin)")";
ssl.truststore.type=PEM
ssl.truststore.location=$KAFKA_CA_PEM
EOF
    mv "$KAFKA_ADMIN_PROPS.tmp" "$KAFKA_ADMIN_PROPS"
  )
}

# The part of server.properties about listeners and security. Secrets are read from .stack/secrets by Kafka's
# DirectoryConfigProvider, so the generated file holds none.
kafka_security_props() { # kafka_security_props <node>
  local i=$1 bench='' super=''
  if [[ -n $(kafka_bench_port "$i") ]]; then
    bench=",PLAINTEXT://$BIND_HOST:$(kafka_bench_port "$i")"
    super=';User:ANONYMOUS'
  fi
  cat <<EOF
listeners=SASL_SSL://$BIND_HOST:$(kafka_broker_port "$i"),CONTROLLER://$BIND_HOST:$(kafka_controller_port "$i")$bench
advertised.listeners=SASL_SSL://$BIND_HOST:$(kafka_broker_port "$i")$bench
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SSL,PLAINTEXT:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_SSL
config.providers=secrets
config.providers.secrets.class=org.apache.kafka.common.config.provider.DirectoryConfigProvider
config.providers.secrets.param.allowed.paths=$SECRETS_DIR

sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="\${secrets:$SECRETS_DIR:kafka-broker-password}";
ssl.keystore.type=PEM
ssl.keystore.location=$KAFKA_NODE_PEM
ssl.truststore.type=PEM
ssl.truststore.location=$KAFKA_CA_PEM
listener.name.controller.ssl.client.auth=required

authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:broker;User:CN=$KAFKA_BROKER_CERT_CN$super
EOF
}

# What the credentials bootstrapped at format time depend on; stored next to the data.
kafka_auth_fingerprint() {
  local u
  {
    echo "layout $KAFKA_AUTH_LAYOUT"
    for u in "${KAFKA_USERS[@]}"; do echo "$u $(<"$(kafka_password_file "$u")")"; done
  } | sha256sum | cut -d' ' -f1
}

kafka_scram_args() {
  local u
  for u in "${KAFKA_USERS[@]}"; do
    printf '%s\n' --add-scram "SCRAM-SHA-512=[name=$u,password=$(<"$(kafka_password_file "$u")")]"
  done
}

kafka_auth_formatted() { # true when the cluster's storage holds the current credentials
  local marker="$KAFKA_MODE_DIR/auth-format"
  [[ -f $marker && $(<"$marker") == "$(kafka_auth_fingerprint)" ]]
}

# Formats the cluster again on the next start (its nodes must be stopped by then).
kafka_auth_reformat() {
  local i
  if compgen -G "$KAFKA_MODE_DIR/broker-*/data/meta.properties" >/dev/null; then
    warn "Kafka: the $KAFKA_N-node cluster was formatted without the current SCRAM credentials; formatting it again (its topics are dropped)"
    for ((i = 1; i <= 9; i++)); do rm -rf "$KAFKA_MODE_DIR/broker-$i/data"; done
  fi
  rm -f "$KAFKA_MODE_DIR/cluster-id" "$KAFKA_MODE_DIR/acls-applied"
  kafka_auth_fingerprint >"$KAFKA_MODE_DIR/auth-format"
}

# ---------------------------------------------------------------- ACLs

# One line per grant: <principal> <resource type> <pattern type> <name> <operation>...
# Production topic names (kafka.topics defaults) and consumer-group prefixes; DescribeConfigs everywhere for the
# services' start-up check of max.message.bytes; the `test.` topics and `test-` groups
# are the integration tests' per-test names, granted per service with the same split of rights.
kafka_acl_spec() {
  cat <<'EOF'
gateway topic literal gatehouse.sessions Write Describe Create DescribeConfigs
gateway topic literal gatehouse.approval-requests Write Describe Create DescribeConfigs
gateway topic literal gatehouse.approvals Read Describe Create DescribeConfigs
gateway topic literal gatehouse.policies Read Describe Create DescribeConfigs
gateway topic literal gatehouse.nodes Read Write Describe Create DescribeConfigs
gateway group prefixed gatehouse-gateway- Read
approval topic literal gatehouse.approval-requests Read Describe Create DescribeConfigs
approval topic literal gatehouse.approvals Read Write Describe Create DescribeConfigs
approval group prefixed gatehouse-approval- Read
recorder topic literal gatehouse.sessions Read Describe DescribeConfigs
recorder topic literal gatehouse.approvals Read Describe DescribeConfigs
recorder group prefixed gatehouse-recorder Read
gateway topic prefixed test. Write Read Describe Create DescribeConfigs
gateway group prefixed test- Read
approval topic prefixed test. Write Read Describe Create DescribeConfigs
approval group prefixed test- Read
recorder topic prefixed test. Read Describe DescribeConfigs
recorder group prefixed test- Read
EOF
}

kafka_apply_acls() {
  local marker="$KAFKA_MODE_DIR/acls-applied" want have='' principal type pattern name ops op args rc=0
  want=$(kafka_acl_spec | sha256sum | cut -d' ' -f1)
  [[ -f $marker ]] && have=$(<"$marker")
  [[ $want == "$have" ]] && return 0
  log "Kafka: applying ACLs"
  while read -r principal type pattern name ops; do
    [[ -n $principal ]] || continue
    args=(--bootstrap-server "$(kafka_bootstrap)" --command-config "$KAFKA_ADMIN_PROPS" --add --force
      --allow-principal "User:$principal" --resource-pattern-type "$pattern" "--$type" "$name")
    for op in $ops; do args+=(--operation "$op"); done
    kafka_java 60 kafka.admin.AclCommand "${args[@]}" >>"$LOG_DIR/kafka-acls.log" 2>&1 || rc=$?
    ((rc == 0)) || fail_with_logs "could not add the Kafka ACL '$principal $type $pattern $name $ops'" "$LOG_DIR/kafka-acls.log"
  done < <(kafka_acl_spec)
  echo "$want" >"$marker"
}
