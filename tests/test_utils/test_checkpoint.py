# Copyright (c) mmseg_sb contributors. All rights reserved.
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner import CheckpointLoader

from mmseg_sb.utils import history_buffer_method, load_from_local


class _Exploit:

    def __reduce__(self):
        return (os.system, ('echo pwned', ))


def test_loads_mmengine_objects_with_weights_only(tmp_path):
    hub = MessageHub.get_instance('test_checkpoint')
    hub.update_scalar('train/loss', np.float64(0.5))
    hub.update_info('iter', 7)
    checkpoint = dict(
        meta=dict(seed=np.int64(3), dataset_meta=dict(classes=('a', 'b'))),
        message_hub=hub.state_dict(),
        state_dict=dict(w=torch.ones(2)))
    path = str(tmp_path / 'ckpt.pth')
    torch.save(checkpoint, path)
    # MMEngine's own entry point uses the registered loader.
    loaded = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    buffer = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.mean() == pytest.approx(0.5)
    assert loaded['meta']['seed'] == 3
    torch.testing.assert_close(loaded['state_dict']['w'], torch.ones(2))


def test_refuses_arbitrary_objects(tmp_path):
    path = str(tmp_path / 'evil.pth')
    torch.save({'x': _Exploit()}, path)
    with pytest.raises(pickle.UnpicklingError):
        load_from_local(path)


def test_restricted_getattr():
    assert history_buffer_method(HistoryBuffer, 'mean') is HistoryBuffer.mean
    with pytest.raises(pickle.UnpicklingError, match='__init__'):
        history_buffer_method(HistoryBuffer, '__init__')
    with pytest.raises(pickle.UnpicklingError):
        history_buffer_method(os, 'system')


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_from_local(str(tmp_path / 'nope.pth'))
