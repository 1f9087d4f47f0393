"""Authority scores for hosts and domains: PageRank, harmonic centrality, rating.

The stages, one module each:

* :mod:`.load` reads the live external links from MongoDB into graphs;
* :mod:`.graph` holds a graph as sparse matrices (all links, dofollow);
* :mod:`.pagerank`, :mod:`.harmonic` (with :mod:`.hyperloglog`) and
  :mod:`.rating` are pure functions on those matrices;
* :mod:`.scores` computes every score of one graph;
* :mod:`.store` writes them to ``hosts`` and ``domains``;
* :mod:`.job` runs the three on one machine, :mod:`.spark_job` on a
  Spark cluster.

``docs/RANKING.md`` defines every score and field.
"""

from __future__ import annotations

from .graph import EdgeCollector, LinkGraph, build_adjacency
from .harmonic import HarmonicResult, harmonic_centrality, harmonic_exact, harmonic_hyperball
from .job import RankReport, rank_database
from .load import LEVELS, LoadedGraphs, load_graphs
from .pagerank import PageRankResult, pagerank
from .rating import rating
from .scores import RankOptions, Scores, TopRow, score_graph
from .store import COLLECTIONS, FIELDS, HOSTS, write_scores

__all__ = [
    "COLLECTIONS",
    "FIELDS",
    "HOSTS",
    "LEVELS",
    "EdgeCollector",
    "HarmonicResult",
    "LinkGraph",
    "LoadedGraphs",
    "PageRankResult",
    "RankOptions",
    "RankReport",
    "Scores",
    "TopRow",
    "build_adjacency",
    "harmonic_centrality",
    "harmonic_exact",
    "harmonic_hyperball",
    "load_graphs",
    "pagerank",
    "rank_database",
    "rating",
    "score_graph",
    "write_scores",
]
