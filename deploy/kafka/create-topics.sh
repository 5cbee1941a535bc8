#!/usr/bin/env bash
# One-shot topic creation for docker-compose.yml's topic-init container
# (apache/kafka image): creates each topic given as an argument unless it
# exists, then describes them. Services never rely on auto-creation.
#
#   BOOTSTRAP_SERVERS   host:port of the cluster
#   PARTITIONS          partitions of each new topic
#   REPLICATION_FACTOR  replicas of each new topic
# Every topic takes records up to 1 MiB (max.message.bytes, Kafka's default made
# explicit: motcua's MAX_RECORD_BYTES, docs/deploy.md "Record sizes").
#   TOPICS_COMMAND      the kafka-topics.sh to run (default: the image's)
#
# The history topics (motcua.dossier.events, motcua.notification.events) and
# the signed checkpoints over them (motcua.signing.checkpoints) are kept forever (retention.ms=-1, retention.bytes=-1; ADR 0013): they are the
# legal record that rebuilds and verification read.
set -euo pipefail

: "${BOOTSTRAP_SERVERS:?BOOTSTRAP_SERVERS must be set}"
: "${PARTITIONS:?PARTITIONS must be set}"
: "${REPLICATION_FACTOR:?REPLICATION_FACTOR must be set}"
[ "$#" -gt 0 ] || { echo "usage: create-topics.sh TOPIC..." >&2; exit 2; }

topics="${TOPICS_COMMAND:-/opt/kafka/bin/kafka-topics.sh}"
for topic in "$@"; do
  configs=()
  case "$topic" in
    motcua.dossier.events|motcua.notification.events|motcua.signing.checkpoints)
      configs=(--config retention.ms=-1 --config retention.bytes=-1) ;;
  esac
  "$topics" --bootstrap-server "$BOOTSTRAP_SERVERS" --create --if-not-exists \
    --topic "$topic" --partitions "$PARTITIONS" \
    --replication-factor "$REPLICATION_FACTOR" \
    --config max.message.bytes=1048576 "${configs[@]}"
done

# An existing topic keeps its partition count: report any that has fewer.
described="$("$topics" --bootstrap-server "$BOOTSTRAP_SERVERS" --describe \
  --topic "$(IFS='|'; echo "$*")")"
echo "$described" | grep 'PartitionCount' || true
for topic in "$@"; do
  count="$(echo "$described" | grep -E "^Topic: ${topic//./\\.}[[:space:]]" \
    | grep -oE 'PartitionCount: [0-9]+' | grep -oE '[0-9]+' || echo 0)"
  if [ "$count" -lt "$PARTITIONS" ]; then
    echo "warning: $topic has $count partitions, fewer than $PARTITIONS" >&2
  fi
done
