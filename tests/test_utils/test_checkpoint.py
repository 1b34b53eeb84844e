# Copyright (c) mmseg_sb contributors. All rights reserved.
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner import CheckpointLoader

from mmseg_sb.utils import history_buffer_method, load_from_local, load_teacher
from mmseg_sb.utils.checkpoint import check_resumable, shape_mismatches


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


@pytest.mark.parametrize('content', [b'', b'not a checkpoint\n', 'half'])
def test_a_teacher_that_is_no_checkpoint_is_named(tmp_path, content):
    path = str(tmp_path / 'teacher.pth')
    if content == 'half':  # a torch.save cut short
        torch.save(torch.nn.Linear(4, 3).state_dict(), path)
        with open(path, 'rb') as f:
            content = f.read()[:200]
    with open(path, 'wb') as f:
        f.write(content)
    with pytest.raises(ValueError, match=f'{path} is not a readable'):
        load_teacher(torch.nn.Linear(4, 3), path)


def test_a_pickle_without_weights_is_no_checkpoint(tmp_path):
    path = str(tmp_path / 'list.pth')
    torch.save([1, 2, 3], path)
    with pytest.raises(ValueError, match='holds no state dict'):
        load_teacher(torch.nn.Linear(4, 3), path)


def test_shape_mismatches():
    model = torch.nn.Linear(4, 3).state_dict()
    state = dict(
        weight=torch.zeros(5, 4),
        bias=torch.zeros(3),
        extra=torch.zeros(2),
        other='not a tensor')
    assert shape_mismatches(state, model) == [('weight', (5, 4), (3, 4))]
    assert shape_mismatches(dict(bias=1.0), model) == [('bias', None, (3, ))]
    assert shape_mismatches(model, model) == []


def test_check_resumable():
    model = torch.nn.Linear(4, 3)
    same = dict(state_dict=model.state_dict(), meta=dict(iter=5))
    assert check_resumable(model, same, 6) is None
    # Another num_classes: the head's weights change shape.
    other = dict(
        state_dict=torch.nn.Linear(4, 5).state_dict(), meta=dict(iter=5))
    with pytest.raises(
            ValueError, match=r'weight: checkpoint \(5, 4\), '
            r'model \(3, 4\)'):
        check_resumable(model, other, 6)
    with pytest.raises(
            ValueError,
            match='iteration 5, past the end of the '
            r'configured run \(4 iterations\)'):
        check_resumable(model, same, 4)
    assert 'nothing is left to train' in check_resumable(model, same, 5)
