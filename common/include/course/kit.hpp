// The whole course test kit.
#pragma once

#include "course/fake_clock.hpp"
#include "course/http_test_server.hpp"
#include "course/net.hpp"
#include "course/probes.hpp"
#include "course/temp_dir.hpp"
#include "course/testing.hpp"
#include "course/time_scale.hpp"
#include "course/trace.hpp"
