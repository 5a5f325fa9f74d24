#include "jobs/idle_priority.hpp"

#include <sched.h>

#include <thread>

namespace credvault::jobs {

bool LowerThisThreadToIdlePriority() {
#ifdef SCHED_IDLE
  sched_param param{};
  param.sched_priority = 0;
  // pid 0: on Linux, the calling thread alone.
  return sched_setscheduler(0, SCHED_IDLE, &param) == 0;
#else
  return false;
#endif
}

Status RunAtIdlePriority(const std::function<Status()>& work) {
  Status result = Status::Ok();
  std::thread thread([&] {
    (void)LowerThisThreadToIdlePriority();
    result = work();
  });
  thread.join();
  return result;
}

}  // namespace credvault::jobs
