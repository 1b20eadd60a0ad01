"""GNN-based communities: Deep Modularity Networks (DMoN, Tsitsulin et al., JMLR 2023) from
torch_geometric, trained per component on the CPU. A GCN layer embeds the tuples (one-hot
features: the graph structure is all there is), ``DMoNPooling`` learns soft assignments that
maximise modularity with a collapse regulariser; each tuple goes to its argmax cluster.
Unsupervised, so no labels are needed; components above ``max_nodes`` fall back to Leiden."""

from __future__ import annotations

from typing import Any

import numpy as np

from lakefuse.sets.common import Component, LocalSets, PerComponent
from lakefuse.sets.community import groups, leiden_split


class GNNCommunities(PerComponent):
    name = "gnn"

    def __init__(
        self,
        hidden: int = 32,
        epochs: int = 50,
        lr: float = 0.02,
        max_nodes: int = 1000,
        seed: int = 0,
    ) -> None:
        self.hidden = hidden
        self.epochs = epochs
        self.lr = lr
        self.max_nodes = max_nodes
        self.seed = seed

    def split(self, comp: Component) -> LocalSets:
        if comp.k > self.max_nodes:
            self.stats["fallback_leiden"] = self.stats.get("fallback_leiden", 0) + 1
            return leiden_split(comp)
        import torch
        from torch_geometric.nn import DMoNPooling, GCNConv

        threads = torch.get_num_threads()
        # one thread on purpose (unlike the all-cores default of lakefuse.threads):
        # a component is at most max_nodes tuples, a tiny dense problem on which threads
        # only add overhead
        torch.set_num_threads(1)
        try:
            return self._train(comp, torch, DMoNPooling, GCNConv)
        finally:
            torch.set_num_threads(threads)

    def _train(self, comp: Component, torch: Any, pool_cls: Any, conv_cls: Any) -> LocalSets:
        torch.manual_seed(self.seed)
        k = comp.k
        n_clusters = max(2, min(k, (k + 1) // 2))
        edge_index = torch.tensor(
            np.concatenate([np.stack([comp.l, comp.r]), np.stack([comp.r, comp.l])], axis=1),
            dtype=torch.long,
        )
        weight = torch.tensor(np.concatenate([comp.w, comp.w]), dtype=torch.float32)
        adj = torch.zeros((k, k))
        adj[edge_index[0], edge_index[1]] = weight
        x = torch.eye(k)
        conv = conv_cls(k, self.hidden)
        pool = pool_cls([self.hidden, self.hidden], n_clusters)
        params = list(conv.parameters()) + list(pool.parameters())
        opt = torch.optim.Adam(params, lr=self.lr)
        for _ in range(self.epochs):
            opt.zero_grad()
            h = conv(x, edge_index, weight).relu()
            _, _, _, spectral, ortho, cluster = pool(h.unsqueeze(0), adj.unsqueeze(0))
            loss = spectral + ortho + cluster
            loss.backward()
            opt.step()
        with torch.no_grad():
            h = conv(x, edge_index, weight).relu()
            s = pool(h.unsqueeze(0), adj.unsqueeze(0))[0][0]
        return groups(s.argmax(dim=-1).numpy())
