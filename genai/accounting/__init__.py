"""Reading the gateway's accounting: the usage ledger (``usage``) and the hash-chained audit log
(``chain`` defines an entry's hash, ``audit`` lists and verifies the chain). The gateway writes both
(``gateway.accounting``); the CLI reads them here."""
