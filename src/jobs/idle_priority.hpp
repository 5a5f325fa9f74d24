// The CPU priority of a paced row job's work (a rate or latency target).
//
// A job told to spare the applications runs its own CPU work — reading,
// decrypting, encrypting, sending — on threads of the lowest priority the OS
// has (SCHED_IDLE on Linux): when the job shares a machine with the database
// or the application, their threads take a core from it at once instead of
// queueing behind a batch's crypto for a scheduler slice. On a machine with
// spare cores the job runs as fast as before. The job's latency probe keeps
// the normal priority (it must measure what the application feels).
#pragma once

#include <functional>

#include "credvault/status.hpp"

namespace credvault::jobs {

// Lowers the calling thread, and every thread it starts from now on, to the
// idle priority. An unprivileged thread cannot raise itself again, so call
// it only on a thread the job owns. False when the OS refuses (the thread
// keeps its priority; the job is only less gentle).
bool LowerThisThreadToIdlePriority();

// Runs `work` on a new thread at the idle priority and returns its result;
// the calling thread's priority is untouched.
Status RunAtIdlePriority(const std::function<Status()>& work);

}  // namespace credvault::jobs
