"""Safety policies of the crawler: which addresses may be fetched, the DNS
resolver that enforces it, validation of stored documents, and keeping
credentials out of logs (docs/SAFETY.md)."""
