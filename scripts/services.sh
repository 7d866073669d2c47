#!/usr/bin/env bash
# Start and stop the real services that Chat4All's integration tests talk to,
# on a plain Debian machine without Docker: Apache Kafka (single-node KRaft),
# S3Proxy (an S3-compatible server backed by a local directory), PostgreSQL,
# Redis and a Redis Sentinel watching that Redis.
#
#   scripts/services.sh up      [kafka] [s3] [pg] [redis] [sentinel]   # no names = all
#   scripts/services.sh down    [kafka] [s3] [pg] [redis] [sentinel]
#   scripts/services.sh restart [kafka] [s3] [sentinel]                # keeps data
#   scripts/services.sh status  [names]                     # exit 1 if any is down
#   scripts/services.sh env     [names]                     # only print the exports
#
#   eval "$(scripts/services.sh up)"    # starts everything, exports the test env
#
# Kafka and S3Proxy are Java programs fetched once from Maven Central with mvn
# and cached under $C4A_SERVICES_DIR (default ~/.cache/chat4all-services), so
# later runs start without any network access. Their state (pid files, logs,
# data) lives under $C4A_SERVICES_RUN (default /tmp/chat4all-services).
# PostgreSQL and Redis are system services that are normally already running;
# `up` only starts them when they are down and `down` leaves them running,
# because other work on the machine shares them.
#
# Tunables (environment): C4A_KAFKA_VERSION, C4A_S3PROXY_VERSION, S3_PORT,
# S3_BUCKET, C4A_START_TIMEOUT (s, default 60), C4A_STOP_TIMEOUT (s, default 30),
# C4A_KAFKA_PORT / C4A_KAFKA_CONTROLLER_PORT / C4A_KAFKA_SASL_PORT (9092 / 9093
# / 9096), C4A_REDIS_PORT (6379, the Redis the Sentinel watches),
# C4A_SENTINEL_PORT (26379). With its own C4A_SERVICES_RUN and ports, a test
# can run (and restart) a private broker or Sentinel.
#
# Besides PLAINTEXT, the broker has a SASL_PLAINTEXT listener that takes
# SCRAM-SHA-256 (user and password below, written into the KRaft log when it
# is formatted), so the suites test the authenticated path for real. Its
# address and credentials are exported as TEST_KAFKA_SASL_* and the Sentinel's
# as TEST_REDIS_SENTINELS: test-only names, because the application's own
# KAFKA_SASL_*/REDIS_SENTINELS would switch every suite over to them.
set -euo pipefail

# stdout carries nothing but `export NAME=value` lines (and `status`), so that
# eval "$(scripts/services.sh up)" works; all progress and every child's output
# goes to stderr. fd 3 keeps the real stdout.
exec 3>&1 1>&2

# Kafka 4.1.x: the 4.x broker needs Java 17+, which is what this machine has,
# and 4.1.2 is a patch release of a line that has had time to settle.
readonly KAFKA_VERSION="${C4A_KAFKA_VERSION:-4.1.2}"
# S3Proxy 4.x accepts the flexible-checksum headers (x-amz-checksum-crc32,
# aws-chunked trailers) that AWS SDK for JavaScript v3 sends by default since
# early 2025; 2.9.0 answers them with 501 NotImplemented. We use the
# jar-with-dependencies that S3Proxy publishes to Maven Central: resolving its
# dependency tree ourselves mixes Jackson 2 and 3 versions that do not work
# together (NoClassDefFoundError: JsonSerializeAs).
readonly S3PROXY_VERSION="${C4A_S3PROXY_VERSION:-4.1.0}"
# Kafka 4.x logs through SLF4J 1.7 -> we bind it to Log4j 2, like its own
# distribution does, and configure it to write into a file.
readonly LOG4J_VERSION=2.25.3
readonly MVN_DEPENDENCY_PLUGIN_VERSION=3.8.1

readonly CACHE_DIR="${C4A_SERVICES_DIR:-$HOME/.cache/chat4all-services}"
readonly RUN_DIR="${C4A_SERVICES_RUN:-/tmp/chat4all-services}"
readonly START_TIMEOUT="${C4A_START_TIMEOUT:-60}"
readonly STOP_TIMEOUT="${C4A_STOP_TIMEOUT:-30}"

# Small heap: a test broker holds little data, and the machine has 2 cores.
readonly KAFKA_JVM_OPTS="${C4A_KAFKA_JVM_OPTS:--Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20}"
readonly KAFKA_HOST=127.0.0.1
readonly KAFKA_PORT="${C4A_KAFKA_PORT:-9092}"
readonly KAFKA_CONTROLLER_PORT="${C4A_KAFKA_CONTROLLER_PORT:-9093}"
readonly KAFKA_SASL_PORT="${C4A_KAFKA_SASL_PORT:-9096}"
readonly KAFKA_SASL_MECHANISM=SCRAM-SHA-256
readonly KAFKA_SASL_USER=chat4all
readonly KAFKA_SASL_PASSWORD=chat4all-scram-secret
readonly KAFKA_LIB="$CACHE_DIR/kafka-$KAFKA_VERSION"
readonly KAFKA_RUN="$RUN_DIR/kafka"
readonly KAFKA_DATA="$KAFKA_RUN/data"
readonly KAFKA_CONF="$KAFKA_RUN/server.properties"
readonly KAFKA_LOG4J="$KAFKA_RUN/log4j2.properties"
readonly KAFKA_LOG="$KAFKA_RUN/kafka.log"
readonly KAFKA_PID="$KAFKA_RUN/kafka.pid"

readonly S3_HOST=127.0.0.1
readonly S3_PORT="${S3_PORT:-9000}"
readonly S3_BUCKET="${S3_BUCKET:-chat4all-test}"
readonly S3_ACCESS_KEY=chat4all
readonly S3_SECRET_KEY=chat4all-secret
readonly S3_REGION=us-east-1
readonly S3_LIB="$CACHE_DIR/s3proxy-$S3PROXY_VERSION"
readonly S3_RUN="$RUN_DIR/s3"
readonly S3_DATA="$S3_RUN/data"
readonly S3_CONF="$S3_RUN/s3proxy.properties"
readonly S3_LOG="$S3_RUN/s3proxy.log"
readonly S3_PID="$S3_RUN/s3proxy.pid"

readonly PG_HOST=127.0.0.1
readonly PG_PORT=5432
readonly PG_TEST_DB=test
readonly REDIS_HOST=127.0.0.1
readonly REDIS_PORT="${C4A_REDIS_PORT:-6379}"

readonly SENTINEL_HOST=127.0.0.1
readonly SENTINEL_PORT="${C4A_SENTINEL_PORT:-26379}"
readonly SENTINEL_MASTER=mymaster
readonly SENTINEL_RUN="$RUN_DIR/sentinel"
readonly SENTINEL_CONF="$SENTINEL_RUN/sentinel.conf"
readonly SENTINEL_LOG="$SENTINEL_RUN/sentinel.log"
readonly SENTINEL_PID="$SENTINEL_RUN/sentinel.pid"

# sentinel after redis: it watches that Redis.
readonly ALL_SERVICES=(kafka s3 pg redis sentinel)

say() { printf 'services: %s\n' "$*" >&2; }

die() {
  say "ERROR: $*"
  exit 1
}

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
}

# Show the end of a log so a failure can be diagnosed from CI output alone.
show_log_tail() {
  local file=$1
  if [[ -s $file ]]; then
    say "----- last 40 lines of $file -----"
    tail -n 40 "$file" >&2
    say "----- end of $file -----"
  fi
}

# True when something accepts TCP connections on host:port (bash's /dev/tcp,
# so no netcat is needed; timeout guards against a filtered port hanging).
port_open() {
  # shellcheck disable=SC2016 # $0/$1 are expanded by the inner bash
  timeout 2 bash -c 'exec 5<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}

# Who holds a port, for error messages.
port_owner() {
  if command -v ss >/dev/null; then
    ss -Htlnp "sport = :$1" 2>/dev/null | head -n 3 || true
  fi
}

# Print the PID recorded in a pid file if that process is alive AND is the
# one we started (its command line contains our config file's path). This
# guards against a stale pid file whose PID now belongs to something else,
# and treats zombies (empty cmdline) as dead.
live_pid() {
  local file=$1 marker=$2 pid
  [[ -s $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker" || return 1
  printf '%s\n' "$pid"
}

# Close every file descriptor above 2 in the current (sub)shell, so that a
# daemon started from it holds none of ours: not our saved stdout (fd 3:
# eval "$(scripts/services.sh up)" would wait until the daemon exits), not
# the lock (fd 9: it would stay held for as long as the service runs), and
# not whatever pipes the caller (CI, a test runner) passed down to us.
close_inherited_fds() {
  local path fd
  for path in /proc/self/fd/*; do
    fd=${path##*/}
    if [[ $fd =~ ^[0-9]+$ ]] && ((fd > 2)); then
      exec {fd}>&- || true
    fi
  done
}

# Run a command with stdin from /dev/null and no inherited descriptors.
run_detached_fds() {
  (
    close_inherited_fds
    exec "$@"
  ) </dev/null
}

# Start a long-running process detached from this script.
#  - setsid: its own session, so it outlives the shell or CI step that ran
#    `up` and is not hit by that shell's Ctrl-C or process-group kill. (A
#    non-interactive bash does not make background jobs group leaders, so
#    setsid execs in place and $! is the service's own PID.)
#  - close_inherited_fds: see above.
launch() {
  local log=$1 pidfile=$2 marker=$3 pid i
  shift 3
  (
    close_inherited_fds
    exec setsid "$@"
  ) </dev/null >>"$log" 2>&1 &
  pid=$!
  printf '%s\n' "$pid" >"$pidfile"
  # Until the child has exec'd, its command line is still this script's and
  # live_pid() would call it dead; wait (briefly) for the exec.
  for ((i = 0; i < 100; i++)); do
    live_pid "$pidfile" "$marker" >/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.05
  done
}

# Stop a process started by launch(): TERM (Kafka then shuts down cleanly,
# which keeps a restart fast), then KILL if it is still there after
# STOP_TIMEOUT seconds.
stop_process() {
  local name=$1 pidfile=$2 marker=$3 pid i
  if ! pid=$(live_pid "$pidfile" "$marker"); then
    rm -f "$pidfile"
    say "$name: not running"
    return 0
  fi
  say "$name: stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 4; i++)); do
    live_pid "$pidfile" "$marker" >/dev/null || break
    sleep 0.25
  done
  if live_pid "$pidfile" "$marker" >/dev/null; then
    say "$name: still running after ${STOP_TIMEOUT}s, sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 40; i++)); do
      live_pid "$pidfile" "$marker" >/dev/null || break
      sleep 0.25
    done
  fi
  rm -f "$pidfile"
  say "$name: stopped"
}

require_java() {
  command -v java >/dev/null || die "java not found: Kafka and S3Proxy need a Java 17+ runtime (apt-get install -y openjdk-17-jre-headless)"
  local version
  version=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p')
  if ! [[ ${version%%.*} =~ ^[0-9]+$ ]] || ((${version%%.*} < 17)); then
    die "Java 17+ is needed, found java.specification.version=${version:-unknown}"
  fi
}

# Download the given Maven dependencies (and, unless excluded, their runtime
# dependencies) into $dest, once. A marker file written last makes an
# interrupted download count as absent, so the next run tries again.
fetch_jars() {
  local what=$1 dest=$2 deps=$3 tmp
  [[ -f $dest/.complete ]] && return 0
  command -v mvn >/dev/null || die "mvn not found: it is needed once to download $what into $dest"
  mkdir -p "$CACHE_DIR"
  tmp=$(mktemp -d "$CACHE_DIR/.fetch.XXXXXX")
  cat >"$tmp/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.chat4all</groupId>
  <artifactId>services-fetch</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
$deps
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>$MVN_DEPENDENCY_PLUGIN_VERSION</version>
      </plugin>
    </plugins>
  </build>
</project>
EOF
  say "$what: downloading from Maven Central into $dest (first run only)"
  # mvn's output goes to a file shown only on failure (Maven 3.8 with -q
  # still prints stray ANSI colour resets).
  if ! mvn -q -B -f "$tmp/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp/lib" >"$tmp/mvn.log" 2>&1; then
    tail -n 40 "$tmp/mvn.log" >&2
    rm -rf "$tmp"
    die "$what: mvn could not download the jars (is Maven Central reachable?)"
  fi
  rm -rf "$dest"
  mv "$tmp/lib" "$dest"
  rm -rf "$tmp"
  touch "$dest/.complete"
}

# ---------------------------------------------------------------- Kafka ----

kafka_fetch() {
  fetch_jars "kafka $KAFKA_VERSION" "$KAFKA_LIB" "
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <!-- the command-line tools (kafka-topics, console producer/consumer), handy for checks -->
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>"
}

kafka_write_config() {
  mkdir -p "$KAFKA_RUN"
  # One JVM that is both the KRaft controller and the broker, listening on
  # loopback only. Every replication factor / min ISR is 1 because there is
  # a single node; the internal topics get one partition so that the first
  # consumer group does not wait for 50 __consumer_offsets partitions.
  cat >"$KAFKA_CONF" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,SASL_PLAINTEXT://$KAFKA_HOST:$KAFKA_SASL_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,SASL_PLAINTEXT://$KAFKA_HOST:$KAFKA_SASL_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT
# Clients on the SASL listener authenticate with SCRAM; the SCRAM credentials
# live in the cluster metadata (added when the log is formatted).
sasl.enabled.mechanisms=$KAFKA_SASL_MECHANISM
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
log.dirs=$KAFKA_DATA
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
auto.create.topics.enable=true
# Tests start consumers and expect them to be assigned at once.
group.initial.rebalance.delay.ms=0
EOF
  # The broker's own output goes to stdout, which launch() sends to a file.
  # State changes, per-request logging and config dumps are too chatty to be
  # useful here.
  cat >"$KAFKA_LOG4J" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.zk.name = org.apache.zookeeper
logger.zk.level = WARN
# Full config dumps (the config is in server.properties next to this file).
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
EOF
}

# Java command for a class on Kafka's classpath (broker or tool).
kafka_java() {
  java -Dlog4j2.configurationFile="$KAFKA_LOG4J" -cp "$KAFKA_LIB/*" "$@"
}

# Give $KAFKA_DATA a freshly formatted, empty KRaft log (done on every `up`;
# `restart` reuses the data, so topics and committed offsets survive).
# Formatting means a JVM start (~3 s on this 2-core machine), so it is done
# once into a template under the cache and copied from there: a formatted
# log is only meta.properties + bootstrap.checkpoint, which do not depend on
# the directory they sit in, nor on the ports (with a static
# controller.quorum.voters the voter set is read from the config, not from
# the log). The template is remade when the settings it does depend on change.
kafka_format() {
  local template="$CACHE_DIR/kafka-$KAFKA_VERSION-kraft-template" stamp cluster_id tmp
  stamp=$(grep -E '^(node\.id|process\.roles)=' "$KAFKA_CONF")
  stamp+=" scram=$KAFKA_SASL_MECHANISM:$KAFKA_SASL_USER:$KAFKA_SASL_PASSWORD"
  if [[ ! -f $template/.complete || $(<"$template/.complete") != "$stamp" ]]; then
    # Built aside and moved into place, so a run using another
    # C4A_SERVICES_RUN (another lock) never copies a half-made template.
    tmp=$(mktemp -d "$template.XXXXXX")
    chmod 755 "$tmp"
    mkdir -p "$tmp/data"
    sed "s#^log\.dirs=.*#log.dirs=$tmp/data#" "$KAFKA_CONF" >"$tmp/server.properties"
    # A random cluster id: 16 random bytes, base64url without padding, as
    # `kafka-storage random-uuid` makes them but without another JVM. One
    # that starts with '-' would be read as an option, so draw again.
    cluster_id=-
    while [[ $cluster_id == -* ]]; do
      cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    done
    if ! kafka_java -Xmx256m kafka.tools.StorageTool format \
      -t "$cluster_id" -c "$tmp/server.properties" \
      --add-scram "$KAFKA_SASL_MECHANISM=[name=$KAFKA_SASL_USER,password=$KAFKA_SASL_PASSWORD]" >>"$KAFKA_LOG" 2>&1; then
      show_log_tail "$KAFKA_LOG"
      rm -rf "$tmp"
      die "kafka: formatting a KRaft log failed"
    fi
    printf '%s\n' "$stamp" >"$tmp/.complete"
    rm -rf "$template"
    mv "$tmp" "$template"
  fi
  rm -rf "$KAFKA_DATA"
  mkdir -p "$KAFKA_DATA"
  cp -a "$template/data/." "$KAFKA_DATA/"
}

# Start the broker in the background (does not wait for it).
# $1 = keep: reuse the existing data dir (restart); otherwise start empty.
kafka_start() {
  local keep=${1:-}
  if live_pid "$KAFKA_PID" "$KAFKA_CONF" >/dev/null; then
    say "kafka: already running (pid $(<"$KAFKA_PID"))"
    return 0
  fi
  rm -f "$KAFKA_PID"
  if port_open "$KAFKA_HOST" "$KAFKA_PORT" || port_open "$KAFKA_HOST" "$KAFKA_CONTROLLER_PORT" || port_open "$KAFKA_HOST" "$KAFKA_SASL_PORT"; then
    port_owner "$KAFKA_PORT" >&2
    port_owner "$KAFKA_CONTROLLER_PORT" >&2
    port_owner "$KAFKA_SASL_PORT" >&2
    die "kafka: port $KAFKA_PORT, $KAFKA_CONTROLLER_PORT or $KAFKA_SASL_PORT is already in use by a process this script did not start"
  fi
  require_java
  kafka_fetch
  kafka_write_config
  # One log per start (the previous one is kept as .1) so readiness is
  # judged on this start's lines only.
  [[ -f $KAFKA_LOG ]] && mv -f "$KAFKA_LOG" "$KAFKA_LOG.1"
  : >"$KAFKA_LOG"
  if [[ $keep == keep && -f $KAFKA_DATA/meta.properties ]]; then
    say "kafka: starting on the existing data in $KAFKA_DATA"
  else
    say "kafka: preparing a fresh single-node KRaft log in $KAFKA_DATA"
    kafka_format
  fi
  say "kafka: starting broker+controller $KAFKA_VERSION on $KAFKA_HOST:$KAFKA_PORT, SASL on $KAFKA_SASL_PORT (log: $KAFKA_LOG)"
  local jvm_opts
  read -r -a jvm_opts <<<"$KAFKA_JVM_OPTS"
  launch "$KAFKA_LOG" "$KAFKA_PID" "$KAFKA_CONF" \
    java "${jvm_opts[@]}" -Djava.awt.headless=true -Dlog4j2.configurationFile="$KAFKA_LOG4J" \
    -cp "$KAFKA_LIB/*" kafka.Kafka "$KAFKA_CONF"
}

# Ready = the broker logged the end of its startup (in KRaft mode that comes
# after it has registered with the controller and been unfenced, i.e. it can
# serve metadata, produce and fetch) and its listener accepts connections.
kafka_wait() {
  local i pid
  for ((i = 0; i < START_TIMEOUT * 4; i++)); do
    if ! pid=$(live_pid "$KAFKA_PID" "$KAFKA_CONF"); then
      show_log_tail "$KAFKA_LOG"
      rm -f "$KAFKA_PID"
      die "kafka: the broker exited during startup"
    fi
    if grep -qF 'Kafka Server started' "$KAFKA_LOG" && port_open "$KAFKA_HOST" "$KAFKA_PORT" &&
      { ! kafka_has_sasl || port_open "$KAFKA_HOST" "$KAFKA_SASL_PORT"; }; then
      if kafka_has_sasl; then
        say "kafka: ready on $KAFKA_HOST:$KAFKA_PORT, SASL/SCRAM on $KAFKA_HOST:$KAFKA_SASL_PORT (pid $pid)"
      else
        say "kafka: ready on $KAFKA_HOST:$KAFKA_PORT (pid $pid), WITHOUT the SASL listener: it was started by an older version of this script; down + up kafka adds it"
      fi
      return 0
    fi
    sleep 0.25
  done
  show_log_tail "$KAFKA_LOG"
  stop_process kafka "$KAFKA_PID" "$KAFKA_CONF"
  die "kafka: not ready after ${START_TIMEOUT}s"
}

# A broker started by an older version of this script (still running, its
# config kept) has no SASL listener; `up` then leaves it as it is.
kafka_has_sasl() {
  grep -q '^listeners=.*SASL_PLAINTEXT://' "$KAFKA_CONF" 2>/dev/null
}

kafka_stop() {
  stop_process kafka "$KAFKA_PID" "$KAFKA_CONF"
}

# -------------------------------------------------------------- S3Proxy ----

s3_fetch() {
  # The fat jar only: exclusions keep mvn from also copying the (clashing)
  # dependency tree that the fat jar already contains.
  fetch_jars "s3proxy $S3PROXY_VERSION" "$S3_LIB" "
    <dependency>
      <groupId>org.gaul</groupId><artifactId>s3proxy</artifactId><version>$S3PROXY_VERSION</version>
      <classifier>jar-with-dependencies</classifier>
      <exclusions><exclusion><groupId>*</groupId><artifactId>*</artifactId></exclusion></exclusions>
    </dependency>"
}

s3_write_config() {
  mkdir -p "$S3_RUN"
  # The filesystem provider maps each bucket to a directory under basedir.
  # ignore-unknown-headers: S3 itself accepts headers S3Proxy has not heard
  # of (new SDK defaults), so answering them with 501 would only make tests
  # fail for a reason production never sees. cors-allow-all lets a browser
  # page PUT to a presigned URL in end-to-end tests.
  cat >"$S3_CONF" <<EOF
s3proxy.endpoint=http://$S3_HOST:$S3_PORT
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=$S3_ACCESS_KEY
s3proxy.credential=$S3_SECRET_KEY
s3proxy.ignore-unknown-headers=true
s3proxy.cors-allow-all=true
jclouds.provider=filesystem
jclouds.filesystem.basedir=$S3_DATA
EOF
}

# $1 = keep: reuse the stored objects (restart); otherwise start empty.
s3_start() {
  local keep=${1:-}
  if live_pid "$S3_PID" "$S3_CONF" >/dev/null; then
    say "s3: already running (pid $(<"$S3_PID"))"
    return 0
  fi
  rm -f "$S3_PID"
  command -v curl >/dev/null || die "s3: curl is needed to check S3Proxy (apt-get install -y curl)"
  if port_open "$S3_HOST" "$S3_PORT"; then
    port_owner "$S3_PORT" >&2
    die "s3: port $S3_PORT is already in use by a process this script did not start"
  fi
  require_java
  s3_fetch
  s3_write_config
  [[ $keep == keep ]] || rm -rf "$S3_DATA"
  # Creating the directory is how the filesystem provider creates a bucket.
  mkdir -p "$S3_DATA/$S3_BUCKET"
  [[ -f $S3_LOG ]] && mv -f "$S3_LOG" "$S3_LOG.1"
  : >"$S3_LOG"
  say "s3: starting S3Proxy $S3PROXY_VERSION on http://$S3_HOST:$S3_PORT, bucket $S3_BUCKET (log: $S3_LOG)"
  # NopStatusListener: logback would otherwise print its own setup chatter.
  launch "$S3_LOG" "$S3_PID" "$S3_CONF" \
    java -Xms64m -Xmx256m -Djava.awt.headless=true \
    -Dlogback.statusListenerClass=ch.qos.logback.core.status.NopStatusListener \
    -cp "$S3_LIB/*" org.gaul.s3proxy.Main --properties "$S3_CONF"
}

# HTTP status of a SigV4-signed request (curl >= 7.75 signs by itself, but
# curl 7.88 does not add the x-amz-content-sha256 header that S3 requires:
# without it S3Proxy answers 400, so we pass it and curl signs it too).
s3_signed_status() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
    --aws-sigv4 "aws:amz:$S3_REGION:s3" -u "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@" || true
}

# Ready = S3Proxy answers HTTP; then check, with a signed HEAD, that the
# credentials are accepted and the bucket exists.
s3_wait() {
  local i pid code=000
  for ((i = 0; i < START_TIMEOUT * 4; i++)); do
    if ! pid=$(live_pid "$S3_PID" "$S3_CONF"); then
      show_log_tail "$S3_LOG"
      rm -f "$S3_PID"
      die "s3: S3Proxy exited during startup"
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$S3_HOST:$S3_PORT/" || true)
    [[ $code != 000 ]] && break
    sleep 0.25
  done
  if [[ $code == 000 ]]; then
    show_log_tail "$S3_LOG"
    stop_process s3 "$S3_PID" "$S3_CONF"
    die "s3: S3Proxy did not answer HTTP after ${START_TIMEOUT}s"
  fi
  code=$(s3_signed_status -I "http://$S3_HOST:$S3_PORT/$S3_BUCKET")
  if [[ $code != 200 ]]; then
    show_log_tail "$S3_LOG"
    stop_process s3 "$S3_PID" "$S3_CONF"
    die "s3: signed HEAD of bucket $S3_BUCKET answered $code instead of 200"
  fi
  say "s3: ready on http://$S3_HOST:$S3_PORT, bucket $S3_BUCKET (pid $pid)"
}

s3_stop() {
  stop_process s3 "$S3_PID" "$S3_CONF"
}

# ----------------------------------------------------- PostgreSQL, Redis ----

pg_ready() {
  pg_isready -q -h "$PG_HOST" -p "$PG_PORT"
}

pg_up() {
  command -v pg_isready >/dev/null || die "pg: pg_isready not found (apt-get install -y postgresql)"
  if pg_ready; then
    say "pg: already running on $PG_HOST:$PG_PORT"
  else
    local versions=(/etc/postgresql/*/main) version i
    [[ -d ${versions[0]} ]] || die "pg: no cluster under /etc/postgresql (apt-get install -y postgresql)"
    # The newest installed major version, if there are several.
    version=$(printf '%s\n' "${versions[@]}" | awk -F/ '{print $4}' | sort -V | tail -n 1)
    say "pg: not answering, starting cluster $version/main"
    # --skip-systemctl-redirect: there is no systemd in these containers.
    run_detached_fds pg_ctlcluster --skip-systemctl-redirect "$version" main start ||
      { show_log_tail "/var/log/postgresql/postgresql-$version-main.log"; die "pg: pg_ctlcluster start failed"; }
    for ((i = 0; i < START_TIMEOUT * 4; i++)); do
      pg_ready && break
      sleep 0.25
    done
    pg_ready || { show_log_tail "/var/log/postgresql/postgresql-$version-main.log"; die "pg: not ready after ${START_TIMEOUT}s"; }
    say "pg: ready on $PG_HOST:$PG_PORT"
  fi
  # TEST_DATABASE_URL names this database; make sure it exists.
  local exists
  exists=$(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$PG_TEST_DB'") ||
    die "pg: cannot connect as postgres to $PG_HOST:$PG_PORT (trust auth expected)"
  if [[ $exists != 1 ]]; then
    say "pg: creating database $PG_TEST_DB"
    createdb -h "$PG_HOST" -p "$PG_PORT" -U postgres "$PG_TEST_DB"
  fi
}

redis_ready() {
  local answer
  answer=$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null) || return 1
  [[ $answer == PONG ]]
}

redis_up() {
  command -v redis-cli >/dev/null || die "redis: redis-cli not found (apt-get install -y redis-server)"
  if redis_ready; then
    say "redis: already running on $REDIS_HOST:$REDIS_PORT"
    return 0
  fi
  say "redis: not answering, starting redis-server"
  mkdir -p /var/lib/redis /var/log/redis
  # No persistence: test data is throwaway and fsyncs only slow tests down.
  run_detached_fds redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" \
    --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log ||
    { show_log_tail /var/log/redis/ci.log; die "redis: redis-server failed to start"; }
  local i
  for ((i = 0; i < START_TIMEOUT * 4; i++)); do
    redis_ready && break
    sleep 0.25
  done
  redis_ready || { show_log_tail /var/log/redis/ci.log; die "redis: not ready after ${START_TIMEOUT}s"; }
  say "redis: ready on $REDIS_HOST:$REDIS_PORT"
}

# ------------------------------------------------------------- Sentinel ----

sentinel_write_config() {
  mkdir -p "$SENTINEL_RUN"
  # Sentinel rewrites its config file (it records what it learns), so it is
  # written afresh on every start. Quorum 1: there is one Sentinel. With no
  # replica behind the master there is nothing to fail over to, so the shared
  # Redis is only watched (PING, INFO, a hello channel), never reconfigured.
  # The config file's path stays in the process title, which live_pid checks.
  cat >"$SENTINEL_CONF" <<EOF
port $SENTINEL_PORT
bind $SENTINEL_HOST
daemonize no
dir $SENTINEL_RUN
proc-title-template "{title} {listen-addr} {server-mode} {config-file}"
sentinel monitor $SENTINEL_MASTER $REDIS_HOST $REDIS_PORT 1
sentinel down-after-milliseconds $SENTINEL_MASTER 5000
EOF
}

sentinel_start() {
  if live_pid "$SENTINEL_PID" "$SENTINEL_CONF" >/dev/null; then
    say "sentinel: already running (pid $(<"$SENTINEL_PID"))"
    return 0
  fi
  rm -f "$SENTINEL_PID"
  command -v redis-server >/dev/null || die "sentinel: redis-server not found (apt-get install -y redis-server)"
  if port_open "$SENTINEL_HOST" "$SENTINEL_PORT"; then
    port_owner "$SENTINEL_PORT" >&2
    die "sentinel: port $SENTINEL_PORT is already in use by a process this script did not start"
  fi
  sentinel_write_config
  [[ -f $SENTINEL_LOG ]] && mv -f "$SENTINEL_LOG" "$SENTINEL_LOG.1"
  : >"$SENTINEL_LOG"
  say "sentinel: starting on $SENTINEL_HOST:$SENTINEL_PORT, master $SENTINEL_MASTER at $REDIS_HOST:$REDIS_PORT (log: $SENTINEL_LOG)"
  launch "$SENTINEL_LOG" "$SENTINEL_PID" "$SENTINEL_CONF" redis-server "$SENTINEL_CONF" --sentinel
}

# Ready = the Sentinel answers and names the master's address.
sentinel_wait() {
  local i pid answer
  for ((i = 0; i < START_TIMEOUT * 4; i++)); do
    if ! pid=$(live_pid "$SENTINEL_PID" "$SENTINEL_CONF"); then
      show_log_tail "$SENTINEL_LOG"
      rm -f "$SENTINEL_PID"
      die "sentinel: exited during startup"
    fi
    answer=$(redis-cli -h "$SENTINEL_HOST" -p "$SENTINEL_PORT" SENTINEL get-master-addr-by-name "$SENTINEL_MASTER" 2>/dev/null | tr '\n' ' ' || true)
    if [[ $answer == "$REDIS_HOST $REDIS_PORT "* ]]; then
      say "sentinel: ready on $SENTINEL_HOST:$SENTINEL_PORT (pid $pid)"
      return 0
    fi
    sleep 0.25
  done
  show_log_tail "$SENTINEL_LOG"
  stop_process sentinel "$SENTINEL_PID" "$SENTINEL_CONF"
  die "sentinel: not ready after ${START_TIMEOUT}s"
}

sentinel_stop() {
  stop_process sentinel "$SENTINEL_PID" "$SENTINEL_CONF"
}

# ------------------------------------------------------------- commands ----

print_env() {
  local name
  for name in "$@"; do
    case $name in
      kafka)
        printf 'export KAFKA_BROKERS=%q\n' "$KAFKA_HOST:$KAFKA_PORT" >&3
        if kafka_has_sasl; then
          printf 'export TEST_KAFKA_SASL_BROKERS=%q\n' "$KAFKA_HOST:$KAFKA_SASL_PORT" >&3
          printf 'export TEST_KAFKA_SASL_MECHANISM=%q\n' "${KAFKA_SASL_MECHANISM,,}" >&3
          printf 'export TEST_KAFKA_SASL_USERNAME=%q\n' "$KAFKA_SASL_USER" >&3
          printf 'export TEST_KAFKA_SASL_PASSWORD=%q\n' "$KAFKA_SASL_PASSWORD" >&3
        fi
        ;;
      s3)
        printf 'export S3_ENDPOINT=%q\n' "http://$S3_HOST:$S3_PORT" >&3
        printf 'export S3_BUCKET=%q\n' "$S3_BUCKET" >&3
        printf 'export S3_ACCESS_KEY=%q\n' "$S3_ACCESS_KEY" >&3
        printf 'export S3_SECRET_KEY=%q\n' "$S3_SECRET_KEY" >&3
        printf 'export S3_REGION=%q\n' "$S3_REGION" >&3
        printf 'export S3_FORCE_PATH_STYLE=true\n' >&3
        ;;
      redis)
        printf 'export REDIS_URL=%q\n' "redis://$REDIS_HOST:$REDIS_PORT" >&3
        ;;
      pg)
        printf 'export TEST_DATABASE_URL=%q\n' "postgres://postgres@$PG_HOST:$PG_PORT/$PG_TEST_DB" >&3
        ;;
      sentinel)
        printf 'export TEST_REDIS_SENTINELS=%q\n' "$SENTINEL_HOST:$SENTINEL_PORT" >&3
        printf 'export TEST_REDIS_SENTINEL_MASTER=%q\n' "$SENTINEL_MASTER" >&3
        ;;
    esac
  done
}

cmd_up() {
  local name
  # Launch the Java services first and only then wait for them, so their
  # JVMs start up side by side.
  for name in "$@"; do
    case $name in
      kafka) kafka_start ;;
      s3) s3_start ;;
      pg) pg_up ;;
      redis) redis_up ;;
      sentinel) sentinel_start ;;
    esac
  done
  for name in "$@"; do
    case $name in
      kafka) kafka_wait ;;
      s3) s3_wait ;;
      sentinel) sentinel_wait ;;
    esac
  done
  print_env "$@"
}

cmd_down() {
  local name
  for name in "$@"; do
    case $name in
      kafka)
        kafka_stop
        rm -rf "$KAFKA_DATA"
        ;;
      s3)
        s3_stop
        rm -rf "$S3_DATA"
        ;;
      sentinel)
        sentinel_stop
        ;;
      pg | redis)
        say "$name: left running (a machine-wide service that other work may be using)"
        ;;
    esac
  done
}

cmd_restart() {
  local name
  for name in "$@"; do
    case $name in
      kafka)
        kafka_stop
        kafka_start keep
        kafka_wait
        ;;
      s3)
        s3_stop
        s3_start keep
        s3_wait
        ;;
      sentinel)
        sentinel_stop
        sentinel_start
        sentinel_wait
        ;;
      pg | redis)
        die "restart supports kafka, s3 and sentinel only ($name is a machine-wide service)"
        ;;
    esac
  done
  print_env "$@"
}

cmd_status() {
  local name pid down=0
  for name in "$@"; do
    case $name in
      kafka)
        if pid=$(live_pid "$KAFKA_PID" "$KAFKA_CONF") && port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
          printf '%-6s running  pid %-7s %s\n' kafka "$pid" "$KAFKA_HOST:$KAFKA_PORT, SASL $KAFKA_HOST:$KAFKA_SASL_PORT" >&3
        elif [[ -n ${pid:-} ]]; then
          printf '%-6s starting pid %-7s (port %s not open yet)\n' kafka "$pid" "$KAFKA_PORT" >&3
          down=1
        else
          printf '%-6s stopped\n' kafka >&3
          down=1
        fi
        ;;
      s3)
        if pid=$(live_pid "$S3_PID" "$S3_CONF") && port_open "$S3_HOST" "$S3_PORT"; then
          printf '%-6s running  pid %-7s %s\n' s3 "$pid" "http://$S3_HOST:$S3_PORT" >&3
        else
          printf '%-6s stopped\n' s3 >&3
          down=1
        fi
        ;;
      pg)
        if pg_ready 2>/dev/null; then
          printf '%-6s running  %-11s %s\n' pg '' "$PG_HOST:$PG_PORT" >&3
        else
          printf '%-6s stopped\n' pg >&3
          down=1
        fi
        ;;
      redis)
        if redis_ready; then
          printf '%-6s running  %-11s %s\n' redis '' "$REDIS_HOST:$REDIS_PORT" >&3
        else
          printf '%-6s stopped\n' redis >&3
          down=1
        fi
        ;;
      sentinel)
        if pid=$(live_pid "$SENTINEL_PID" "$SENTINEL_CONF") && port_open "$SENTINEL_HOST" "$SENTINEL_PORT"; then
          printf '%-8s running  pid %-7s %s\n' sentinel "$pid" "$SENTINEL_HOST:$SENTINEL_PORT" >&3
        else
          printf '%-8s stopped\n' sentinel >&3
          down=1
        fi
        ;;
    esac
    pid=
  done
  return "$down"
}

main() {
  local cmd=${1:-} name
  [[ $# -gt 0 ]] && shift
  case $cmd in
    up | down | status | env | restart) ;;
    -h | --help | help)
      usage
      return 0
      ;;
    *)
      usage
      return 2
      ;;
  esac

  local names=("$@")
  if [[ ${#names[@]} -eq 0 ]]; then
    if [[ $cmd == restart ]]; then
      names=(kafka s3 sentinel)
    else
      names=("${ALL_SERVICES[@]}")
    fi
  fi
  for name in "${names[@]}"; do
    case $name in
      kafka | s3 | pg | redis | sentinel) ;;
      *) die "unknown service '$name' (known: ${ALL_SERVICES[*]})" ;;
    esac
  done

  if [[ $cmd == env ]]; then
    print_env "${names[@]}"
    return 0
  fi

  # One invocation at a time (e.g. parallel test workers all calling `up`):
  # the second waits and then finds the services running.
  mkdir -p "$RUN_DIR"
  exec 9>"$RUN_DIR/.lock"
  flock 9

  "cmd_$cmd" "${names[@]}"
}

main "$@"
