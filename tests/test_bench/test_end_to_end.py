# Copyright (c) mmseg_sb contributors. All rights reserved.
"""bench/end_to_end.py, the last step of bench/gpu_check.sh, in its tiny
mode: both rounds, labeling with TTA, the export loaded by plain MMSeg in a
process without mmseg_sb, its logits equal to the self-training model's."""
import os.path as osp
import re
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
pytestmark = pytest.mark.slow


def test_tiny_end_to_end_run_checks_the_export(tmp_path):
    out = tmp_path / 'report.md'
    result = subprocess.run([
        sys.executable, 'end_to_end.py', '--tiny', '--iters', '2',
        '--work-dir',
        str(tmp_path / 'e2e'), '--out',
        str(out)
    ],
                            cwd=osp.join(REPO, 'bench'),
                            capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    report = out.read_text()
    assert 'end to end: OK' in report
    assert 'plain MMSeg (EncoderDecoder)' in report
    diff = float(re.search(r'max abs difference \| (\S+)', report).group(1))
    assert diff <= 1e-4
    # Round 1 trained on labels of all 8 unlabeled images.
    assert re.search(r'labeling, TTA .* \| 8 images, ', report)
    assert (tmp_path / 'e2e/run/export/model.pth').is_file()
