#include "course/trace_file.hpp"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

namespace course::trace_file {

namespace {

using nlohmann::json;

// Three decimals, as the format shows milliseconds to the microsecond.
double rounded(double ms) { return std::round(ms * 1000.0) / 1000.0; }

double number_or(const json& object, const char* key, double fallback) {
  const auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<double>() : fallback;
}

std::string text_of(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return {};
  return it->is_string() ? it->get<std::string>() : it->dump();
}

Task parse_task(const json& item) {
  Task task;
  task.name = text_of(item, "name");
  if (const auto it = item.find("thread"); it != item.end() && it->is_number_integer()) {
    task.thread = it->get<std::int64_t>();
  }
  task.start = number_or(item, "start", 0.0);
  task.end = std::max(task.start, number_or(item, "end", task.start));
  if (const auto it = item.find("cpu_ms"); it != item.end() && it->is_number()) {
    task.cpu_ms = it->get<double>();
  }
  if (const auto it = item.find("segments"); it != item.end() && it->is_array()) {
    for (const auto& s : *it) {
      if (!s.is_object()) continue;
      Segment segment;
      segment.exec = text_of(s, "kind") != "wait";
      segment.start = number_or(s, "start", task.start);
      segment.end = std::max(segment.start, number_or(s, "end", segment.start));
      task.segments.push_back(segment);
    }
  }
  return task;
}

}  // namespace

std::string to_json(const Document& document) {
  json tasks = json::array();
  for (const Task& task : document.tasks) {
    json segments = json::array();
    for (const Segment& segment : task.segments) {
      segments.push_back({{"kind", segment.exec ? "exec" : "wait"},
                          {"start", rounded(segment.start)},
                          {"end", rounded(segment.end)}});
    }
    json item = {{"name", task.name},
                 {"thread", task.thread ? json(*task.thread) : json(nullptr)},
                 {"start", rounded(task.start)},
                 {"end", rounded(task.end)},
                 {"cpu_ms", task.cpu_ms ? json(rounded(*task.cpu_ms)) : json(nullptr)},
                 {"segments", std::move(segments)}};
    tasks.push_back(std::move(item));
  }
  const json out = {
      {"title", document.title}, {"unit", document.unit}, {"tasks", std::move(tasks)}};
  // Invalid UTF-8 in a task's name (a test may name tasks after bytes it read) is replaced, not
  // thrown: a trace is a teaching aid, never a reason for a test to fail.
  return out.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

Parsed parse(std::string_view text) {
  const json document = json::parse(text, nullptr, false);
  if (document.is_discarded() || !document.is_object()) return {std::nullopt, "invalid JSON"};
  const auto tasks = document.find("tasks");
  if (tasks == document.end() || !tasks->is_array()) return {std::nullopt, "no \"tasks\" array"};
  Document parsed;
  parsed.title = text_of(document, "title");
  if (const std::string unit = text_of(document, "unit"); !unit.empty()) parsed.unit = unit;
  for (const auto& item : *tasks) {
    if (item.is_object()) parsed.tasks.push_back(parse_task(item));
  }
  return {std::move(parsed), {}};
}

}  // namespace course::trace_file
