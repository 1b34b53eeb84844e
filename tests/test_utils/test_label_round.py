# Copyright (c) mmseg_sb contributors. All rights reserved.
import os

from mmseg_sb.utils import (COMPLETE_MARKER, is_complete_round,
                            mark_round_complete, read_round_stats)


def test_a_round_is_complete_only_once_marked(tmp_path):
    folder = str(tmp_path / 'round_1')
    os.makedirs(folder)
    (tmp_path / 'round_1' / 'a_labelTrainIds.png').write_bytes(b'x')
    assert not is_complete_round(folder)
    stats = dict(num_images=1, round=1, class_share=[0.25, 0.75])
    mark_round_complete(folder, stats)
    assert is_complete_round(folder)
    assert read_round_stats(folder) == stats
    # Written atomically: no temporary file is left behind.
    assert sorted(os.listdir(folder)) == sorted(
        ['a_labelTrainIds.png', COMPLETE_MARKER])
