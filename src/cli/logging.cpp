#include "cli/logging.hpp"

#include <cstdio>
#include <mutex>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace credvault::cli {
namespace {

// One JSON object per line: {"ts": ..., "level": ..., "msg": ...}.
class JsonStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    auto seconds = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
    nlohmann::json line = {
        {"ts", static_cast<double>(seconds) / 1000.0},
        {"level", std::string(spdlog::level::to_string_view(msg.level).data(),
                              spdlog::level::to_string_view(msg.level).size())},
        {"msg", std::string(msg.payload.data(), msg.payload.size())},
    };
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::fwrite(text.data(), 1, text.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

}  // namespace

std::shared_ptr<spdlog::logger> MakeLogger(const std::string& format, int verbose, bool quiet) {
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (format == "json") {
    sink = std::make_shared<JsonStderrSink>();
  } else {
    auto text = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    text->set_pattern("credvault: %^%l%$: %v");
    sink = text;
  }
  auto logger = std::make_shared<spdlog::logger>("credvault", sink);
  spdlog::level::level_enum level = spdlog::level::info;
  if (quiet) level = spdlog::level::warn;
  if (verbose == 1) level = spdlog::level::debug;
  if (verbose >= 2) level = spdlog::level::trace;
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  return logger;
}

}  // namespace credvault::cli
