"""Detection, landmarks, alignment and quality on real faces from ../shared."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from seuil.engine.detection import CascadeDetector, CnnDetector, HogDetector, TrackingDetector
from seuil.engine.images import decode_image, load_image
from seuil.engine.landmarks import Dlib5PointPredictor, align
from seuil.engine.models import dlib_model_files
from seuil.engine.quality import ENROLMENT, QualityCode, assess
from seuil.ports.face import ChipSpec

CHIP = ChipSpec()


@pytest.fixture(scope="module")
def files():
    return dlib_model_files()


@pytest.fixture(scope="module")
def hog():
    return HogDetector(upsample=1, max_side=1024)


@pytest.fixture(scope="module")
def predictor(files):
    return Dlib5PointPredictor(files.landmarks5)


@pytest.fixture(scope="module")
def lfw_face(shared):
    return load_image(shared / "faces/lfw/images/Aaron_Eckhart/Aaron_Eckhart_0001.jpg")


def _grade(image, hog, predictor, others=None):
    boxes = hog.detect(image)
    assert boxes, "no face found"
    box = max(boxes, key=lambda b: b.area)
    lm = predictor.predict(image, box)
    chip = align(image, box, lm, CHIP)
    rest = [b for b in boxes if b is not box] if others is None else others
    return assess(chip, lm, box, rest, ENROLMENT), chip, lm


def test_good_photo_is_accepted(lfw_face, hog, predictor):
    report, chip, lm = _grade(lfw_face, hog, predictor)
    assert chip.shape == (150, 150, 3)
    assert report.acceptable, report.issues
    assert 0.3 < report.score <= 1.0
    # Eyes are level-ish and the nose sits below them.
    assert lm.nose.y > lm.eye_left.y and lm.nose.y > lm.eye_right.y


@pytest.mark.parametrize("name", ["obama-240p.jpg", "obama-1080p.jpg", "32bit.png"])
def test_any_size_and_mode(shared, hog, predictor, name):
    image = load_image(shared / "faces/portraits" / name)
    report, _, _ = _grade(image, hog, predictor)
    assert report.measures["inter_ocular_px"] > 0


def test_grey_image(lfw_face, hog, predictor):
    grey = np.repeat(cv2.cvtColor(lfw_face, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)
    report, _, _ = _grade(np.ascontiguousarray(grey), hog, predictor)
    assert report.acceptable


def test_exif_rotated_jpeg_is_upright(lfw_face, hog):
    # Store the face rotated on its side, with an EXIF tag saying how to display it.
    stored = Image.fromarray(lfw_face).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    stored.save(buf, "JPEG", exif=exif.tobytes(), quality=95)
    assert not hog.detect(np.asarray(stored.convert("RGB")))  # sideways: HOG cannot see it
    assert hog.detect(decode_image(buf.getvalue()))


def test_blurred_dark_overexposed(lfw_face, hog, predictor):
    box = max(hog.detect(lfw_face), key=lambda b: b.area)
    lm = predictor.predict(lfw_face, box)

    def grade(img):
        return {i.code for i in assess(align(img, box, lm, CHIP), lm, box, [], ENROLMENT).issues}

    blurred = cv2.GaussianBlur(lfw_face, (0, 0), 4)
    dark = (lfw_face.astype(np.float32) * 0.15).astype(np.uint8)
    bright = np.clip(lfw_face.astype(np.float32) * 2.5 + 60, 0, 255).astype(np.uint8)
    assert QualityCode.BLURRED in grade(blurred)
    assert QualityCode.TOO_DARK in grade(dark)
    assert QualityCode.OVEREXPOSED in grade(bright)
    assert grade(lfw_face) == set()


def test_face_too_small(lfw_face, hog, predictor):
    small = np.asarray(Image.fromarray(lfw_face).resize((90, 90)))
    big_canvas = np.full((200, 200, 3), 128, np.uint8)
    big_canvas[55:145, 55:145] = small
    detector = HogDetector(upsample=2, max_side=1024)
    report, _, _ = _grade(np.ascontiguousarray(big_canvas), detector, predictor)
    assert QualityCode.TOO_SMALL in {i.code for i in report.issues}


def test_two_people(shared, hog, predictor):
    image = load_image(shared / "faces/portraits/two_people.jpg")
    assert len(hog.detect(image)) >= 2
    report, _, _ = _grade(image, hog, predictor)
    assert QualityCode.SEVERAL_FACES in {i.code for i in report.issues}


def test_head_turned(shared, hog, predictor):
    # A profile-ish face: mirror-shift the landmarks' nose far to one side.
    from seuil.domain.faces import Landmarks5, Point
    from seuil.engine.quality import yaw_ratio

    image = load_image(shared / "faces/lfw/images/Aaron_Eckhart/Aaron_Eckhart_0001.jpg")
    box = max(hog.detect(image), key=lambda b: b.area)
    lm = predictor.predict(image, box)
    assert abs(yaw_ratio(lm)) < 0.2
    turned = Landmarks5((*lm.points[:4], Point(lm.nose.x + lm.inter_ocular * 0.6, lm.nose.y)))
    chip = align(image, box, lm, CHIP)
    issues = {i.code for i in assess(chip, turned, box, [], ENROLMENT).issues}
    assert QualityCode.HEAD_TURNED in issues


def test_noise_has_no_face(hog):
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (300, 300, 3), dtype=np.uint8)
    assert hog.detect(noise) == []


def test_cnn_finds_what_hog_misses(files, lfw_face):
    # A strongly rotated face defeats HOG; MMOD is more tolerant.
    cnn = CnnDetector(files.cnn_detector, upsample=1, max_side=800)
    boxes = cnn.detect(lfw_face)
    assert len(boxes) == 1 and boxes[0].score > 0.5
    cascade = CascadeDetector([HogDetector(0), cnn])
    assert cascade.detect(lfw_face)


def test_tracking_reuses_the_region(shared):
    from seuil.adapters.video_file import iter_video_frames

    tracker = TrackingDetector(HogDetector(upsample=0, max_side=640), full_scan_every=5)
    counts = [
        len(tracker.detect(f.image))
        for f in iter_video_frames(shared / "video/biden.mp4", fps=10, max_frames=20)
    ]
    assert sum(c > 0 for c in counts) >= 18
    # Full scan on the first frame and every 5 ROI frames after it: 4 full, 16 ROI.
    assert tracker.stats == {"roi": 16, "full": 4}


def test_strided_crop_gives_the_same_result_as_a_copy(lfw_face, hog, predictor):
    # dlib reads pixel rows as packed: a numpy view of a crop must be copied first.
    view = lfw_face[20:230, 30:220]
    assert not view.flags.c_contiguous
    copy = np.ascontiguousarray(view)
    assert hog.detect(view) == hog.detect(copy)
    box = hog.detect(copy)[0]
    assert predictor.predict(view, box) == predictor.predict(copy, box)
    np.testing.assert_array_equal(
        align(view, box, predictor.predict(copy, box), CHIP),
        align(copy, box, predictor.predict(copy, box), CHIP),
    )
