#!/usr/bin/env python3
"""Drives confluent-kafka (librdkafka) against a Floe broker.

Each sub-command prints one JSON line and exits 0 on success; on failure it prints
"FAILED: <why>" to stderr and exits 1. Used by test/clients/python.test.ts.
"""
import argparse
import json
import sys
import time
import uuid
import warnings

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka import TopicCollection, libversion, version
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
    OffsetSpec,
)

CODECS = ("none", "gzip", "snappy", "lz4", "zstd")
COUNT = 100
NULL_KEY_AT = 7
NULL_VALUE_AT = 11
EMPTY_VALUE_AT = 13
NULL_HEADER_AT = 17
NO_HEADERS_AT = 19
TIMEOUT = 20.0


class CheckFailed(Exception):
    pass


def expect(ok, message):
    if not ok:
        raise CheckFailed(message)


def expect_equal(expected, actual, what):
    if expected != actual:
        raise CheckFailed(f"{what}: expected {expected!r} but got {actual!r}")


def base_conf(bootstrap, client_id):
    return {
        "bootstrap.servers": bootstrap,
        "client.id": client_id,
        # librdkafka may resolve names to ::1; the broker is on IPv4 loopback.
        "broker.address.family": "v4",
        "socket.timeout.ms": 15000,
    }


def client_info():
    v = version()
    return {"client": "python", "clientVersion": v if isinstance(v, str) else v[0], "librdkafka": libversion()[0]}


def wait(future, what):
    try:
        return future.result(timeout=TIMEOUT)
    except KafkaException as e:
        raise CheckFailed(f"{what} failed: {e}") from e
    except Exception as e:  # concurrent.futures timeout and friends
        raise CheckFailed(f"{what} failed: {type(e).__name__}: {e}") from e


def ensure_topic(admin, topic, partitions=1):
    """Creates the topic; falls back to auto-creation if CreateTopics is refused."""
    futures = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)],
                                  operation_timeout=TIMEOUT)
    try:
        futures[topic].result(timeout=TIMEOUT)
        return True
    except KafkaException as e:
        if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            print(f"warning: create_topics failed, relying on auto-create: {e}", file=sys.stderr)
        return False


def expected_record(i, codec, base):
    key = None if i == NULL_KEY_AT else f"key-{i}".encode()
    if i == NULL_VALUE_AT:
        value = None
    elif i == EMPTY_VALUE_AT:
        value = b""
    else:
        value = (f"value-{i}-{codec} " * (1 + i % 5)).encode()
    headers = []
    if i != NO_HEADERS_AT:
        headers.append(("seq", str(i).encode()))
        if i % 3 == 0:
            headers += [("dup", b"a"), ("dup", b"b")]
        if i == NULL_HEADER_AT:
            headers.append(("nullh", None))
    return {"key": key, "value": value, "headers": headers, "timestamp": base + i}


def produce_consume(bootstrap, topic, codec):
    expect(codec in CODECS, f"unknown codec {codec}; one of {CODECS}")
    admin = AdminClient(base_conf(bootstrap, "floe-check-admin"))
    created = ensure_topic(admin, topic)
    base = int(time.time() * 1000) - 60_000
    expected = [expected_record(i, codec, base) for i in range(COUNT)]

    producer = Producer({
        **base_conf(bootstrap, "floe-check-producer"),
        "acks": "all",
        "enable.idempotence": True,
        "compression.type": codec,
        "linger.ms": 5,
        "message.timeout.ms": 30000,
    })
    acks = [None] * COUNT

    def on_delivery(i):
        def cb(err, msg):
            acks[i] = err if err is not None else msg.offset()
        return cb

    for i, e in enumerate(expected):
        kwargs = {"partition": 0, "key": e["key"], "value": e["value"], "timestamp": e["timestamp"],
                  "on_delivery": on_delivery(i)}
        if e["headers"]:
            kwargs["headers"] = e["headers"]
        producer.produce(topic, **kwargs)
        if i == COUNT // 2:
            expect_equal(0, producer.flush(30), "messages left after first flush")
    expect_equal(0, producer.flush(30), "messages left after flush")
    for i, a in enumerate(acks):
        expect(isinstance(a, int), f"record {i} not acknowledged: {a}")
    first = acks[0]
    for i, a in enumerate(acks):
        expect_equal(first + i, a, f"ack offset of record {i}")

    consumer = Consumer({
        **base_conf(bootstrap, "floe-check-consumer"),
        # librdkafka requires a group.id even for assign(); nothing is committed.
        "group.id": f"floe-check-assign-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    })
    consumed = 0
    try:
        consumer.assign([TopicPartition(topic, 0, -2)])  # OFFSET_BEGINNING
        deadline = time.time() + 30
        nxt = first
        while consumed < COUNT:
            expect(time.time() < deadline, f"timed out reading back: got {consumed} of {COUNT}")
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise CheckFailed(f"consume error: {msg.error()}")
            if msg.offset() < first:
                continue
            expect_equal(nxt, msg.offset(), "offset (gap or duplicate)")
            i = msg.offset() - first
            expect(i < COUNT, f"unexpected extra record at offset {msg.offset()}")
            compare(i, expected[i], msg)
            nxt += 1
            consumed += 1
    finally:
        consumer.close()
    return {"check": "produce-consume", **client_info(), "topic": topic, "codec": codec,
            "topicCreated": created, "produced": COUNT, "consumed": consumed,
            "firstOffset": first, "lastOffset": first + COUNT - 1}


def compare(i, e, msg):
    at = f"record {i} (offset {msg.offset()})"
    expect_equal(e["key"], msg.key(), f"{at}: key")
    expect_equal(e["value"], msg.value(), f"{at}: value")
    ts_type, ts = msg.timestamp()
    expect_equal(1, ts_type, f"{at}: timestamp type (1 = CreateTime)")
    expect_equal(e["timestamp"], ts, f"{at}: timestamp")
    expect_equal(e["headers"], msg.headers() or [], f"{at}: headers")


def admin_check(bootstrap):
    topic = f"python-admin-{uuid.uuid4().hex[:8]}"
    admin = AdminClient(base_conf(bootstrap, "floe-check-admin"))
    out = {"check": "admin", **client_info(), "topic": topic}

    cluster = wait(admin.describe_cluster(request_timeout=TIMEOUT), "describe_cluster")
    expect(len(cluster.nodes) > 0, "describe_cluster: no nodes")
    expect(bool(cluster.cluster_id), "describe_cluster: empty cluster id")
    node = cluster.nodes[0]
    expect_equal("127.0.0.1", node.host, "describe_cluster: advertised host")
    out.update(clusterId=cluster.cluster_id, nodes=len(cluster.nodes),
               controller=cluster.controller.id if cluster.controller else None)

    new = NewTopic(topic, num_partitions=2, replication_factor=1,
                   config={"retention.ms": "3600000", "max.message.bytes": "2000000", "cleanup.policy": "delete"})
    wait(admin.create_topics([new], operation_timeout=TIMEOUT)[topic], "create_topics")

    md = admin.list_topics(timeout=TIMEOUT)
    expect(topic in md.topics, f"list_topics lacks {topic}")
    expect_equal(2, len(md.topics[topic].partitions), "list_topics partitions")
    expect_equal("127.0.0.1", md.brokers[node.id].host, "list_topics broker host")

    desc = wait(admin.describe_topics(TopicCollection([topic]), request_timeout=TIMEOUT)[topic], "describe_topics")
    expect_equal(2, len(desc.partitions), "describe_topics partitions")
    for p in desc.partitions:
        expect(p.leader is not None and p.leader.id >= 0, f"describe_topics: partition {p.id} has no leader")
        expect(len(p.replicas) > 0, f"describe_topics: partition {p.id} has no replicas")
        expect(len(p.isr) > 0, f"describe_topics: partition {p.id} has no ISR")

    topic_res = ConfigResource("topic", topic)
    tc = describe_configs(admin, topic_res)
    expect("retention.ms" in tc, "describe_configs(topic): no retention.ms")
    expect_equal("3600000", tc["retention.ms"].value, "describe_configs(topic) retention.ms")
    expect(is_topic_override(tc["retention.ms"]), f"retention.ms source: {tc['retention.ms'].source}")
    expect_equal("2000000", tc["max.message.bytes"].value, "describe_configs(topic) max.message.bytes")
    out["topicConfigs"] = len(tc)

    bc = describe_configs(admin, ConfigResource("broker", str(node.id)))
    expect(len(bc) > 0, f"describe_configs(broker {node.id}): no entries")
    out["brokerConfigs"] = len(bc)

    # Legacy AlterConfigs replaces the whole set of overrides: keep the others by restating them.
    legacy = ConfigResource("topic", topic, set_config={"retention.ms": "5400000", "max.message.bytes": "2000000",
                                                        "cleanup.policy": "delete"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the legacy API is what is under test here
        altered = admin.alter_configs([legacy], request_timeout=TIMEOUT)
    wait(altered[legacy], "alter_configs")
    expect_equal("5400000", describe_configs(admin, topic_res)["retention.ms"].value, "retention.ms after alter_configs")

    inc = ConfigResource("topic", topic, incremental_configs=[
        ConfigEntry("retention.ms", "7200000", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("max.message.bytes", None, incremental_operation=AlterConfigOpType.DELETE),
    ])
    wait(admin.incremental_alter_configs([inc], request_timeout=TIMEOUT)[inc], "incremental_alter_configs")
    after = describe_configs(admin, topic_res)
    expect_equal("7200000", after["retention.ms"].value, "retention.ms after incremental_alter_configs")
    mmb = after.get("max.message.bytes")
    expect(mmb is None or not is_topic_override(mmb),
           f"max.message.bytes still a topic override after DELETE: {mmb}")
    expect_equal("delete", after["cleanup.policy"].value, "cleanup.policy untouched")

    wait(admin.create_partitions([NewPartitions(topic, 3)], operation_timeout=TIMEOUT)[topic], "create_partitions")
    md = admin.list_topics(topic=topic, timeout=TIMEOUT)
    expect_equal(3, len(md.topics[topic].partitions), "partitions after create_partitions")

    base = int(time.time() * 1000) - 600_000
    producer = Producer({**base_conf(bootstrap, "floe-check-admin-producer"), "acks": "all", "linger.ms": 5})
    for i in range(10):
        producer.produce(topic, partition=0, value=f"v{i}".encode(), timestamp=base + i * 10)
    expect_equal(0, producer.flush(30), "messages left after flush")

    def list_offset(spec, partition=0):
        t = TopicPartition(topic, partition)
        return wait(admin.list_offsets({t: spec}, request_timeout=TIMEOUT)[t], "list_offsets")

    expect_equal(0, list_offset(OffsetSpec.earliest()).offset, "list_offsets earliest")
    expect_equal(10, list_offset(OffsetSpec.latest()).offset, "list_offsets latest")
    mx = list_offset(OffsetSpec.max_timestamp())
    expect_equal(9, mx.offset, "list_offsets max_timestamp offset")
    expect_equal(base + 90, mx.timestamp, "list_offsets max_timestamp timestamp")
    bt = list_offset(OffsetSpec.for_timestamp(base + 45))
    expect_equal(5, bt.offset, "list_offsets for_timestamp offset")
    expect_equal(base + 50, bt.timestamp, "list_offsets for_timestamp timestamp")
    expect_equal(-1, list_offset(OffsetSpec.for_timestamp(base + 1_000_000)).offset,
                 "list_offsets for_timestamp beyond the last record")
    expect_equal(0, list_offset(OffsetSpec.latest(), partition=2).offset, "list_offsets latest on partition 2")

    dtp = TopicPartition(topic, 0, 4)
    deleted = admin.delete_records([dtp], request_timeout=TIMEOUT)
    fut = next(iter(deleted.values()))
    expect_equal(4, wait(fut, "delete_records").low_watermark, "delete_records low watermark")
    expect_equal(4, list_offset(OffsetSpec.earliest()).offset, "earliest after delete_records")
    expect_equal(10, list_offset(OffsetSpec.latest()).offset, "latest after delete_records")

    wait(admin.delete_topics([topic], operation_timeout=TIMEOUT)[topic], "delete_topics")
    deadline = time.time() + 10
    while topic in admin.list_topics(timeout=TIMEOUT).topics:
        expect(time.time() < deadline, "topic still listed 10 s after delete_topics")
        time.sleep(0.2)
    out["steps"] = ["describe_cluster", "create_topics", "list_topics", "describe_topics", "describe_configs(topic)",
                    "describe_configs(broker)", "alter_configs", "incremental_alter_configs", "create_partitions",
                    "list_offsets(earliest,latest,max_timestamp,for_timestamp)", "delete_records", "delete_topics"]
    out["ok"] = True
    return out


def is_topic_override(entry):
    # The source may arrive as the enum or as its int value, depending on the binding version.
    return getattr(entry.source, "value", entry.source) == ConfigSource.DYNAMIC_TOPIC_CONFIG.value


def describe_configs(admin, res):
    return wait(admin.describe_configs([res], request_timeout=TIMEOUT)[res], f"describe_configs {res}")


def group_consume(bootstrap, topic, group, expected_count):
    consumer = Consumer({
        **base_conf(bootstrap, "floe-check-group"),
        "group.id": group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 10000,
    })
    records = []
    next_by_partition = {}
    assignment = []
    try:
        consumer.subscribe([topic])
        deadline = time.time() + 45
        extra_poll_done = False
        # One extra poll after reaching the target, so surplus records would be noticed.
        while not extra_poll_done:
            # Only finish once the group has handed us partitions, so "nothing left" means the commits held.
            if len(records) >= expected_count and consumer.assignment():
                extra_poll_done = True
            expect(time.time() < deadline, f"timed out: consumed {len(records)} of {expected_count}")
            msgs = consumer.consume(num_messages=500, timeout=1.0 if extra_poll_done else 0.5)
            got = False
            for msg in msgs:
                if msg.error():
                    if msg.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    raise CheckFailed(f"consume error: {msg.error()}")
                prev = next_by_partition.get(msg.partition())
                expect(prev is None or prev == msg.offset(),
                       f"partition {msg.partition()}: expected offset {prev} got {msg.offset()}")
                next_by_partition[msg.partition()] = msg.offset() + 1
                records.append({"partition": msg.partition(), "offset": msg.offset(),
                                "key": None if msg.key() is None else msg.key().decode(errors="replace"),
                                "value": None if msg.value() is None else msg.value().decode(errors="replace")})
                got = True
            if got:
                consumer.commit(asynchronous=False)
        expect_equal(expected_count, len(records), "records consumed")
        assignment = sorted(tp.partition for tp in consumer.assignment())
        parts = [TopicPartition(topic, p) for p in next_by_partition]
        committed = {}
        for tp in consumer.committed(parts, timeout=TIMEOUT) if parts else []:
            expect(tp.error is None, f"committed() error for partition {tp.partition}: {tp.error}")
            expect_equal(next_by_partition[tp.partition], tp.offset, f"committed offset of partition {tp.partition}")
            committed[str(tp.partition)] = tp.offset
    finally:
        consumer.close()
    per_partition = {}
    for r in records:
        per_partition[str(r["partition"])] = per_partition.get(str(r["partition"]), 0) + 1
    return {"check": "group-consume", **client_info(), "topic": topic, "group": group, "consumed": len(records),
            "assignment": assignment, "perPartition": per_partition, "committed": committed, "records": records}


def emit(event, **fields):
    # Flushed per line: a SIGKILLed member must not lose what it already reported.
    print(json.dumps({"event": event, **fields}), flush=True)


def member(bootstrap, topic, group, options):
    """Long-running group member: prints processed records and commits as JSON lines.

    Commits synchronously after each batch; SIGTERM closes the consumer (LeaveGroup)."""
    import signal
    opt = dict(o.split("=", 1) for o in options)
    conf = {
        **base_conf(bootstrap, opt.get("client", "floe-member")),
        "group.id": group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": int(opt.get("session", "6000")),
        "heartbeat.interval.ms": 1000,
        "max.poll.interval.ms": 20000,
    }
    if "assignor" in opt:
        conf["partition.assignment.strategy"] = opt["assignor"]
    if "instance" in opt:
        conf["group.instance.id"] = opt["instance"]
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    consumer = Consumer(conf)

    def on_assign(c, parts):
        # Cooperative assignors add to what is owned; eager ones start from nothing.
        owned = {p.partition for p in c.assignment()} | {p.partition for p in parts}
        emit("assigned", partitions=sorted(p.partition for p in parts), owned=sorted(owned))

    def on_revoke(_c, parts):
        emit("revoked", partitions=sorted(p.partition for p in parts))

    def on_lost(_c, parts):
        emit("lost", partitions=sorted(p.partition for p in parts))

    consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
    emit("started")
    commit_every = int(opt.get("commitEvery", "1"))
    batches = 0
    try:
        while not stopping:
            msgs = consumer.consume(num_messages=200, timeout=0.2)
            recs = []
            nxt = {}
            for msg in msgs:
                if msg.error():
                    if msg.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    raise CheckFailed(f"consume error: {msg.error()}")
                recs.append([msg.partition(), msg.offset()])
                nxt[msg.partition()] = msg.offset() + 1
            if not recs:
                continue
            emit("records", records=recs)
            batches += 1
            if batches % commit_every != 0:
                continue
            try:
                res = consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in nxt.items()], asynchronous=False)
                ok = {str(tp.partition): tp.offset for tp in res if tp.error is None}
                if ok:
                    emit("committed", offsets=ok)
                bad = [str(tp.error) for tp in res if tp.error is not None]
                if bad:
                    emit("commit-failed", error="; ".join(bad))
            except KafkaException as e:
                # Rebalanced away before the commit landed: the records will be read again elsewhere.
                emit("commit-failed", error=str(e))
    finally:
        consumer.close()
        emit("closed")
    return None


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    pc = sub.add_parser("produce-consume", help="idempotent compressed produce, then assign() read-back")
    pc.add_argument("bootstrap")
    pc.add_argument("topic")
    pc.add_argument("codec", choices=CODECS)
    ad = sub.add_parser("admin", help="AdminClient walk-through over a fresh topic")
    ad.add_argument("bootstrap")
    gc = sub.add_parser("group-consume", help="subscribe()-based group member with commits")
    gc.add_argument("bootstrap")
    gc.add_argument("topic")
    gc.add_argument("group")
    gc.add_argument("expected_count", type=int)
    mb = sub.add_parser("member", help="long-running group member printing JSON events (for the group tests)")
    mb.add_argument("bootstrap")
    mb.add_argument("topic")
    mb.add_argument("group")
    mb.add_argument("options", nargs="*", help="assignor=.. instance=.. session=ms client=.. commitEvery=n")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.command == "produce-consume":
            result = produce_consume(args.bootstrap, args.topic, args.codec)
        elif args.command == "admin":
            result = admin_check(args.bootstrap)
        elif args.command == "member":
            member(args.bootstrap, args.topic, args.group, args.options)
            return 0
        else:
            result = group_consume(args.bootstrap, args.topic, args.group, args.expected_count)
    except CheckFailed as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - any client error is a failed check
        print(f"FAILED with exception: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
