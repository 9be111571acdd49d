#!/usr/bin/env python3
"""confluent-kafka through a leader change: an idempotent acks=all producer runs for a while
(the test SIGKILLs a partition leader meanwhile), then an assign() consumer reads everything back.

Prints {"event":"acked","count":n} every 50 acknowledgements, then one summary line (JSON).
Usage: failover_client.py <bootstrap> <topic> <partitions> <seconds>
"""
import json
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition


def main():
    bootstrap, topic, partitions, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    conf = {"bootstrap.servers": bootstrap, "broker.address.family": "v4", "client.id": "failover-python"}
    producer = Producer({**conf, "enable.idempotence": True, "acks": "all", "linger.ms": 5,
                         "message.timeout.ms": 60000, "retry.backoff.ms": 100,
                         "topic.metadata.refresh.interval.ms": 1000})
    acked = {}  # (partition, offset) -> value
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(str(err))
            return
        acked[(msg.partition(), msg.offset())] = msg.value().decode()
        if len(acked) % 50 == 0:
            print(json.dumps({"event": "acked", "count": len(acked)}, separators=(",", ":")), flush=True)

    sent = 0
    deadline = time.time() + seconds
    while time.time() < deadline:
        producer.produce(topic, value=f"py-{sent}".encode(), key=f"k-{sent}".encode(), partition=sent % partitions,
                         on_delivery=on_delivery)
        sent += 1
        producer.poll(0)
        time.sleep(0.005)
    left = producer.flush(90)

    consumer = Consumer({**conf, "group.id": "failover-python-reader", "enable.auto.commit": False,
                         "auto.offset.reset": "earliest"})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    want = {}
    for (p, o) in acked:
        want[p] = max(want.get(p, -1), o)
    seen = {}
    dups = 0
    read_deadline = time.time() + 60
    while time.time() < read_deadline and any(seen.get(p, -1) < o for p, o in want.items()):
        msg = consumer.poll(0.5)
        if msg is None or msg.error() is not None:
            continue
        key = (msg.partition(), msg.offset())
        if key in seen:
            dups += 1
        seen[key] = msg.value().decode() if msg.value() is not None else None
        seen[msg.partition()] = max(seen.get(msg.partition(), -1), msg.offset())
    consumer.close()
    missing = [f"{p}@{o}" for (p, o), v in acked.items() if seen.get((p, o)) != v]
    values = [v for k, v in seen.items() if isinstance(k, tuple)]
    print(json.dumps({"client": "python", "sent": sent, "acked": len(acked), "unflushed": left, "errors": errors[:5],
                      "errorCount": len(errors), "consumed": len(values), "duplicateValues": len(values) - len(set(values)),
                      "redelivered": dups, "missing": len(missing), "missingSample": missing[:5]}, separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()
