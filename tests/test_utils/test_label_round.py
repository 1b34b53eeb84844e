# Copyright (c) mmseg_sb contributors. All rights reserved.
import hashlib
import os
from collections import OrderedDict

import pytest
import torch

from mmseg_sb.utils import (COMPLETE_MARKER, is_complete_round,
                            mark_round_complete, read_round_stats)
from mmseg_sb.utils.label_round import (LabelProvenance, paths_hash,
                                        read_round_provenance, state_dict_hash)


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


def provenance(**changes):
    fields = dict(
        weights='a' * 64,
        num_images=2,
        images=paths_hash(['x/a.png', 'x/b.png']),
        tta=False,
        pipeline=[dict(type='Resize', scale=(128, 64))],
        seg_map_suffix='_labelTrainIds.png',
        teacher_checkpoint='teacher.pth')
    fields.update(changes)
    return LabelProvenance(**fields)


def test_the_marker_keeps_the_provenance_beside_the_stats(tmp_path):
    folder = str(tmp_path)
    stats = dict(num_images=2, round=1)
    mark_round_complete(folder, stats, provenance())
    assert read_round_stats(folder) == stats
    # It reads back equal, tuples of the config included.
    assert read_round_provenance(folder) == provenance()
    assert provenance().mismatches(read_round_provenance(folder)) == []
    assert read_round_provenance(folder).teacher_checkpoint == 'teacher.pth'


@pytest.mark.parametrize('marker', [
    '{}', '{"num_images": 2}', 'not json', '{"provenance": {"weights": "x"}}'
])
def test_a_marker_without_provenance_is_foreign(tmp_path, marker):
    (tmp_path / COMPLETE_MARKER).write_text(marker)
    assert read_round_provenance(str(tmp_path)) is None
    [reason] = provenance().mismatches(None)
    assert reason.startswith('provenance (the marker records none')


def test_mismatches_name_each_differing_field():
    expected = provenance()
    assert expected.mismatches(provenance(weights='b' * 64)) == [
        f'weights (marker: {"b" * 12}, expected: {"a" * 12})'
    ]
    found = provenance(
        num_images=3,
        images=paths_hash(['x/a.png', 'x/b.png', 'x/c.png']),
        tta=True,
        seg_map_suffix='.png')
    assert [m.split(' ')[0] for m in expected.mismatches(found)
            ] == ['num_images', 'images', 'tta', 'seg_map_suffix']
    assert [
        m.split(' ')[0] for m in expected.mismatches(
            provenance(pipeline=[], label_encoding='png, uint16'))
    ] == ['pipeline', 'label_encoding']
    # The checkpoint a teacher came from is a record, not compared.
    assert expected.mismatches(provenance(teacher_checkpoint=None)) == []
    # No recorded weights (a checkpoint without the record) never match.
    assert expected.mismatches(provenance(weights=None)) == [
        f'weights (marker: not recorded, expected: {"a" * 12})'
    ]
    assert provenance(weights=None).mismatches(provenance(weights=None)) == [
        'weights (marker: not recorded, expected: not recorded)'
    ]


def test_state_dict_hash_is_of_the_contents():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    state = model.state_dict()
    digest = state_dict_hash(state)
    # Independent reference: SHA-256 over name, dtype, shape and bytes in
    # sorted key order.
    ref = hashlib.sha256()
    for key in sorted(state):
        value = state[key]
        ref.update(f'{key}:{value.dtype}:{tuple(value.shape)};'.encode())
        ref.update(value.numpy().tobytes())
    assert digest == ref.hexdigest()
    # Key order and copies do not matter; one value, a dtype or a name do.
    shuffled = OrderedDict(
        reversed([(k, v.clone()) for k, v in state.items()]))
    assert state_dict_hash(shuffled) == digest
    changed = OrderedDict(state, **{'0.weight': state['0.weight'].clone()})
    changed['0.weight'][0, 0, 0, 0] += 1e-6
    assert state_dict_hash(changed) != digest
    as_double = OrderedDict(
        state, **{'1.running_var': state['1.running_var'].double()})
    assert state_dict_hash(as_double) != digest
    renamed = OrderedDict(
        ('x' + k if k == '0.bias' else k, v) for k, v in state.items())
    assert state_dict_hash(renamed) != digest


def test_paths_hash_depends_on_order_and_items():
    assert paths_hash(['a', 'b']) != paths_hash(['b', 'a'])
    assert paths_hash(['a', 'b']) != paths_hash(['a', 'b', 'c'])
    assert paths_hash(['a', 'b']) == paths_hash(('a', 'b'))
