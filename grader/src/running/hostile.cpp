#include "running/hostile.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "building/build.hpp"
#include "course/manifest.hpp"
#include "course/util.hpp"
#include "running/proc.hpp"
#include "running/process.hpp"
#include "running/sandbox.hpp"

namespace grader {

namespace {

using Clock = std::chrono::steady_clock;

struct Attack {
  fs::path file;
  std::string name;
  std::string description;
  std::string base = "skeleton";              // skeleton, reference or none
  std::optional<double> expect_link;          // score with every layer on
  std::optional<double> expect_runtime;       // score with the link check off
  std::optional<std::string> symlink_target;  // a .symlink attack
  bool needs_sandbox = false;     // contained by the runtime layers even with the link check on
  std::optional<mode_t> umask;    // the grader's umask while it grades the attack
  bool sanitizer_builds = false;  // its tests also run in the builds they are tagged for
};

std::optional<std::string> header_value(const std::string& text, const std::string& key) {
  for (const auto& line : split_lines(text)) {
    const auto prefix = "// " + key + ":";
    if (line.rfind(prefix, 0) == 0) return trim(std::string_view(line).substr(prefix.size()));
    if (line.rfind("//", 0) != 0) break;  // the header ends at the first line of code
  }
  return std::nullopt;
}

std::vector<Attack> load_attacks(const fs::path& dir) {
  std::vector<Attack> attacks;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const auto& path = entry.path();
    Attack attack;
    attack.file = path;
    attack.name = path.stem().string();
    if (path.extension() == ".symlink") {
      attack.description = "the student file is a symbolic link to " + trim(read_file(path));
      attack.symlink_target = trim(read_file(path));
      attack.expect_link = 0;
    } else if (path.extension() == ".cpp") {
      const auto text = read_file(path);
      attack.description = header_value(text, "attack").value_or(attack.name);
      attack.base = header_value(text, "base").value_or("skeleton");
      if (auto v = header_value(text, "expect-link")) attack.expect_link = std::stod(*v);
      if (auto v = header_value(text, "expect-runtime")) attack.expect_runtime = std::stod(*v);
      attack.needs_sandbox = header_value(text, "needs").value_or("") == "sandbox";
      if (auto v = header_value(text, "umask"))
        attack.umask = static_cast<mode_t>(std::stoul(*v, nullptr, 8));
      attack.sanitizer_builds = header_value(text, "builds").value_or("") == "sanitizers";
    } else {
      continue;
    }
    attacks.push_back(std::move(attack));
  }
  std::sort(attacks.begin(), attacks.end(),
            [](const Attack& a, const Attack& b) { return a.name < b.name; });
  return attacks;
}

// The course's own files, by size and modification time (not build/ or .git/).
std::map<std::string, std::pair<std::uintmax_t, fs::file_time_type>> tree_state(
    const fs::path& root) {
  std::map<std::string, std::pair<std::uintmax_t, fs::file_time_type>> state;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const auto name = it->path().filename();
    if (it->is_directory(ec) && (name == "build" || name == ".git")) {
      it.disable_recursion_pending();
      continue;
    }
    state[it->path().string()] = {it->is_regular_file(ec) ? it->file_size(ec) : 0,
                                  it->last_write_time(ec)};
  }
  return state;
}

std::vector<std::string> tree_changes(const fs::path& root, const decltype(tree_state({}))& before,
                                      const decltype(tree_state({}))& after) {
  std::vector<std::string> changes;
  for (const auto& [path, info] : after) {
    const auto it = before.find(path);
    if (it == before.end()) {
      changes.push_back("new: " + display_path(path, root));
    } else if (it->second != info) {
      changes.push_back("changed: " + display_path(path, root));
    }
  }
  for (const auto& [path, info] : before) {
    if (!after.contains(path)) changes.push_back("removed: " + display_path(path, root));
  }
  return changes;
}

// Folders any user may write, found at start the way an attack finds them (three levels below /,
// not /proc or /sys): nothing named hostile-* may be left in them.
std::vector<fs::path> world_writable_places() {
  static const std::vector<fs::path> places = [] {
    std::vector<fs::path> found;
    std::vector<std::pair<fs::path, int>> pending = {{"/", 1}};
    while (!pending.empty()) {
      const auto [dir, depth] = pending.back();
      pending.pop_back();
      std::error_code ec;
      for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const auto name = entry.path().filename();
        if (depth == 1 && (name == "proc" || name == "sys")) continue;
        if (!entry.is_directory(ec) || entry.is_symlink(ec)) continue;
        struct stat st {};
        if (::stat(entry.path().c_str(), &st) == 0 && (st.st_mode & S_IWOTH) != 0)
          found.push_back(entry.path());
        if (depth < 3) pending.emplace_back(entry.path(), depth + 1);
      }
    }
    return found;
  }();
  return places;
}

// System V IPC objects (from /proc/sysvipc) and POSIX message queues (/dev/mqueue), by name.
std::set<std::string> ipc_objects() {
  std::set<std::string> objects;
  for (const char* kind : {"shm", "msg", "sem"}) {
    const auto lines = split_lines(try_read_file(fs::path("/proc/sysvipc") / kind).value_or(""));
    for (std::size_t i = 1; i < lines.size(); ++i) {  // the first line names the columns
      std::istringstream fields(lines[i]);
      std::string key;
      std::string id;
      fields >> key >> id;
      objects.insert(std::string(kind) + " key " + key + " id " + id);
    }
  }
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/dev/mqueue", ec))
    objects.insert("message queue " + entry.path().filename().string());
  return objects;
}

// Removes what an attack left, so that one failure does not spill into the next check.
void remove_ipc_objects(const std::set<std::string>& objects) {
  for (const auto& object : objects) {
    std::istringstream fields(object);
    std::string kind;
    std::string word;
    std::string key;
    std::string id;
    fields >> kind >> word >> key >> id;
    if (kind == "message") {
      std::error_code ec;
      fs::remove(fs::path("/dev/mqueue") / id, ec);
      continue;
    }
    const int number = std::atoi(id.c_str());
    if (kind == "shm") ::shmctl(number, IPC_RMID, nullptr);
    if (kind == "msg") ::msgctl(number, IPC_RMID, nullptr);
    if (kind == "sem") ::semctl(number, 0, IPC_RMID);
  }
}

// A TCP port listening on 127.0.0.1 while an attack runs, accepting nothing: a connection to it
// from a test shows that the test shares the machine's network.
class LoopbackListener {
 public:
  LoopbackListener() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 &&
        (::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
         ::listen(fd_, 16) != 0)) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~LoopbackListener() {
    if (fd_ >= 0) ::close(fd_);
  }
  LoopbackListener(const LoopbackListener&) = delete;
  LoopbackListener& operator=(const LoopbackListener&) = delete;

 private:
  int fd_;
};

// Files the attacks write outside the sandbox's reach: they must not exist afterwards.
std::vector<fs::path> leftover_files(const fs::path& root) {
  std::vector<fs::path> found;
  std::error_code ec;
  std::vector<fs::path> dirs = {"/tmp", "/var/tmp", "/dev/shm"};
  for (const auto& place : world_writable_places()) {
    if (std::find(dirs.begin(), dirs.end(), place) == dirs.end()) dirs.push_back(place);
  }
  for (const auto& dir : dirs) {
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().filename().string().rfind("hostile-", 0) == 0) found.push_back(entry.path());
    }
  }
  std::vector<fs::path> markers = {root / "hostile-marker", "/root/hostile-marker"};
  if (const auto home = get_env("HOME")) markers.emplace_back(fs::path(*home) / "hostile-marker");
  for (const auto& marker : markers) {
    if (fs::exists(fs::symlink_status(marker, ec))) found.push_back(marker);
  }
  return found;
}

// Processes still running the attack's binary, or any process of a sandbox user.
std::vector<std::string> leftover_processes(const fs::path& binary) {
  std::vector<std::string> found;
  const uid_t base = sandbox_uid_base();
  for (const auto& process : proc::processes()) {
    // The attacks' runs lease their users from kHostileUids alone: other tests may run beside.
    const bool sandbox_user =
        process.owner >= base + kHostileUids.first && process.owner < base + kHostileUids.last;
    // A zombie has ended; one whose parent is init may outlive everything on a machine whose
    // init does not reap, whoever left it.
    if (process.zombie() || !(sandbox_user || proc::executable(process.pid) == binary)) continue;
    found.push_back(std::to_string(process.pid) + " (uid " + std::to_string(process.owner) + ")");
  }
  return found;
}

void remove_leftovers(const std::vector<fs::path>& files) {
  std::error_code ec;
  for (const auto& file : files) fs::remove_all(file, ec);
}

// "refused: ..." or "FAIL: <reason of the first test>; slowest test 1.2 s", cut to one short line.
std::string summary_of(const ExerciseResult& result) {
  std::string text;
  if (result.build_error) {
    // "The course refuses ...:" then the reason; a listing failure or a compiler error as it is.
    const auto lines = split_lines(*result.build_error);
    const bool refused = result.build_error->rfind("The course refuses", 0) == 0;
    text = "not built: " + (refused && lines.size() > 1 ? "The course refuses: " + trim(lines[1])
                                                        : trim(lines.front()));
  } else if (!result.tests.empty()) {
    const auto& run = result.tests.front().runs.front();
    text = std::string(to_string(run.final_attempt().outcome)) + ": " +
           split_lines(run.final_attempt().reason + "\n").front();
    double slowest = 0;
    for (const auto& test : result.tests) {
      for (const auto& r : test.runs) slowest = std::max(slowest, r.final_attempt().seconds);
    }
    text += "; slowest test " + format_number(std::round(slowest * 100) / 100) + " s";
  }
  constexpr std::size_t kMax = 200;
  if (text.size() > kMax) text = text.substr(0, kMax - 3) + "...";
  return text;
}

// Writes the submission for one attack into dir/src.
void make_submission(const fs::path& root, const Attack& attack, const fs::path& dir) {
  const auto src = dir / "src";
  fs::create_directories(src);
  const auto base_dir = attack.base == "reference" ? root / "solutions" / "00-warmup" / "src"
                                                   : root / "exercises" / "00-warmup" / "src";
  fs::copy_file(base_dir / "parallel_sum.cpp", src / "parallel_sum.cpp");
  if (attack.symlink_target) {
    const fs::path target = *attack.symlink_target;
    fs::create_symlink(target.is_absolute() ? target : root / target, src / "counter.cpp");
    return;
  }
  const auto attack_text = read_file(attack.file);
  if (attack.base == "none") {
    write_file(src / "counter.cpp", attack_text);
  } else {
    write_file(src / "counter.cpp",
               read_file(base_dir / "counter.cpp") + "\n// ---- attack ----\n" + attack_text);
  }
}

// True when every build the attack needed was refused by the course's checks: no binary was
// listed or run, so none of the attack's code executed.
bool refused_every_build(const PreparedImpl& prepared) {
  if (prepared.built.empty()) return false;
  return std::ranges::all_of(prepared.built, [&](BuildConfig config) {
    const auto error = prepared.build_errors.find(config);
    return error != prepared.build_errors.end() && error->second.starts_with("The course refuses");
  });
}

HostileCheck run_attack(const GradeContext& base_context, const ExerciseManifest& warmup,
                        const Attack& attack, bool link_check, double expected) {
  const auto& root = base_context.root;
  HostileCheck check;
  check.what = attack.name + (link_check ? "" : " (link check off)") + ": " + attack.description;
  TempDir submission("course-hostile-");
  make_submission(root, attack, submission.path());
  TempDir traces("course-hostile-traces-");

  GradeContext context = base_context;
  context.link_check = link_check;
  context.policy.uids = kHostileUids;
  context.trace_root = traces.path();
  ImplRequest request;
  request.manifest = warmup;
  request.impl = Impl::of_submission(submission.path(), "hostile/" + attack.name);
  request.single_exercise = true;
  request.plan = RunPlan::normal_build(warmup);
  if (attack.sanitizer_builds) request.plan.add_tagged_sanitizer_runs(warmup);

  const auto before = tree_state(root);
  const auto ipc_before = ipc_objects();
  // A service of the machine on loopback, which no test may reach (reaches-other-tests-servers).
  const LoopbackListener listener;
  const auto start = Clock::now();
  std::vector<std::string> problems;
  double score = -1;
  std::string observed;  // what a student would read: the refusal or the first test's reason
  bool code_ran = true;  // false when the course refused every build before running anything
  fs::path binary;       // the submission's tests binary, as the build contract names it
  // The umask is the process's: only an attack that names one changes it (and runs alone).
  std::optional<mode_t> saved_umask;
  if (attack.umask) saved_umask = ::umask(*attack.umask);
  try {
    const auto prepared = prepare(context, {request});
    code_ran = !prepared.empty() && !refused_every_build(prepared.front());
    if (!prepared.empty() && prepared.front().targets.contains(BuildConfig::normal))
      binary = prepared.front().targets.at(BuildConfig::normal).tests_binary;
    const auto results = run_prepared(context, prepared);
    score = results.empty() ? -1 : results.front().score();
    if (!results.empty()) {
      observed = summary_of(results.front());
    }
  } catch (const std::exception& e) {
    problems.push_back(std::string("the grader stopped: ") + e.what());
  }
  if (saved_umask) ::umask(*saved_umask);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  // A daemon that escaped would act about a second after the test: give it the chance. Code the
  // course refused to build never ran (not even its static initialisers), so nothing can have
  // escaped.
  if (code_ran) std::this_thread::sleep_for(std::chrono::milliseconds(1500));

  // A refusal must come from the course's checks: an attack that does not compile tests nothing.
  if (observed.rfind("not built: ", 0) == 0 && !contains(observed, "The course refuses") &&
      observed.find("not built: The test program could not list") != 0) {
    problems.push_back("the attack does not compile (fix it): " + observed);
  }
  if (score != expected) {
    problems.push_back("scored " + format_number(score) + ", expected " + format_number(expected));
  }
  // Every test has a 15 s limit; the attack's tests run two at a time, so a contained attack
  // ends well within this.
  if (seconds > 150) problems.push_back("grading took " + format_number(seconds) + " s");
  if (const auto procs = leftover_processes(binary); !procs.empty())
    problems.push_back("processes left running: " + join(procs, ", "));
  if (const auto changes = tree_changes(root, before, tree_state(root)); !changes.empty())
    problems.push_back("the course tree changed: " + join(changes, ", "));
  std::set<std::string> ipc_left;
  for (const auto& object : ipc_objects()) {
    if (!ipc_before.contains(object)) ipc_left.insert(object);
  }
  if (!ipc_left.empty()) {
    problems.push_back("IPC objects left behind: " +
                       join(std::vector<std::string>(ipc_left.begin(), ipc_left.end()), ", "));
    remove_ipc_objects(ipc_left);
  }
  const auto files = leftover_files(root);
  if (!files.empty()) {
    std::vector<std::string> names;
    for (const auto& f : files) names.push_back(f.string());
    problems.push_back("files left behind: " + join(names, ", "));
    remove_leftovers(files);
  }
  std::uintmax_t trace_bytes = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(traces.path(), ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    trace_bytes += it->file_size(ec);
    // An attack writes "hostile-escaped: ..." into a trace file when it did what the sandbox
    // should have stopped (the grader keeps trace files, wherever the test ran).
    if (it->file_size(ec) > (1U << 20)) continue;
    for (const auto& line : split_lines(try_read_file(it->path()).value_or(""))) {
      if (contains(line, "hostile-escaped") &&
          std::find(problems.begin(), problems.end(), trim(line)) == problems.end())
        problems.push_back(trim(line));
    }
  }
  if (trace_bytes > (64ULL << 20))
    problems.push_back("the reports kept " + std::to_string(trace_bytes >> 20) + " MiB of traces");

  check.ok = problems.empty();
  check.details = join(problems, "\n");
  check.what += " (" + format_number(std::round(seconds * 10) / 10) + " s) -> " + observed;
  return check;
}

// Where the machine gives neither root nor user namespaces, a test would run as the grader's own
// user (able to signal it, write its files, and raise the next test's process limit): grading
// must refuse, not run. COURSE_SANDBOX=basic makes this machine look like that one.
HostileCheck check_unsandboxed_refusal(const fs::path& root) {
  HostileCheck check;
  check.what = "without separate users or user namespaces, grading refuses to run the tests";
  std::error_code ec;
  const auto self = fs::read_symlink("/proc/self/exe", ec);
  ProcessSpec spec;
  spec.argv = {self.string(), "--root", root.string(), "grade", "00", "--no-sanitizers"};
  spec.env = environment_with({{"COURSE_SANDBOX", "basic"}});
  spec.limits.wall_timeout_s = 120.0;
  spec.limits.output_cap_bytes = 1 << 20;
  const auto result = run_process(spec);
  const bool refused = result.ending == Ending::exited && result.exit_code == 2 &&
                       contains(result.output, "Grading refuses that mode");
  check.ok = refused;
  if (!refused) {
    check.details =
        "expected exit code 2 and the refusal; got " +
        (result.ending == Ending::exited ? "exit code " + std::to_string(result.exit_code)
                                         : result.error) +
        ":\n" + cap_lines(result.output, 20);
  }
  return check;
}

}  // namespace

std::vector<HostileCheck> run_hostile_corpus(const GradeContext& context,
                                             const ExerciseManifest& warmup, HostilePart part) {
  std::vector<HostileCheck> checks;
  const auto dir = context.root / "grader" / "tests" / "hostile";
  if (!fs::is_directory(dir) || !fs::is_directory(context.root / "solutions" / "00-warmup"))
    return checks;
  // With the link check off, the attacks test the layers that need root (a cgroup, a user of
  // the run's own, a bounded /tmp); elsewhere they would only show that those layers are off.
  const auto& support = sandbox_support();
  const bool root_layers = support.root && support.cgroups != CgroupKind::none &&
                           support.separate_users && support.mount_namespaces;
  // Some attacks call nothing the link check refuses (writing files with ofstream): a read-only
  // course tree contains them, which takes root or user namespaces.
  const bool any_sandbox = root_layers || support.user_namespaces;
  if (part == HostilePart::beside_other_work)
    checks.push_back(check_unsandboxed_refusal(context.root));
  for (const auto& attack : load_attacks(dir)) {
    if (interrupted()) break;
    if (attack.needs_sandbox && !any_sandbox) continue;
    // An attack graded under a umask of its own changes the grader's, which every thread shares.
    const bool process_wide = attack.umask.has_value();
    if (process_wide != (part == HostilePart::alone)) continue;
    if (attack.expect_link)
      checks.push_back(run_attack(context, warmup, attack, true, *attack.expect_link));
    if (attack.expect_runtime && root_layers)
      checks.push_back(run_attack(context, warmup, attack, false, *attack.expect_runtime));
  }
  return checks;
}

}  // namespace grader
