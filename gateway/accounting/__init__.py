"""What requests cost and who did what: the price of a usage record (``pricing``), the ledger's batch
writer with its disk spool (``writer``, ``spool``) and the audit log's hash chain (``chain``)."""
