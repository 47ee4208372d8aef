#pragma once
// Ctrl-C and SIGTERM as a request: the first asks the run to stop after the current step (the
// device is then brought to its safe state and the session closed as "aborted"); a second one
// ends the program at once.

namespace aeqlab {

void install_stop_handlers();
bool stop_requested();
int stop_signal();  // the signal that asked, or 0
void clear_stop_request();

}  // namespace aeqlab
