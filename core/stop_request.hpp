#pragma once
// Ctrl-C, SIGTERM and SIGHUP as requests, escalating:
//  1st: stop after the current step (checkpoint, stop record "aborted", safe state);
//  2nd: stop now: the work in progress is abandoned at its next check, the device goes to its
//       safe state at once (an emergency stop takes over if the run does not answer in time);
//  3rd: exit immediately, without safe state, for when even that hangs.

#include <functional>

namespace aeqlab {

void install_stop_handlers();
bool stop_requested();
bool urgent_stop_requested();
int stop_signal();  // the signal that asked, or 0
void clear_stop_request();
// Throws Interrupted after a second request; called between phases and in long loops.
void throw_if_urgent_stop();
// Processes that share one run (the ranks of a data-parallel run, docs/mpi.md) must stop after
// the same step: from now on stop_requested() asks `agree` (true when any process's own flag is
// true; every process makes the same calls), and once it says yes it stays yes.
void share_stop_requests(std::function<bool(bool mine)> agree);
// A descriptor that becomes readable on the second request (for the emergency stop's thread).
int urgent_stop_fd();

}  // namespace aeqlab
