#include "reports/reporters.hpp"

#include <algorithm>

namespace grader {

const std::vector<ReportFormat>& report_formats() {
  static const std::vector<ReportFormat> formats = {
      {"text", render_text},
      {"json", [](const GradeReport& report, const TextOptions&) { return render_json(report); }},
      {"junit", [](const GradeReport& report, const TextOptions&) { return render_junit(report); }},
      {"gradescope",
       [](const GradeReport& report, const TextOptions&) { return render_gradescope(report); }},
      {"github",
       [](const GradeReport& report, const TextOptions&) { return render_github(report); }},
      {"html", [](const GradeReport& report, const TextOptions&) { return render_html(report); }},
      {"classroom",
       [](const GradeReport& report, const TextOptions&) { return render_classroom(report); }},
  };
  return formats;
}

const ReportFormat* find_report_format(std::string_view name) {
  const auto& formats = report_formats();
  const auto it = std::find_if(formats.begin(), formats.end(),
                               [name](const ReportFormat& format) { return format.name == name; });
  return it == formats.end() ? nullptr : &*it;
}

std::vector<std::string> report_format_names() {
  std::vector<std::string> names;
  for (const auto& format : report_formats()) names.emplace_back(format.name);
  return names;
}

}  // namespace grader
