"""A real local Ray cluster of two nodes on this machine, and a folder of facts to index
on it: for the tests and the benchmark of ``rag index --ray``.

Each node is a ``ray start --block`` process of its own session (process group), so
that it ends with its group, killed by id; a node's raylet can be killed alone (SIGKILL),
as a crashed machine would be. The cluster's files are in a short private temp folder
(Ray's socket paths must stay under 108 bytes), whatever is left there is killed by id
when it ends.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.processes import children
from tests.support.texts import many_sentences

RAY = str(Path(sys.executable).with_name("ray"))
#: Health checks every second, a node dead after 3 missed: a killed raylet is noticed in
#: seconds, not Ray's default 15 s or more.
FAST_HEALTH = {
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
    "RAY_health_check_initial_delay_ms": "1000",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalCluster:
    """``ray start --head`` and more ``ray start --address`` nodes, ``cpus`` each."""

    def __init__(self, cpus: int = 1) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.cpus = cpus
        self.nodes: list[subprocess.Popen] = []
        self.names: list[str] = []
        #: what a driver needs to join: this cluster's own token (not ~/.ray/auth_token)
        self.env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}

    def _start(self, name: str, *args: str) -> subprocess.Popen:
        log = (self.root / f"{name}.log").open("w")
        common = [f"--num-cpus={self.cpus}", "--disable-usage-stats", "--block"]
        memory = "--object-store-memory=200000000"  # not 30 % of the machine's memory
        command = [RAY, "start", *args, f"--temp-dir={self.root / name}", memory, *common]
        node = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **FAST_HEALTH, **self.env},
        )
        self.nodes.append(node)
        self.names.append(name)
        return node

    def start(self, nodes: int = 2) -> LocalCluster:
        """The head and ``nodes - 1`` more nodes, started at once (they join as they come)."""
        self._start(
            "head",
            "--head",
            f"--port={self.port}",
            "--include-dashboard=false",
            f"--dashboard-port={free_port()}",
            f"--ray-client-server-port={free_port()}",
        )
        for i in range(1, nodes):
            self._start(f"node{i}", f"--address={self.address}")
        return self

    def wait(self, seconds: float = 120) -> None:
        """Until every node says it is up (or TimeoutError): a node's ``ray start``
        prints it once its raylet has joined the cluster."""
        deadline = time.monotonic() + seconds
        logs = [self.root / f"{name}.log" for name in self.names]
        while not all("Ray runtime started" in log.read_text() for log in logs):
            if time.monotonic() > deadline or any(n.poll() is not None for n in self.nodes):
                raise TimeoutError(f"the Ray nodes did not start: see {self.root}")
            time.sleep(0.2)

    def raylet(self, node: int) -> int:
        """The pid of node ``node``'s raylet (0: the head)."""
        for pid in children(self.nodes[node].pid):
            try:
                if Path(f"/proc/{pid}/comm").read_text().strip() == "raylet":
                    return pid
            except OSError:
                continue
        raise LookupError(f"node {node} has no raylet")

    def kill_raylet(self, node: int) -> None:
        os.kill(self.raylet(node), signal.SIGKILL)

    def stop(self) -> None:
        """Every node's process group killed, then anything of ours still running there."""
        for node in self.nodes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(node.pid, signal.SIGKILL)
            node.wait(timeout=30)
        for pid in _processes_under(self.root):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)


def _processes_under(root: Path) -> list[int]:
    """Processes whose command line names ``root`` (ours alone: it is a fresh temp dir)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(root).encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return [pid for pid in found if pid != os.getpid()]


#: (fact, question, its answer): one or two to a file, among paragraphs of filler.
FACTS = [
    (
        "The Quillon lighthouse keeper is Edda Varsk.",
        "Who keeps the Quillon lighthouse?",
        "Edda Varsk",
    ),
    ("The Morvath bridge opened in 1887.", "When did the Morvath bridge open?", "1887"),
    ("Brannock cheese is aged in salt caves.", "Where is Brannock cheese aged?", "salt caves"),
    (
        "The Tellurin choir sings every Thursday.",
        "When does the Tellurin choir sing?",
        "every Thursday",
    ),
    (
        "The Opalmere ferry carries 212 passengers.",
        "How many passengers does the Opalmere ferry carry?",
        "212",
    ),
    (
        "Captain Ilse Moraga founded the Kestrel guild.",
        "Who founded the Kestrel guild?",
        "Captain Ilse Moraga",
    ),
    (
        "The Vennic observatory stands on Mount Harl.",
        "Where does the Vennic observatory stand?",
        "Mount Harl",
    ),
    ("Gorsey apples ripen in late October.", "When do Gorsey apples ripen?", "late October"),
    (
        "The Drumlow archive holds 40,000 maps.",
        "How many maps does the Drumlow archive hold?",
        "40,000",
    ),
    ("Petra Aldane designed the Solvig tram.", "Who designed the Solvig tram?", "Petra Aldane"),
    ("The Wexmoor festival is held in Carrow.", "Where is the Wexmoor festival held?", "Carrow"),
    ("The Hollin canal is 38 kilometres long.", "How long is the Hollin canal?", "38 kilometres"),
    ("Orrin Falk painted the Blue Granary.", "Who painted the Blue Granary?", "Orrin Falk"),
    ("The Saltmarsh school teaches weaving.", "What does the Saltmarsh school teach?", "weaving"),
    ("The Ketterby mill grinds rye flour.", "What does the Ketterby mill grind?", "rye flour"),
    ("The Amberly clock was repaired in 2019.", "When was the Amberly clock repaired?", "2019"),
    ("Yara Pelt coaches the Dunmere rowers.", "Who coaches the Dunmere rowers?", "Yara Pelt"),
    (
        "The Fenwick garden grows blue poppies.",
        "What does the Fenwick garden grow?",
        "blue poppies",
    ),
    (
        "The Calder tunnel runs under Lake Mirren.",
        "What does the Calder tunnel run under?",
        "Lake Mirren",
    ),
    ("Tobin Ashe brews the Grellan ale.", "Who brews the Grellan ale?", "Tobin Ashe"),
]


def fact_folder(folder: Path, files: int = 16) -> list[tuple[str, str]]:
    """``files`` files (.txt, .md, one .html, one that is not UTF-8) holding the facts
    among filler of one to three passages; the (question, answer) of each fact."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        facts = [fact for fact, _, _ in FACTS[i::files]]
        filler = many_sentences(400 + 350 * (i % 3), seed=i).split("\n\n")
        body = "\n\n".join([filler[0], *facts, *filler[1:]])
        if i % 5 == 1:
            title = f"# Notes {i}\n\n## Facts\n\n"
            (folder / f"notes-{i:02}.md").write_text(title + body)
        elif i == 2:
            paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
            page = f"<html><head><title>Page {i}</title></head><body>{paragraphs}</body></html>"
            (folder / f"page-{i:02}.html").write_text(page)
        else:
            (folder / f"file-{i:02}.txt").write_text(f"File {i}\n\n{body}")
    (folder / "broken.txt").write_bytes(b"\xff\xfe not UTF-8")
    return [(question, answer) for _, question, answer in FACTS]
