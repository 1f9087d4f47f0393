"""A static synthetic web on disk, served by nginx by Host header.

``generate(root, hosts, pages_per_host)`` writes ``root/<host>/index.html`` and
``root/<host>/p<i>.html`` (20-50 KB each, 25 internal links, 5 links to other
hosts, each its own site, so these are backlinks the graph stores);
:class:`Nginx` serves ``root/$host`` on a local port, and is reached as an
HTTP proxy (``http_proxy``), so any host name works.
"""

from __future__ import annotations

import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

__all__ = ["Nginx", "generate", "host_name"]

_WORDS = [
    "backlink",
    "anchor",
    "crawler",
    "frontier",
    "graph",
    "domain",
    "host",
    "page",
    "index",
    "rank",
    "link",
    "site",
    "web",
    "text",
    "html",
    "redis",
    "mongo",
    "queue",
    "worker",
    "fetch",
    "parse",
    "store",
]


def host_name(i: int) -> str:
    """Each host is its own site (registrable domain), so the links between
    hosts are backlinks the graph stores."""
    return f"www.bench-site{i}.org"


def generate(
    root: Path, *, hosts: int, pages_per_host: int, seed: int = 1, distinct: int | None = None
) -> list[str]:
    """Write the web; returns the seed URLs (each host's index).

    With ``distinct`` (fewer than ``hosts``), only that many hosts get files of
    their own and host ``h`` serves the files of host ``h % distinct`` (a
    symbolic link): a web of ``hosts * pages_per_host`` distinct URLs whose
    links reach every host, on a tenth of the disk and generation time."""
    rng = random.Random(seed)
    if root.exists():
        shutil.rmtree(root)
    written = min(hosts, distinct or hosts)
    for h in range(written, hosts):
        root.mkdir(parents=True, exist_ok=True)
        (root / host_name(h)).symlink_to(host_name(h % written))
    for h in range(written):
        host = host_name(h)
        folder = root / host
        folder.mkdir(parents=True)
        index = "".join(f'<a href="/p{i}.html">page {i}</a>\n' for i in range(pages_per_host))
        (folder / "index.html").write_text(f"<html><body>{index}</body></html>")
        for i in range(pages_per_host):
            links = [f'<a href="/p{(i + 1) % pages_per_host}.html">next</a>']
            links += [f'<a href="/p{rng.randrange(pages_per_host)}.html">{rng.choice(_WORDS)}</a>'
                      for _ in range(24)]  # fmt: skip
            links += [
                f'<a href="http://{host_name(rng.randrange(hosts))}/p{rng.randrange(pages_per_host)}'
                f'.html">{rng.choice(_WORDS)} {rng.choice(_WORDS)}</a>'
                for _ in range(5)
            ]
            size = rng.randrange(20_000, 50_000)
            words = []
            length = 0
            while length < size:
                paragraph = " ".join(rng.choice(_WORDS) for _ in range(60))
                words.append(f"<p>{paragraph}</p>")
                length += len(paragraph) + 7
                if len(words) % 8 == 0 and links:
                    words.append(links.pop())
            words.extend(links)
            (folder / f"p{i}.html").write_text(
                f"<html><head><title>{host} {i}</title></head><body>{''.join(words)}</body></html>"
            )
    return [f"http://{host_name(h)}/" for h in range(hosts)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Nginx:
    """nginx in the foreground on a free port, one server block for every host."""

    def __init__(
        self, root: Path, workdir: Path, *, binary: str = "/usr/sbin/nginx",
        access_log: Path | None = None,
    ) -> None:  # fmt: skip
        self.root = root
        self.workdir = workdir
        #: Where nginx logs the time it answered each request (``$msec``,
        #: seconds since the epoch); None: no access log.
        self.access_log = access_log
        self.binary = binary
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Nginx:
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "nginx.conf"
        conf.write_text(f"""
worker_processes 1;
daemon off;
pid {self.workdir}/nginx.pid;
error_log {self.workdir}/error.log;
events {{ worker_connections 1024; }}
http {{
  {self._access_log_directives()}
  default_type text/html;
  keepalive_requests 100000;
  sendfile on;
  tcp_nopush on;
  open_file_cache max=20000 inactive=60s;
  client_body_temp_path {self.workdir}/body;
  proxy_temp_path {self.workdir}/proxy;
  fastcgi_temp_path {self.workdir}/fastcgi;
  uwsgi_temp_path {self.workdir}/uwsgi;
  scgi_temp_path {self.workdir}/scgi;
  server {{
    listen 127.0.0.1:{self.port};
    root {self.root}/$host;
    index index.html;
  }}
}}
""")
        self.process = subprocess.Popen(
            [self.binary, "-c", str(conf), "-p", str(self.workdir)], stderr=subprocess.DEVNULL
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def _access_log_directives(self) -> str:
        if self.access_log is None:
            return "access_log off;"
        return f'log_format stamp "$msec";\n  access_log {self.access_log} stamp;'

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
