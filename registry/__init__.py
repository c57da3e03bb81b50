"""The model registry: every servable model is an MLflow registered model whose versions record what it
takes to serve them, with three aliases (champion, challenger, previous-champion) and tags for evaluation
results and gate decisions.

* ``registry.spec``: ``ModelSpec``, what one version records (kind, upstream or workers, served model,
  context window, price, vLLM arguments, retrieval, provenance); immutable once registered.
* ``registry.refs``: how a model is named in a request or on the command line (``NAME``, ``NAME@alias``,
  ``NAME/N``).
* ``registry.client``: ``ModelRegistry``, register / read / alias / promote / rollback on MLflow, and
  ``snapshot()``, the whole registry as plain data (``registry.snapshot``) that a gateway polls.
* ``registry.moves``: ``AliasMove``, what a promotion or rollback did to the aliases.
* ``registry.mlflow_store`` and ``registry.provenance``: the client's MLflow plumbing and the code
  version and settings digest a version records.

mlflow is imported only inside functions, so importing this package costs nothing. docs/registry.md is
the user's guide.
"""
