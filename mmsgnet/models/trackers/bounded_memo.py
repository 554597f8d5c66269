"""A tracker memo whose size does not grow with a track's length.

mmdet's ``BaseTracker.update`` appends every frame's entries (box, embedding, masks, ...) to
the lists of a track's memo and never drops them, so a track that lives for the whole of a
long video holds one entry per frame of it: memory that grows with the video's length
(for SipMask-VIS, a full-size mask per frame). The association only reads a track's last
entries, so a tracker with this mixin keeps the last ``memo_len`` of each list.
"""


class BoundedMemoMixin:
    """Keeps the last ``memo_len`` entries of each of a track's memo lists (set
    ``memo_len`` in ``__init__``; before ``BaseTracker`` in the bases)."""

    memo_len: int = 1

    def update_track(self, id: int, obj) -> None:
        super().update_track(id, obj)
        for entries in self.tracks[id].values():
            if isinstance(entries, list) and len(entries) > self.memo_len:
                del entries[:-self.memo_len]
