"""SQS's short polling as AWS answers it, where moto 5.2.5 returns every visible message
(docs/aws-behaviour.md rule 45). Installed by tools/emulator.py with --aws-rules (a patch of
moto's SQSBackend.receive_message and Queue.messages, in the emulator's own process):

- A ReceiveMessage whose wait is 0 (WaitTimeSeconds 0, or not given on a queue whose
  ReceiveMessageWaitTimeSeconds is 0: moto works out which) is a short poll: "a weighted random
  set of machines is sampled on a ReceiveMessage call. Therefore, only the messages on the sampled
  machines are returned ... If the number of messages in the queue is extremely small, you might
  not receive any messages in a particular ReceiveMessage response" (SQS API Reference,
  ReceiveMessage). Here each message lives on one of MACHINES machines (drawn when a short poll
  first sees it; the messages of a machine are missed together), and each short poll samples
  each machine with probability SAMPLED, both drawn from a generator seeded by --seed (the same
  calls give the same answers): a random subset of the visible messages, possibly none. The
  messages not sampled are untouched (not received, no receive count, no visibility change).
- A long poll (a wait above 0) "queries all of the servers": moto's answer, unchanged.
- FIFO queues are not sampled (their order is the point of them).

    configure(rng)     # a random.Random (the emulator's --seed), or None: moto's own behaviour
    install()          # once, before the first SQS request reaches moto
"""

import threading

MACHINES = 4
SAMPLED = 0.5

_local = threading.local()  # .hidden: (queue, ids of the messages this receive does not see)
_lock = threading.Lock()
_rng = None
_installed = False


def configure(rng):
    global _rng
    _rng = rng


def sample(queue):
    """The ids of the visible messages on machines this short poll does not sample."""
    with _lock:
        sampled = {m for m in range(MACHINES) if _rng.random() < SAMPLED}
        hidden = set()
        for m in queue.messages:
            if "_emu_machine" not in m.__dict__:
                m._emu_machine = _rng.randrange(MACHINES)
            if m._emu_machine not in sampled:
                hidden.add(id(m))
    return hidden


def install():
    global _installed
    with _lock:
        if _installed:
            return
        _install()
        _installed = True


def _install():
    from moto.sqs.models import Queue, SQSBackend

    visible = Queue.messages.fget

    def messages(self):
        out = visible(self)
        hidden = getattr(_local, "hidden", None)
        if hidden is not None and hidden[0] is self:
            out = [m for m in out if id(m) not in hidden[1]]
        return out

    Queue.messages = property(messages)
    receive = SQSBackend.receive_message

    def receive_message(self, queue_name, count, wait_seconds_timeout, visibility_timeout, *args, **kwargs):
        if _rng is None or wait_seconds_timeout:
            return receive(self, queue_name, count, wait_seconds_timeout, visibility_timeout, *args, **kwargs)
        queue = self.get_queue(queue_name)
        if queue.fifo_queue:
            return receive(self, queue_name, count, wait_seconds_timeout, visibility_timeout, *args, **kwargs)
        _local.hidden = (queue, sample(queue))
        try:
            return receive(self, queue_name, count, wait_seconds_timeout, visibility_timeout, *args, **kwargs)
        finally:
            _local.hidden = None

    SQSBackend.receive_message = receive_message
