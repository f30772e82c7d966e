// attack: a static initialiser writes GoogleTest JSON files saying every test passed, then _exit(0)
// base: skeleton
// expect-link: 0
// expect-runtime: 0
#include <unistd.h>

#include <fstream>

namespace {
const bool forged = [] {
  const char* json =
      R"({"tests":1,"failures":0,"testsuites":[{"name":"MutexCounter","testsuite":[)"
      R"({"name":"CountsExactlyWithOneThread","status":"RUN","result":"COMPLETED"}]}]})";
  for (const char* path : {"result.json", "test_detail.json", "/tmp/result.json"}) {
    std::ofstream(path) << json;
  }
  ::_exit(0);
  return true;
}();
}  // namespace
