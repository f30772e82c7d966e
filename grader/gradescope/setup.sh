#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image
# (choose the Ubuntu 24.04 base image). The course is in /autograder/source.
set -euo pipefail
cd /autograder/source
grader/install-deps
# Build the grader and the sanitizer configurations now, so that grading a
# submission only compiles the student's files.
grader/grader list
