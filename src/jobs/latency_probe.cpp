#include "jobs/latency_probe.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "common/status_macros.hpp"
#include "db/connection.hpp"
#include "ledger/credentials_table.hpp"

namespace credvault::jobs {
namespace {

// What an application asks for: one account's credentials by account_id.
std::string ApplicationReadSql() {
  return "SELECT " + ledger::ColumnList() + " FROM " + ledger::kCredentialsTable + " WHERE account_id = $1::integer";
}

// How long the probe sleeps at most before looking at stop_ again.
constexpr auto kWakeEvery = std::chrono::milliseconds(100);

}  // namespace

StatusOr<std::unique_ptr<LatencyProbe>> LatencyProbe::Start(const std::string& conninfo,
                                                            const std::string& application_name,
                                                            double calls_per_second) {
  CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn, db::Connection::Open(conninfo, application_name));
  CV_ASSIGN_OR_RETURN(db::Rows range, conn->Query(std::string("SELECT coalesce(min(account_id), 0)::text, "
                                                              "coalesce(max(account_id), 0)::text FROM ") +
                                                  ledger::kCredentialsTable));
  std::unique_ptr<LatencyProbe> probe(
      new LatencyProbe(std::move(conn), std::stol(range.text(0, 0)), std::stol(range.text(0, 1)), calls_per_second));
  probe->thread_ = std::thread([p = probe.get()] { p->Run(); });
  return probe;
}

LatencyProbe::LatencyProbe(std::unique_ptr<db::Connection> conn, long first_account, long last_account,
                           double calls_per_second)
    : conn_(std::move(conn)),
      first_account_(first_account),
      last_account_(std::max(first_account, last_account)),
      calls_per_second_(calls_per_second) {}

LatencyProbe::~LatencyProbe() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void LatencyProbe::Run() {
  const std::string sql = ApplicationReadSql();
  std::mt19937_64 random(std::random_device{}());
  std::exponential_distribution<double> gap(calls_per_second_);
  std::uniform_int_distribution<long> account(first_account_, last_account_);
  auto scheduled = Clock::now();
  while (!stop_) {
    scheduled += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(gap(random)));
    // Sleep in steps, so that a stop request is heard within kWakeEvery.
    for (auto now = Clock::now(); now < scheduled && !stop_; now = Clock::now()) {
      std::this_thread::sleep_for(std::min<Clock::duration>(scheduled - now, kWakeEvery));
    }
    if (stop_) break;
    auto answer = conn_->Query(sql, {std::to_string(account(random))});
    const auto done = Clock::now();
    std::lock_guard<std::mutex> lock(mutex_);
    if (!answer.ok()) {
      error_ = answer.status().message();
      return;
    }
    samples_.push_back({done, std::chrono::duration<double>(done - scheduled).count()});
    if (samples_.size() > kKeptSamples) samples_.pop_front();
  }
}

std::vector<double> LatencyProbe::SecondsSince(Clock::time_point since) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<double> out;
  for (auto it = samples_.rbegin(); it != samples_.rend() && it->done > since; ++it) out.push_back(it->seconds);
  std::reverse(out.begin(), out.end());
  return out;
}

std::string LatencyProbe::error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return error_;
}

double Quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(values.size())));
  const std::size_t index = rank == 0 ? 0 : rank - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(index), values.end());
  return values[index];
}

}  // namespace credvault::jobs
