"""The whole engine on real faces: templates, probes from video, 1:1 scores."""

from __future__ import annotations

import numpy as np
import pytest

from seuil.adapters.video_file import iter_video_frames
from seuil.domain.errors import InvalidImageError
from seuil.engine.enrolment import enrol_photos
from seuil.engine.probe import probe_from_frames
from seuil.engine.quality import QualityCode


def _photos(folder, n):
    return sorted(folder.glob("*.jpg"))[:n]


@pytest.fixture(scope="module")
def obama_template(shared, enrol_engine):
    result = enrol_photos(enrol_engine, _photos(shared / "video/enrol/obama", 8))
    assert result.template is not None
    return result.template


def test_embeddings_are_unit_length_and_flip_invariant(shared, enrol_engine):
    face = enrol_engine.encode_path(shared / "faces/portraits/obama.jpg")
    assert face is not None
    assert face.embedding.shape == (128,)
    assert np.linalg.norm(face.embedding) == pytest.approx(1.0, abs=1e-5)
    chip = face.analysis.chip
    a, b = enrol_engine.embed_chips([chip, np.ascontiguousarray(chip[:, ::-1])])
    assert float(a @ b) > 0.999  # TTA averages a chip with its mirror: symmetric result


def test_same_person_scores_higher_than_others(shared, enrol_engine):
    lfw = shared / "faces/lfw/images"
    bush = [enrol_engine.encode_path(p) for p in _photos(lfw / "George_W_Bush", 4)]
    powell = [enrol_engine.encode_path(p) for p in _photos(lfw / "Colin_Powell", 4)]
    genuine = [float(bush[0].embedding @ b.embedding) for b in bush[1:]]
    impostor = [float(bush[i].embedding @ powell[i].embedding) for i in range(4)]
    assert min(genuine) > max(impostor)


def test_video_probe_matches_its_owner_only(shared, gate_engine, obama_template):
    def probe(name):
        frames = (f.image for f in iter_video_frames(shared / "video" / name, 5, max_frames=15))
        return probe_from_frames(gate_engine, frames)

    obama, biden = probe("obama.mp4"), probe("biden.mp4")
    assert obama.frames_with_face >= 10 and biden.frames_with_face >= 10
    assert float(obama.embedding @ obama_template) > float(biden.embedding @ obama_template) + 0.1


def test_enrolment_refuses_bad_photos_with_reasons(shared, enrol_engine, tmp_path):
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not a jpeg at all")
    noise = tmp_path / "noise.png"
    from PIL import Image

    Image.fromarray(np.random.default_rng(1).integers(0, 255, (200, 200, 3), np.uint8)).save(noise)
    result = enrol_photos(
        enrol_engine,
        [
            junk,
            noise,
            shared / "faces/portraits/two_people.jpg",
            shared / "faces/portraits/obama.jpg",
        ],
    )
    by_name = {v.source: v for v in result.verdicts}
    assert "not an image" in by_name["junk.jpg"].error
    assert by_name["noise.png"].issues[0].code is QualityCode.NO_FACE
    assert "visage" in by_name["noise.png"].issues[0].message_fr
    assert QualityCode.SEVERAL_FACES in {i.code for i in by_name["two_people.jpg"].issues}
    assert by_name["obama.jpg"].accepted
    assert result.accepted == 1 and result.template is not None


def test_encode_path_raises_on_corrupt_file(enrol_engine, tmp_path):
    bad = tmp_path / "x.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    with pytest.raises(InvalidImageError):
        enrol_engine.encode_path(bad)
