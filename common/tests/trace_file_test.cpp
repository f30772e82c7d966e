// The trace file format: what the kit writes, the grader's report reads back unchanged, and what
// a test's process may have mangled is read as far as it makes sense.
#include "course/trace_file.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace course::trace_file {
namespace {

Task task_named(std::string name, double start, double end) {
  Task task;
  task.name = std::move(name);
  task.start = start;
  task.end = end;
  return task;
}

TEST(TraceFile, WhatIsWrittenReadsBackTheSame) {
  Document written;
  written.title = "Suite.Name \"quoted\"";
  Task download = task_named("download 1", 0.25, 12.5);
  download.thread = 2;
  download.cpu_ms = 0.3;
  download.segments = {{true, 0.25, 1.0}, {false, 1.0, 12.5}};
  written.tasks.push_back(download);
  written.tasks.push_back(task_named("idle", 1, 2));
  const auto parsed = parse(to_json(written));
  ASSERT_TRUE(parsed.document) << parsed.error;
  const Document& read = *parsed.document;
  EXPECT_EQ(read.title, written.title);
  EXPECT_EQ(read.unit, "ms");
  ASSERT_EQ(read.tasks.size(), 2U);
  EXPECT_EQ(read.tasks[0].name, "download 1");
  EXPECT_EQ(read.tasks[0].thread, 2);
  EXPECT_DOUBLE_EQ(read.tasks[0].end, 12.5);
  EXPECT_DOUBLE_EQ(*read.tasks[0].cpu_ms, 0.3);
  ASSERT_EQ(read.tasks[0].segments.size(), 2U);
  EXPECT_TRUE(read.tasks[0].segments[0].exec);
  EXPECT_FALSE(read.tasks[0].segments[1].exec);
  EXPECT_FALSE(read.tasks[1].cpu_ms);
}

TEST(TraceFile, TimesAreMillisecondsToTheMicrosecond) {
  Document written;
  written.tasks.push_back(task_named("t", 1.23456789, 2.0004999));
  const auto read = parse(to_json(written));
  ASSERT_TRUE(read.document);
  EXPECT_DOUBLE_EQ(read.document->tasks[0].start, 1.235);
  EXPECT_DOUBLE_EQ(read.document->tasks[0].end, 2.0);
}

TEST(TraceFile, AManglingProcessGetsAnErrorOrWhatMakesSense) {
  EXPECT_FALSE(parse("{ not json").document);
  EXPECT_EQ(parse("[1, 2]").error, "invalid JSON");
  EXPECT_EQ(parse(R"({"tasks": 3})").error, "no \"tasks\" array");
  const auto odd = parse(
      R"({"tasks": [7, {"name": 5, "thread": "x", "start": 10, "end": 4,
           "segments": [{"kind": "wait", "start": 12, "end": 11}, "junk"]}]})");
  ASSERT_TRUE(odd.document) << odd.error;
  ASSERT_EQ(odd.document->tasks.size(), 1U);
  const Task& task = odd.document->tasks[0];
  EXPECT_EQ(task.name, "5");
  EXPECT_FALSE(task.thread);
  EXPECT_DOUBLE_EQ(task.end, 10.0) << "a task never ends before it starts";
  ASSERT_EQ(task.segments.size(), 1U);
  EXPECT_DOUBLE_EQ(task.segments[0].end, 12.0);
}

TEST(TraceFile, InvalidUtf8InANameIsReplacedNotThrown) {
  Document written;
  written.tasks.push_back(task_named("bad \xff byte", 0, 1));
  const auto read = parse(to_json(written));
  ASSERT_TRUE(read.document);
  EXPECT_EQ(read.document->tasks[0].name.substr(0, 4), "bad ");
}

}  // namespace
}  // namespace course::trace_file
