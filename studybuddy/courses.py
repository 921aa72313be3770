"""Courses: create, rename, delete (with everything under them)."""

from __future__ import annotations

import logging

from .store import Store, new_id
from .store.models import Course

log = logging.getLogger(__name__)

MAX_NAME = 120


class CourseError(ValueError):
    pass


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise CourseError("Please give the course a name.")
    if len(name) > MAX_NAME:
        raise CourseError("The course name is too long (120 characters at most).")
    if any(ord(c) < 32 for c in name):
        raise CourseError("The course name contains characters that are not allowed.")
    return name


def create_course(store: Store, owner_id: str, name: str) -> Course:
    course = Course(id=new_id(), owner_id=owner_id, name=_clean_name(name))
    store.courses.add(course)
    log.info("course %s created by %s", course.id, owner_id)
    return course


def rename_course(store: Store, course: Course, name: str) -> Course:
    updated = store.courses.update(course.id, name=_clean_name(name))
    assert updated is not None
    return updated


def delete_course(store: Store, course: Course) -> None:
    store.delete_course(course.id)
    log.info("course %s deleted by %s", course.id, course.owner_id)
