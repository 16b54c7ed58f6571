"""The browser's reads: ReceiptQuery on a database connection of the browser's own."""

from __future__ import annotations

from bizra_desktop.core.receipts.chain import ReceiptChain
from bizra_desktop.core.receipts.query import ReceiptQuery


class BrowserQuery(ReceiptQuery):
    """Opened and used on the browser's reader thread. The app appends receipts under its chain's
    lock; reading through a chain of our own means a slow filter (a text search runs about a
    second on 100,000 receipts) never holds that lock, nor waits for it."""

    def __init__(self, chain: ReceiptChain) -> None:
        self._own = ReceiptChain(chain.db_path, chain.keys_dir)
        try:
            super().__init__(self._own)
        except BaseException:
            self._own.close()
            raise

    def close(self) -> None:
        self._own.close()
