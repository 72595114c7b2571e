"""Geometry of a detected face: boxes and landmark points. Standard library only."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class FaceBox:
    """A face rectangle in image pixel coordinates (right/bottom exclusive)."""

    left: int
    top: int
    right: int
    bottom: int
    score: float = 0.0

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    @property
    def centre(self) -> Point:
        return Point((self.left + self.right) / 2.0, (self.top + self.bottom) / 2.0)

    def scaled(self, factor: float) -> FaceBox:
        return FaceBox(
            round(self.left * factor),
            round(self.top * factor),
            round(self.right * factor),
            round(self.bottom * factor),
            self.score,
        )

    def iou(self, other: FaceBox) -> float:
        ix = max(0, min(self.right, other.right) - max(self.left, other.left))
        iy = max(0, min(self.bottom, other.bottom) - max(self.top, other.top))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Landmarks5:
    """dlib's 5-point layout: two corners of each eye and the base of the nose.

    Points 0-1 are the outer and inner corner of the subject's left eye (image right),
    points 2-3 the outer and inner corner of the right eye (image left), point 4 the
    nose base.
    """

    points: tuple[Point, Point, Point, Point, Point]

    @property
    def eye_left(self) -> Point:
        a, b = self.points[0], self.points[1]
        return Point((a.x + b.x) / 2.0, (a.y + b.y) / 2.0)

    @property
    def eye_right(self) -> Point:
        a, b = self.points[2], self.points[3]
        return Point((a.x + b.x) / 2.0, (a.y + b.y) / 2.0)

    @property
    def nose(self) -> Point:
        return self.points[4]

    @property
    def inter_ocular(self) -> float:
        el, er = self.eye_left, self.eye_right
        return float(((el.x - er.x) ** 2 + (el.y - er.y) ** 2) ** 0.5)
